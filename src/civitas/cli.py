"""The ``civitas`` command: Django's management commands with the settings preset, plus ours."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


def _demo_secret(var_dir: Path) -> str:
    """A random key kept under var/ so the demo runs without configuration."""
    var_dir.mkdir(parents=True, exist_ok=True)
    key_file = var_dir / "demo-secret.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


# Commands that read files and print figures: they sign nothing and store nothing, so they
# run on a fresh machine without configuration (a throwaway key for this process).
OFFLINE = {("eval",), ("risk", "scan"), ("risk", "evaluate")}


def _derived_key(secret: str) -> str:
    from civitas.kit.config import derived_key

    return derived_key(secret)


def _offline(argv: list[str]) -> bool:
    return tuple(argv[1:2]) in OFFLINE or tuple(argv[1:3]) in OFFLINE


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitas.settings")
    if len(argv) > 1 and argv[1] == "demo" and not os.environ.get("SECRET_KEY"):
        var_dir = Path(os.environ.get("CIVITAS_VAR", Path.cwd() / "var"))
        os.environ["SECRET_KEY"] = _demo_secret(var_dir)
        # The demo's personal data is invented: a key derived from its kept secret will do.
        os.environ.setdefault("CIVITAS_ENCRYPTION_KEYS", _derived_key(os.environ["SECRET_KEY"]))
    elif _offline(argv) and not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
        os.environ.setdefault("CIVITAS_ENCRYPTION_KEYS", _derived_key(os.environ["SECRET_KEY"]))
    elif tuple(argv[1:3]) == ("keys", "new"):
        os.environ["CIVITAS_DEBUG"] = "1"  # making the first key needs no configuration
    from civitas.kit.config import ConfigError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(argv)
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
