"""Mediation's answers to other apps' signals.

A dispute keeps a copy of its place's path (who may read it by area is a prefix filter). When
a subtree of jurisdictions is moved (``geo.signals.subtree_moved``), the copies follow in the
move's transaction; the units that handle or handled a dispute keep it through its stages
whatever the place.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from civitas.geo.signals import repath, subtree_moved
from civitas.mediation.models import Dispute


@receiver(subtree_moved, dispatch_uid="mediation.repath")
def on_subtree_moved(sender: Any, *, old_path: str, new_path: str, **kwargs: Any) -> None:
    """One UPDATE of the disputes' path copies (the move itself is audited)."""
    repath(Dispute, "jurisdiction_path", old_path, new_path)
