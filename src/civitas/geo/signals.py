"""Signals other apps listen to without the geo layer knowing them.

``subtree_moved`` is sent by ``services.save_jurisdiction`` when a jurisdiction gets a new path
(moved under another parent, or renamed), after it and every descendant are re-pathed, inside
the caller's transaction: apps that keep a copy of jurisdiction paths (to filter by subtree
without a join) rewrite them there, and commit or roll back with the move itself.
"""

from __future__ import annotations

from django.dispatch import Signal

# sender=Jurisdiction, jurisdiction=<the moved Jurisdiction>, old_path=str, new_path=str
# (paths such as "/T/D1/S1/C1/": every stored path starting with old_path now starts with
# new_path instead).
subtree_moved = Signal()
