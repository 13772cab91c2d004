from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.appeals.conftest import case_city  # noqa: F401 (shared fixtures)


@pytest.fixture(autouse=True)
def model_dir(settings: Any, tmp_path: Path) -> Path:
    """Every test keeps its model files in its own folder."""
    from civitas.understanding import store

    settings.CIVITAS_MODEL_DIR = tmp_path / "models"
    store.forget()
    return settings.CIVITAS_MODEL_DIR
