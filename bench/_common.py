"""Shared set-up for the benchmarks: a fresh SQLite database in a temporary folder.

Call ``fresh_django()`` before importing anything that touches models: it points
DATABASE_URL at a new database, sets Django up and runs the migrations.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def fresh_django(tmp: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("CIVITAS_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitas.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def data_dir(argv: list[str] | None = None) -> Path:
    """The shared data folder: --data DIR, else CIVITAS_DATA, else ../shared/data."""
    argv = sys.argv[1:] if argv is None else argv
    if "--data" in argv:
        return Path(argv[argv.index("--data") + 1])
    if os.environ.get("CIVITAS_DATA"):
        return Path(os.environ["CIVITAS_DATA"])
    return ROOT.parent / "shared" / "data"


def require(path: Path) -> None:
    if not path.exists():
        sys.exit(f"{path} not found: these benchmarks need the shared data (--data DIR)")


@contextmanager
def temp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="civitas-bench-") as tmp:
        yield Path(tmp)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def emit(name: str, figures: dict[str, Any]) -> None:
    """The figures as one JSON line, for docs/PERFORMANCE.md and for comparing runs."""
    print(json.dumps({"bench": name, **figures, "machine": machine()}, ensure_ascii=False))


def build_and_import(name: str, data: Path, tmp: Path) -> dict[str, float]:
    """Build a city's pack into tmp and import it; return the two durations in seconds."""
    from django.db import transaction

    from civitas.citypacks.builders import BUILDERS
    from civitas.citypacks.importer import import_pack

    pack = tmp / f"{name}-pack"
    _, build_s = timed(lambda: BUILDERS[name](data / name, pack))

    def run_import() -> Any:
        with transaction.atomic():
            return import_pack(pack, actor="bench")

    _, import_s = timed(run_import)
    return {"build_s": round(build_s, 2), "import_s": round(import_s, 2)}
