"""Signals other apps listen to without the geo layer knowing them.

``subtree_moved`` is sent by ``services.save_jurisdiction`` when a jurisdiction gets a new path
(moved under another parent, or its code changed), after it and every descendant are
re-pathed, inside the caller's transaction: apps that keep a copy of jurisdiction paths (to
filter by subtree without a join) rewrite them there with :func:`repath`, and commit or roll
back with the move itself.
"""

from __future__ import annotations

from django.db.models import CharField, F, Model, Value
from django.db.models.functions import Concat, Substr
from django.dispatch import Signal

# sender=Jurisdiction, jurisdiction=<the moved Jurisdiction>, old_path=str, new_path=str
# (paths such as "/T/T-D1/T-D1-S1/": every stored path starting with old_path now starts
# with new_path instead).
subtree_moved = Signal()


def repath(model: type[Model], column: str, old_path: str, new_path: str) -> int:
    """One UPDATE, in the database (SQLite and PostgreSQL alike), whatever the number of rows:
    every ``column`` of ``model`` starting with ``old_path`` starts with ``new_path`` instead.
    Returns the number of rows changed."""
    if not old_path or old_path == new_path:
        return 0
    return model._default_manager.filter(**{f"{column}__startswith": old_path}).update(
        **{
            column: Concat(
                Value(new_path), Substr(F(column), len(old_path) + 1), output_field=CharField()
            )
        }
    )
