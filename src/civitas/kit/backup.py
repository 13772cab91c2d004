"""One-file backups that are checked after writing, and restores that check before and after.

An archive is a plain tar file (its large members are compressed already)::

    manifest.json          what is inside and how to check it (below)
    manifest.sha256        the SHA-256 of manifest.json
    db/database.sqlite3    SQLite: a consistent copy made with the online backup API
    db/database.pgdump     PostgreSQL: ``pg_dump -Fc``
    media/...              MEDIA_ROOT (photos, evidence, consultation documents)
    models/...             CIVITAS_MODEL_DIR (the learned models' files)

The manifest holds the version, the engine, the migrations applied, the row count of every
table, the SHA-256 and size of every member, the audit chain's head (seq and hash) and the
time it was made. :func:`backup` writes ``NAME.partial``, reads it back (every checksum; the
SQLite copy passes ``PRAGMA integrity_check`` and has the manifest's row counts; the
PostgreSQL dump is listed by ``pg_restore --list``) and only then renames it to ``NAME``.
:func:`restore` checks every checksum before it touches anything, refuses a database that has
tables (and files that would be overwritten) unless forced, restores, then compares row
counts and migrations with the manifest and verifies the audit chain.

Encryption is left to the storage the archives go to (keys kept apart from the backups).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from civitas.kit import clock

FORMAT = 1
MANIFEST, MANIFEST_SUM = "manifest.json", "manifest.sha256"
SQLITE_MEMBER, PG_MEMBER = "db/database.sqlite3", "db/database.pgdump"
CHUNK = 1024 * 1024
Say = Callable[[str], None]


class BackupError(Exception):
    """What went wrong, where, and what to do; the command prints it and exits non-zero."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    path: Path
    manifest: dict[str, Any]
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


# -- helpers ------------------------------------------------------------------------------------


def _quiet(_: str) -> None:
    return None


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _sha256_stream(stream: IO[bytes]) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def _files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: CIVITAS_PG_BIN, the server's major version folder, then PATH."""
    candidates = []
    if os.environ.get("CIVITAS_PG_BIN"):
        candidates.append(Path(os.environ["CIVITAS_PG_BIN"]) / name)
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(
        f"{name} was not found: install the PostgreSQL client tools of the server's version "
        "or set CIVITAS_PG_BIN to their folder"
    )


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    env["PGDATABASE"] = str(db["NAME"])
    return env


def _run(cmd: list[str], env: dict[str, str], what: str) -> str:
    # Our own argument list (the tool's path, flags, our file names), no shell.
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        raise BackupError(
            f"{what} failed ({Path(cmd[0]).name} exit {proc.returncode}): "
            f"{proc.stderr.strip()[:2000]}"
        )
    return proc.stdout


def _engine(conn: BaseDatabaseWrapper) -> str:
    vendor = conn.vendor
    if vendor not in {"sqlite", "postgresql"}:
        raise BackupError(f"backups know SQLite and PostgreSQL, not {vendor}")
    return vendor


def _tables(conn: BaseDatabaseWrapper) -> list[str]:
    with conn.cursor() as cur:
        return sorted(conn.introspection.table_names(cur))


def _quote(table: str) -> str:
    return '"' + table.replace('"', '""') + '"'  # SQLite and PostgreSQL alike


def _state(cur: Any, tables: list[str]) -> tuple[dict[str, int], list[str], dict[str, Any]]:
    """Row counts, applied migrations and the audit head, read through one DB-API cursor (a
    Django one, a raw PostgreSQL one inside the dump's snapshot, or the SQLite copy's)."""
    counts = {}
    for table in tables:  # names from the database's own catalogue
        cur.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608
        counts[table] = int(cur.fetchone()[0])
    applied: list[str] = []
    if "django_migrations" in tables:
        cur.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        applied = [f"{app}.{name}" for app, name in cur.fetchall()]
    head: dict[str, Any] = {"seq": 0, "hash": ""}
    if "kit_audithead" in tables:
        cur.execute("SELECT last_seq, last_hash FROM kit_audithead WHERE id = 1")
        row = cur.fetchone()
        if row:
            head = {"seq": int(row[0]), "hash": row[1]}
    return counts, applied, head


def state(conn: BaseDatabaseWrapper) -> tuple[dict[str, int], list[str], dict[str, Any]]:
    tables = _tables(conn)
    with conn.cursor() as cur:
        return _state(cur, tables)


def row_counts(conn: BaseDatabaseWrapper) -> dict[str, int]:
    return state(conn)[0]


def migrations(conn: BaseDatabaseWrapper) -> list[str]:
    return state(conn)[1]


def audit_head(conn: BaseDatabaseWrapper) -> dict[str, Any]:
    return state(conn)[2]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("civitas")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


# -- backup -------------------------------------------------------------------------------------


def _sqlite_state(path: Path) -> tuple[dict[str, int], list[str], dict[str, Any]]:
    """The state of a SQLite file, read from the file itself (the copy, not the live one)."""
    db = sqlite3.connect(path)
    try:
        cur = db.cursor()
        cur.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return _state(cur, sorted(r[0] for r in cur.fetchall()))
    finally:
        db.close()


def _dump_database(
    conn: BaseDatabaseWrapper, into: Path, say: Say
) -> tuple[str, Path, tuple[dict[str, int], list[str], dict[str, Any]]]:
    """The database copy and the state (counts, migrations, audit head) *of that copy*, so
    writes made while the backup runs cannot make the manifest disagree with the data."""
    engine = _engine(conn)
    if engine == "sqlite":
        target = into / "database.sqlite3"
        say("database: SQLite online backup")
        conn.ensure_connection()
        dst = sqlite3.connect(target)
        try:
            conn.connection.backup(dst)  # a consistent copy, even while others write
        finally:
            dst.close()
        return SQLITE_MEMBER, target, _sqlite_state(target)
    target = into / "database.pgdump"
    tables = _tables(conn)
    # One snapshot for the counts and the dump: a transaction of our own exports it, reads the
    # counts in it, and stays open while pg_dump reads the same snapshot (--snapshot).
    raw = conn.get_new_connection(conn.get_connection_params())
    try:
        with raw.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = str(cur.fetchone()[0])
            say("reading row counts, migrations and the audit head")
            found = _state(cur, tables)
            say("database: pg_dump -Fc")
            _run(
                [
                    pg_tool("pg_dump"),
                    "-Fc",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    "-f",
                    str(target),
                ],
                _pg_env(conn.settings_dict),
                "pg_dump",
            )
        raw.rollback()
    finally:
        raw.close()
    return PG_MEMBER, target, found


def _hash_sources(sources: list[tuple[str, Path]], say: Say) -> dict[str, dict[str, Any]]:
    """Checksums of the members; a media file deleted since it was listed (retention removes
    evidence files) is left out rather than failing the whole backup."""
    members = {}
    for name, p in sources:
        try:
            members[name] = {"sha256": _sha256_file(p), "size": p.stat().st_size}
        except FileNotFoundError:
            say(f"{name} was deleted while the backup ran; left out")
    return members


def backup(
    path: Path,
    *,
    alias: str = "default",
    media_dir: Path | None = None,
    model_dir: Path | None = None,
    say: Say = _quiet,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Write the archive at ``path``, read it back, and rename it into place when it checks."""
    conn = connections[alias]
    media_dir = Path(media_dir or settings.MEDIA_ROOT)
    model_dir = Path(model_dir or settings.CIVITAS_MODEL_DIR)
    path = Path(path)
    if path.exists():
        raise BackupError(
            f"{path} exists already: choose another name (backups are not overwritten)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="civitas-backup-", dir=path.parent) as tmp:
        member, db_file, (counts, applied, head) = _dump_database(conn, Path(tmp), say)
        sources: list[tuple[str, Path]] = [(member, db_file)]
        sources += [(f"media/{p.relative_to(media_dir).as_posix()}", p) for p in _files(media_dir)]
        sources += [(f"models/{p.relative_to(model_dir).as_posix()}", p) for p in _files(model_dir)]
        say(f"checksums of {len(sources)} members")
        members = _hash_sources(sources, say)
        manifest = {
            "format": FORMAT,
            "civitas_version": _version(),
            "engine": conn.vendor,
            "created_at": clock.now().isoformat(),
            "migrations": applied,
            "row_counts": counts,
            "audit_head": head,
            "members": members,
        }
        raw = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False).encode()
        try:
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, MANIFEST, raw)
                _add_bytes(tar, MANIFEST_SUM, (hashlib.sha256(raw).hexdigest() + "\n").encode())
                for name, p in sources:
                    if name in members:
                        tar.add(p, arcname=name, recursive=False)
                    if progress:
                        progress(1)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise BackupError(
                f"writing {partial} failed ({exc}); nothing was put in place. If a file was "
                "deleted or changed while the backup ran, run it again; otherwise check the "
                "free space and the folder's permissions"
            ) from None
    say("verifying what was written")
    report = verify(partial, deep=True)
    if not report.ok:
        bad = "; ".join(f"{c.name}: {c.detail}" for c in report.checks if not c.ok)
        raise BackupError(
            f"the archive written at {partial} does not check ({bad}); it was NOT put in place. "
            "A file that changed while the backup ran shows as a checksum mismatch: run the "
            "backup again; if it fails again, look at the disk"
        )
    os.replace(partial, path)
    report.path = path
    return report


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(clock.now().timestamp()), 0o644
    tar.addfile(info, io.BytesIO(data))


# -- reading and checking an archive ------------------------------------------------------------


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        raw = _read_member(tar, MANIFEST)
        want = _read_member(tar, MANIFEST_SUM).decode().strip()
    except KeyError as exc:
        raise BackupError(f"this is not a Civitas backup: {exc.args[0]} is missing") from None
    if hashlib.sha256(raw).hexdigest() != want:
        raise BackupError("the manifest does not match its checksum: the archive is damaged")
    manifest: dict[str, Any] = json.loads(raw)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"archive format {manifest.get('format')} is not {FORMAT}")
    return manifest


def _read_member(tar: tarfile.TarFile, name: str) -> bytes:
    f = tar.extractfile(name)
    if f is None:
        raise KeyError(name)
    return f.read()


def verify(path: Path, *, deep: bool = False) -> Report:
    """Every member against the manifest; ``deep`` also opens the database copy."""
    path = Path(path)
    try:
        tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{path} cannot be read as a backup archive: {exc}") from None
    with tar:
        manifest = read_manifest(tar)
        report = Report(path=path, manifest=manifest)
        expected: dict[str, dict[str, Any]] = manifest["members"]
        seen: set[str] = set()
        bad: list[str] = []
        try:
            for info in tar:
                if info.name in (MANIFEST, MANIFEST_SUM):
                    continue
                if info.name not in expected or not info.isfile():
                    bad.append(f"{info.name} is not in the manifest")
                    continue
                stream = tar.extractfile(info)
                assert stream is not None
                digest, size = _sha256_stream(stream)
                seen.add(info.name)
                want = expected[info.name]
                if digest != want["sha256"] or size != want["size"]:
                    bad.append(f"{info.name} does not match its checksum")
        except (OSError, tarfile.TarError) as exc:
            bad.append(f"the archive is truncated or damaged: {exc}")
        missing = sorted(set(expected) - seen)
        bad += [f"{name} is missing" for name in missing]
        report.checks.append(
            Check(
                "checksums",
                not bad,
                "; ".join(bad[:5]) if bad else f"{len(seen)} members match the manifest",
            )
        )
        if deep and not bad:
            report.checks.append(_check_database(tar, manifest))
    return report


def _check_database(tar: tarfile.TarFile, manifest: dict[str, Any]) -> Check:
    with tempfile.TemporaryDirectory(prefix="civitas-verify-") as tmp:
        if manifest["engine"] == "sqlite":
            target = Path(tmp) / "copy.sqlite3"
            _extract_to(tar, SQLITE_MEMBER, target)
            db = sqlite3.connect(target)
            try:
                result = db.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                db.close()
            counts = _sqlite_state(target)[0]
            if result != "ok":
                return Check("database", False, f"integrity_check: {result}")
            if counts != manifest["row_counts"]:
                return Check("database", False, "the copy's row counts differ from the manifest")
            return Check("database", True, f"integrity_check ok, {len(counts)} tables counted")
        target = Path(tmp) / "copy.pgdump"
        _extract_to(tar, PG_MEMBER, target)
        try:
            listing = _run(
                [pg_tool("pg_restore"), "--list", str(target)],
                dict(os.environ),
                "pg_restore --list",
            )
        except BackupError as exc:
            return Check("database", False, str(exc))
        tables = sum(1 for line in listing.splitlines() if " TABLE DATA " in line)
        return Check("database", True, f"pg_restore --list ok, {tables} tables' data")


def _extract_to(tar: tarfile.TarFile, name: str, target: Path) -> None:
    src = tar.extractfile(name)
    if src is None:
        raise BackupError(f"{name} is missing from the archive")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        shutil.copyfileobj(src, out, CHUNK)


# -- restore ------------------------------------------------------------------------------------


def restore(
    path: Path,
    *,
    alias: str = "default",
    media_dir: Path | None = None,
    model_dir: Path | None = None,
    force: bool = False,
    say: Say = _quiet,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Check the archive, restore the database and the files, then check the result."""
    path = Path(path)
    say(f"checking {path} before restoring anything")
    checked = verify(path)
    if not checked.ok:
        raise BackupError(
            f"{path} is damaged ({checked.checks[0].detail}); nothing was restored. "
            "Take another copy of the archive or an older backup"
        )
    manifest = checked.manifest
    conn = connections[alias]
    engine = _engine(conn)
    if engine != manifest["engine"]:
        raise BackupError(
            f"the archive holds a {manifest['engine']} database and the target is {engine}; "
            "restore into the same kind of database"
        )
    media_dir = Path(media_dir or settings.MEDIA_ROOT)
    model_dir = Path(model_dir or settings.CIVITAS_MODEL_DIR)
    tables = _tables(conn)
    if tables and not force:
        raise BackupError(
            f"the target database {conn.settings_dict['NAME']} is not empty ({len(tables)} "
            "tables); restore into a new database, or add --force to replace everything in it"
        )
    file_targets = _file_targets(manifest, media_dir, model_dir)
    clashes = [p for p in file_targets.values() if p.exists()]
    if clashes and not force:
        raise BackupError(
            f"{len(clashes)} files would be overwritten (e.g. {clashes[0]}); empty the media and "
            "model folders or add --force"
        )
    with (
        tarfile.open(path, "r:") as tar,
        tempfile.TemporaryDirectory(prefix="civitas-restore-") as tmp,
    ):
        say("restoring the database")
        if engine == "sqlite":
            copy = Path(tmp) / "copy.sqlite3"
            _extract_to(tar, SQLITE_MEMBER, copy)
            src = sqlite3.connect(copy)
            try:
                conn.ensure_connection()
                src.backup(conn.connection)
            finally:
                src.close()
        else:
            dump = Path(tmp) / "copy.pgdump"
            _extract_to(tar, PG_MEMBER, dump)
            _pg_restore(conn, dump, tables, Path(tmp))
        say(f"restoring {len(file_targets)} files")
        try:
            for name, target in file_targets.items():
                _extract_to(tar, name, target)
                if progress:
                    progress(1)
        except OSError as exc:
            raise BackupError(
                f"the database was restored, but writing the files failed ({exc}). Free space "
                "or fix the folder's permissions, then run the same restore again with --force"
            ) from None
    report = Report(path=path, manifest=manifest)
    report.checks = after_restore(conn, manifest, file_targets)
    return report


def _file_targets(manifest: dict[str, Any], media_dir: Path, model_dir: Path) -> dict[str, Path]:
    out = {}
    for name in manifest["members"]:
        top, _, rest = name.partition("/")
        root = {"media": media_dir, "models": model_dir}.get(top)
        if root is None:
            continue
        target = (root / rest).resolve()
        if not str(target).startswith(str(root.resolve()) + os.sep):
            raise BackupError(f"{name} points outside its folder; the archive is not trusted")
        out[name] = target
    return out


def _pg_restore(conn: BaseDatabaseWrapper, dump: Path, tables: list[str], tmp: Path) -> None:
    """Drop what is there and load the dump in ONE transaction (psql --single-transaction):
    a restore that fails half way leaves the database exactly as it was, not emptied."""
    script = tmp / "restore.sql"
    _run(
        [pg_tool("pg_restore"), "--no-owner", "-f", str(script), str(dump)],
        dict(os.environ),
        "pg_restore (reading the dump)",
    )
    drops = tmp / "drop.sql"
    drops.write_text(
        "".join(f"DROP TABLE IF EXISTS {_quote(t)} CASCADE;\n" for t in tables), encoding="utf-8"
    )
    _run(
        [
            pg_tool("psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-d",
            str(conn.settings_dict["NAME"]),
            "-f",
            str(drops),
            "-f",
            str(script),
        ],
        _pg_env(conn.settings_dict),
        "restoring the database (nothing was changed: it ran in one transaction)",
    )


def after_restore(
    conn: BaseDatabaseWrapper, manifest: dict[str, Any], files: dict[str, Path]
) -> list[Check]:
    from civitas.kit import audit

    checks = []
    counts = row_counts(conn)
    differ = sorted(
        t
        for t in set(counts) | set(manifest["row_counts"])
        if counts.get(t) != manifest["row_counts"].get(t)
    )
    checks.append(
        Check(
            "row counts",
            not differ,
            f"differ in {', '.join(differ[:5])}" if differ else f"{len(counts)} tables as recorded",
        )
    )
    applied = migrations(conn)
    checks.append(
        Check(
            "migrations",
            applied == manifest["migrations"],
            f"{len(applied)} applied, as recorded"
            if applied == manifest["migrations"]
            else f"{len(applied)} applied, the archive recorded {len(manifest['migrations'])}",
        )
    )
    bad_files = [
        name
        for name, p in files.items()
        if not p.is_file() or _sha256_file(p) != manifest["members"][name]["sha256"]
    ]
    checks.append(
        Check(
            "files",
            not bad_files,
            f"{len(files)} files in place" if not bad_files else f"differ: {bad_files[:5]}",
        )
    )
    result = audit.verify(using=conn.alias)
    head = audit_head(conn)
    same_head = head == manifest["audit_head"]
    checks.append(
        Check(
            "audit chain",
            result.ok and same_head,
            f"{result.checked} entries verified, head #{head['seq']}"
            if result.ok and same_head
            else (
                result.problem
                or f"head #{head['seq']} is not the recorded #{manifest['audit_head']['seq']}"
            ),
        )
    )
    return checks
