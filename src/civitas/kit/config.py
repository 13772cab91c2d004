"""Settings read once from the environment and validated before Django starts.

Every problem is collected and reported together, naming the variable and what to do.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

INSECURE_KEYS = frozenset({"", "changeme", "secret", "django-insecure", "insecure"})
DEV_SECRET_KEY = "civitas-development-only-key-never-use-in-production"  # noqa: S105
LANGUAGES = ("en", "zh-hans")


class ConfigError(Exception):
    """The environment does not describe a runnable Civitas."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "Civitas cannot start; fix these environment variables:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True)
class Config:
    debug: bool
    secret_key: str
    database_url: str
    allowed_hosts: tuple[str, ...]
    time_zone: str
    language_code: str
    data_dir: Path | None
    var_dir: Path
    audit_key: str = field(repr=False, default="")
    # [crypto] The first key encrypts personal data, all of them decrypt (civitas.kit.crypto).
    encryption_keys: tuple[str, ...] = field(repr=False, default=())
    blind_index_key: str = field(repr=False, default="")


def truthy(value: str | None) -> bool:
    """Whether an environment value switches something on (1, true, yes, on)."""
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load(environ: dict[str, str] | None = None, cwd: Path | None = None) -> Config:
    env = dict(os.environ if environ is None else environ)
    cwd = cwd or Path.cwd()
    problems: list[str] = []
    debug = truthy(env.get("CIVITAS_DEBUG"))

    var_dir = Path(env.get("CIVITAS_VAR", str(cwd / "var")))

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if debug:
            secret_key = DEV_SECRET_KEY
        else:
            problems.append(
                "SECRET_KEY is not set. Set it to a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
                "or set CIVITAS_DEBUG=1 for local development."
            )
    elif not debug and (
        secret_key.lower() in INSECURE_KEYS
        or secret_key.startswith("django-insecure")
        or secret_key == DEV_SECRET_KEY
        or len(secret_key) < 32
        or len(set(secret_key)) < 5
    ):
        problems.append(
            "SECRET_KEY is insecure (shorter than 32 characters, too few distinct characters, "
            "or a well-known value). Generate a random one, or set CIVITAS_DEBUG=1 for development."
        )

    default_db = f"sqlite:///{(var_dir / 'civitas.sqlite3').resolve()}"
    database_url = env.get("DATABASE_URL") or default_db
    if not database_url.startswith(("sqlite://", "postgres://", "postgresql://")):
        problems.append(
            f"DATABASE_URL={database_url!r} is not supported: use sqlite:///PATH "
            "or postgresql://USER@HOST:PORT/NAME."
        )

    hosts_raw = env.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
    allowed_hosts = tuple(h.strip() for h in hosts_raw.split(",") if h.strip())
    if not allowed_hosts:
        problems.append("ALLOWED_HOSTS is empty: list the host names this server answers to.")
    if "*" in allowed_hosts and not debug:
        problems.append("ALLOWED_HOSTS contains '*': name the real hosts in production.")

    time_zone = env.get("TIME_ZONE", "Asia/Shanghai")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"TIME_ZONE={time_zone!r} is not a known IANA zone (e.g. Asia/Shanghai).")

    language_code = env.get("LANGUAGE_CODE", "en").strip().lower()
    if language_code == "zh-cn":
        language_code = "zh-hans"
    if language_code not in LANGUAGES:
        problems.append(f"LANGUAGE_CODE={language_code!r} must be one of: {', '.join(LANGUAGES)}.")

    data_dir: Path | None
    if env.get("CIVITAS_DATA"):
        data_dir = Path(env["CIVITAS_DATA"])
        if not data_dir.is_dir():
            problems.append(f"CIVITAS_DATA={str(data_dir)!r} is not a folder.")
    else:
        candidate = (cwd / ".." / "shared" / "data").resolve()
        data_dir = candidate if candidate.is_dir() else None

    numbers = {
        "CIVITAS_AUTO_CLOSE_DAYS": int,
        "CIVITAS_EMAIL_PORT": int,
        "CIVITAS_SMS_TIMEOUT": float,
    }
    for name, kind in numbers.items():
        if env.get(name):
            try:
                if kind(env[name]) <= 0:
                    raise ValueError
            except ValueError:
                problems.append(f"{name}={env[name]!r} must be a positive number.")

    encryption_keys, blind_index_key = _encryption(env, debug, secret_key, problems)

    if problems:
        raise ConfigError(problems)
    return Config(
        debug=debug,
        secret_key=secret_key,
        database_url=database_url,
        allowed_hosts=allowed_hosts,
        time_zone=time_zone,
        language_code=language_code,
        data_dir=data_dir,
        var_dir=var_dir,
        audit_key=env.get("CIVITAS_AUDIT_KEY", ""),
        encryption_keys=encryption_keys,
        blind_index_key=blind_index_key,
    )


def _encryption(
    env: dict[str, str], debug: bool, secret_key: str, problems: list[str]
) -> tuple[tuple[str, ...], str]:
    """[crypto] CIVITAS_ENCRYPTION_KEYS (required outside debug) and CIVITAS_BLIND_INDEX_KEY."""
    keys: tuple[str, ...] = ()
    try:
        keys = parse_keys(env.get("CIVITAS_ENCRYPTION_KEYS", ""))
    except ValueError as exc:
        problems.append(
            f"CIVITAS_ENCRYPTION_KEYS: {exc}. Make a key with `civitas keys new`; list several "
            "keys separated by commas (the first encrypts, all decrypt)."
        )
    else:
        if not keys and debug:
            keys = (derived_key(secret_key),)
        elif not keys:
            problems.append(
                "CIVITAS_ENCRYPTION_KEYS is not set: residents' contact details are encrypted "
                "with it. Make a key with `civitas keys new`, keep a copy apart from the database "
                "backups (without it the data cannot be read), and set "
                "CIVITAS_ENCRYPTION_KEYS=<key>; or set CIVITAS_DEBUG=1 for local development."
            )
    index_key = env.get("CIVITAS_BLIND_INDEX_KEY", "")
    if index_key and len(index_key) < 32:
        problems.append(
            "CIVITAS_BLIND_INDEX_KEY is shorter than 32 characters: use `civitas keys new`."
        )
    return keys, index_key


def derived_key(secret: str) -> str:
    """[crypto] The development encryption key derived from SECRET_KEY (only with CIVITAS_DEBUG)."""
    raw = hashlib.sha256(b"civitas-encryption:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(raw).decode()


def parse_keys(raw: str) -> tuple[str, ...]:
    """[crypto] The keys of a comma-separated list; ValueError names the position of a bad one."""
    from cryptography.fernet import Fernet

    keys = tuple(k.strip() for k in (raw or "").split(",") if k.strip())
    for i, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ValueError(
                f"key {i} of {len(keys)} is not a Fernet key (32 bytes in URL-safe base64)"
            ) from None
    return keys
