"""The appeals' answers to other apps' signals.

An appeal keeps a copy of its jurisdiction's path (who may read it by place is a prefix
filter). When a subtree of jurisdictions is moved (``geo.signals.subtree_moved``), the copies
follow in the move's transaction: the staff of the new street see the moved community's
appeals by place, those of the old one no longer do; the units handling a case keep it
through their assignment whatever the place.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from civitas.appeals.models import Appeal
from civitas.geo.signals import repath, subtree_moved


@receiver(subtree_moved, dispatch_uid="appeals.repath")
def on_subtree_moved(sender: Any, *, old_path: str, new_path: str, **kwargs: Any) -> None:
    """One UPDATE of the appeals' path copies (the move itself is audited)."""
    repath(Appeal, "jurisdiction_path", old_path, new_path)
