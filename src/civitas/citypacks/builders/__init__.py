"""Builders that turn a real city's public data into a city pack (see docs/CITYPACKS.md).

``BUILDERS`` maps a name to ``build(data_dir, out, progress=None)``; each builder's module is
imported only when it runs, so listing them costs nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[str], None]
Builder = Callable[..., None]  # (data_dir: Path | None, out: Path, progress=None) -> None


def _lazy(module: str, attr: str) -> Builder:
    def build(data_dir: Path | None, out: Path, progress: Progress | None = None) -> None:
        target = getattr(importlib.import_module(module), attr)
        target(data_dir, out, progress=progress)

    build.__doc__ = f"{module}:{attr}"
    return build


BUILDERS: dict[str, Builder] = {
    "boston": _lazy("civitas.citypacks.builders.boston", "build"),
    "changsha": _lazy("civitas.citypacks.builders.changsha", "build"),
    "demo": _lazy("civitas.citypacks.demo", "build_pack"),
}
