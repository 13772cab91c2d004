"""civitas backup / restore: a verified round trip, damaged archives refused, no overwrite."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from civitas.kit import audit, backup
from civitas.kit.management.commands.restore import TARGET, target_alias
from civitas.kit.models import AuditEntry
from civitas.org.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def folders(settings: Any, tmp_path: Path) -> dict[str, Path]:
    media, models = tmp_path / "media", tmp_path / "models"
    (media / "appeals" / "2026" / "11").mkdir(parents=True)
    (media / "appeals" / "2026" / "11" / "photo.png").write_bytes(b"\x89PNG fake photo" * 100)
    (models / "classifier").mkdir(parents=True)
    (models / "classifier" / "model.joblib").write_bytes(bytes(range(256)) * 40)
    settings.MEDIA_ROOT, settings.CIVITAS_MODEL_DIR = media, models
    return {"media": media, "models": models, "tmp": tmp_path}


@pytest.fixture
def world() -> None:
    """Some rows and a few links of the audit chain, committed."""
    User.objects.create(username="restored-person")
    for n in range(3):
        with transaction.atomic():
            audit.record(actor="test", action="t.act", object_type="t", object_id=n)


@pytest.fixture
def target() -> Iterator[Any]:
    """A second, empty database to restore into (a temporary SQLite file, or a fresh
    PostgreSQL database created and dropped here)."""
    made: list[str] = []

    def make(tmp: Path) -> str:
        if connection.vendor == "sqlite":
            url = f"sqlite:///{tmp / 'restored.sqlite3'}"
        else:
            s = connection.settings_dict
            name = f"{s['NAME']}_restore"
            with connection.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
                cur.execute(f'CREATE DATABASE "{name}"')
            made.append(name)
            auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
            url = f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"
        alias = target_alias(url)
        connections[alias].connect()  # opened here: the test case allows it once it is open
        return alias

    yield make
    if TARGET in connections.settings:
        connections[TARGET].close()
        del connections[TARGET]
        del connections.settings[TARGET]
    for name in made:
        with connection.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_round_trip_into_a_fresh_database(
    folders: dict[str, Path], world: None, target: Any
) -> None:
    archive = folders["tmp"] / "b.tar"
    written = backup.backup(archive)
    assert written.ok and archive.is_file()
    assert not archive.with_name("b.tar.partial").exists()
    m = written.manifest
    assert m["engine"] == connection.vendor
    assert m["row_counts"]["kit_auditentry"] == 3 and m["audit_head"]["seq"] == 3
    assert m["row_counts"]["org_user"] == User.objects.count()
    assert "appeals.0001_initial" in m["migrations"]
    assert set(m["members"]) >= {
        "media/appeals/2026/11/photo.png",
        "models/classifier/model.joblib",
        backup.SQLITE_MEMBER if connection.vendor == "sqlite" else backup.PG_MEMBER,
    }
    assert [c.name for c in written.checks] == ["checksums", "database"]

    # Files restored into new folders; the database into a second one.
    alias = target(folders["tmp"])
    media2, models2 = folders["tmp"] / "media2", folders["tmp"] / "models2"
    report = backup.restore(archive, alias=alias, media_dir=media2, model_dir=models2)
    assert {c.name: c.ok for c in report.checks} == {
        "row counts": True,
        "migrations": True,
        "files": True,
        "audit chain": True,
    }, report.checks
    assert User.objects.using(alias).filter(username="restored-person").exists()
    assert AuditEntry.objects.using(alias).count() == 3
    assert audit.verify(using=alias).ok
    assert (media2 / "appeals/2026/11/photo.png").read_bytes() == (
        folders["media"] / "appeals/2026/11/photo.png"
    ).read_bytes()
    assert (models2 / "classifier/model.joblib").stat().st_size == 256 * 40

    # Into a database that has tables: refused without --force, replaced with it.
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(archive, alias=alias, media_dir=media2, model_dir=models2)
    User.objects.using(alias).create(username="added-after")
    again = backup.restore(archive, alias=alias, media_dir=media2, model_dir=models2, force=True)
    assert again.ok
    assert not User.objects.using(alias).filter(username="added-after").exists()


def _flip(archive: Path, member: str) -> Path:
    """A copy of ``archive`` with one byte changed in the middle of ``member``'s data."""
    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
        offset = info.offset_data + info.size // 2
    data = bytearray(archive.read_bytes())
    data[offset] ^= 0x01
    bad = archive.with_name("damaged.tar")
    bad.write_bytes(bytes(data))
    return bad


@pytest.mark.parametrize("member", ["db", "media/appeals/2026/11/photo.png", "manifest.json"])
def test_a_damaged_archive_is_refused_before_anything_is_restored(
    folders: dict[str, Path], world: None, target: Any, member: str
) -> None:
    archive = folders["tmp"] / "b.tar"
    backup.backup(archive)
    if member == "db":
        member = backup.SQLITE_MEMBER if connection.vendor == "sqlite" else backup.PG_MEMBER
    bad = _flip(archive, member)
    if member != "manifest.json":  # a damaged manifest raises at once (below)
        assert not backup.verify(bad).ok
    alias = target(folders["tmp"])
    media2 = folders["tmp"] / "media2"
    with pytest.raises(backup.BackupError, match="damaged"):
        backup.restore(bad, alias=alias, media_dir=media2, model_dir=folders["tmp"] / "m2")
    assert not media2.exists()
    with connections[alias].cursor() as cur:
        assert connections[alias].introspection.table_names(cur) == []
    # The command says so and exits non-zero.
    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(bad), "--quiet", "--media-dir", str(media2))


def test_backup_refuses_to_overwrite_and_the_command_summarises(folders: dict[str, Path]) -> None:
    archive = folders["tmp"] / "c.tar"
    out = io.StringIO()
    call_command("backup", str(archive), "--quiet", stdout=out)
    assert "ok   checksums" in out.getvalue() and "ok   database" in out.getvalue()
    assert f"backup {archive}" in out.getvalue()
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", str(archive), "--quiet")
    out = io.StringIO()
    call_command("backup", str(archive), "--verify", stdout=out)
    assert "ok   checksums" in out.getvalue()
    # The manifest lists every member with its checksum; nothing is in the archive without one.
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        names = {n for n in tar.getnames() if not n.startswith("manifest.")}
    assert names == set(manifest["members"])


def test_restore_into_the_running_database_needs_force(
    folders: dict[str, Path], world: None
) -> None:
    archive = folders["tmp"] / "d.tar"
    backup.backup(archive)
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(archive), "--quiet")
    if connection.vendor != "sqlite":
        return  # replacing the test database itself is shown on SQLite only
    with transaction.atomic():
        audit.record(actor="test", action="t.late", object_type="t", object_id="late")
    assert AuditEntry.objects.count() == 4
    out = io.StringIO()
    call_command("restore", str(archive), "--quiet", "--force", stdout=out)
    assert "all checks passed" in out.getvalue()
    assert AuditEntry.objects.count() == 3 and audit.verify().ok


def test_writes_during_a_postgresql_backup_do_not_make_the_manifest_disagree(
    folders: dict[str, Path], world: None, target: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row committed after the counts are read but before pg_dump starts: the counts and the
    dump come from one snapshot, so the manifest and the restored data agree."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump's snapshot: PostgreSQL only (SQLite counts its own copy)")
    real_run = backup._run

    def run(cmd: list[str], env: dict[str, str], what: str) -> str:
        if what == "pg_dump":
            User.objects.create(username="written-during-the-backup")  # committed
        return real_run(cmd, env, what)

    monkeypatch.setattr(backup, "_run", run)
    archive = folders["tmp"] / "during.tar"
    written = backup.backup(archive)
    assert written.manifest["row_counts"]["org_user"] == User.objects.count() - 1
    monkeypatch.setattr(backup, "_run", real_run)
    alias = target(folders["tmp"])
    report = backup.restore(
        archive, alias=alias, media_dir=folders["tmp"] / "m2", model_dir=folders["tmp"] / "o2"
    )
    assert report.ok, report.checks
    assert not User.objects.using(alias).filter(username="written-during-the-backup").exists()


def test_a_postgresql_restore_failing_half_way_leaves_the_database_as_it_was(
    folders: dict[str, Path], world: None, target: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the one-transaction restore is PostgreSQL's (SQLite's backup API is atomic)")
    archive = folders["tmp"] / "e.tar"
    backup.backup(archive)
    alias = target(folders["tmp"])
    first = backup.restore(
        archive, alias=alias, media_dir=folders["tmp"] / "m2", model_dir=folders["tmp"] / "o2"
    )
    assert first.ok
    User.objects.using(alias).create(username="kept-when-the-restore-fails")
    real_run = backup._run

    def run(cmd: list[str], env: dict[str, str], what: str) -> str:
        if Path(cmd[0]).name == "psql":  # the restore script breaks after the drops
            script = Path(cmd[-1])
            script.write_text(script.read_text() + "\nSELECT 1/0;\n")
        return real_run(cmd, env, what)

    monkeypatch.setattr(backup, "_run", run)
    with pytest.raises(backup.BackupError, match="nothing was changed"):
        backup.restore(
            archive,
            alias=alias,
            media_dir=folders["tmp"] / "m3",
            model_dir=folders["tmp"] / "o3",
            force=True,
        )
    assert User.objects.using(alias).filter(username="kept-when-the-restore-fails").exists()
    assert AuditEntry.objects.using(alias).count() == 3


def test_a_media_file_deleted_while_the_backup_runs_is_left_out(
    folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = folders["media"] / "appeals" / "gone.png"
    real_files = backup._files

    def files(root: Path) -> Iterator[Path]:
        yield from real_files(root)
        if root == folders["media"]:
            yield gone  # listed, then deleted by retention before it was read

    monkeypatch.setattr(backup, "_files", files)
    said: list[str] = []
    report = backup.backup(folders["tmp"] / "f.tar", say=said.append)
    assert report.ok
    assert "media/appeals/gone.png" not in report.manifest["members"]
    assert "media/appeals/2026/11/photo.png" in report.manifest["members"]
    assert any("gone.png was deleted while the backup ran" in line for line in said)
