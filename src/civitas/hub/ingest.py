"""Loading records into a dataset: files (CSV, XLSX, JSON) and API pushes, checked against
the schema and applied whole or not at all; bad rows kept in the quarantine."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from civitas.hub.models import Batch, BatchMode, Dataset

Progress = Callable[[int, int | None], None]  # rows done, rows in all (None when unknown)


def stage_file(
    actor: Any, dataset: Dataset, path: Path, *, filename: str, mode: str = BatchMode.APPEND
) -> Batch:
    """Keep a copy of an uploaded file under CIVITAS_VAR and open a pending batch for it."""
    raise NotImplementedError


def run(batch: Batch, *, progress: Progress | None = None) -> Batch:
    """Check and load a pending (or rejected, once fixed) batch: applied whole, or rejected
    with every bad row in the quarantine and nothing loaded."""
    raise NotImplementedError


def push(
    actor: Any, dataset: Dataset, records: Iterable[dict[str, Any]], *, mode: str = BatchMode.APPEND
) -> Batch:
    """Records pushed through the API: staged, then run at once."""
    raise NotImplementedError
