"""The hub's answers to other apps' signals.

Datasets, grants and records keep a copy of their jurisdiction's path, so that "rows inside
this subtree" is a prefix filter without a join. When a subtree of jurisdictions is moved
(``geo.signals.subtree_moved``: a community placed under another street, a code changed),
these copies are rewritten in the same transaction as the move: otherwise a grant on the old
parent would still cover the moved rows, and a grant on the new parent would miss them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.dispatch import receiver

from civitas.geo.signals import repath, subtree_moved
from civitas.hub.models import Dataset, Grant, Record

# The copied path columns, per model.
PATH_COLUMNS: tuple[tuple[type[Model], str], ...] = (
    (Dataset, "jurisdiction_path"),
    (Grant, "area_path"),
    (Record, "jurisdiction_path"),
)


@receiver(subtree_moved, dispatch_uid="hub.repath")
def on_subtree_moved(sender: Any, *, old_path: str, new_path: str, **kwargs: Any) -> None:
    """Rewrite the hub's copies of the moved subtree's paths (the move itself is audited)."""
    for model, column in PATH_COLUMNS:
        repath(model, column, old_path, new_path)
