"""How roll-up rows are scoped, registered with the one door (org.access): rows of cases inside
the actor's jurisdiction subtrees, or of the units whose work they lead."""

from __future__ import annotations

from civitas.assessment.models import UnitDay
from civitas.org import access


def register() -> None:
    access.register(
        UnitDay, "assessment.read", access.path_rule("jurisdiction_path", unit_field="unit_id")
    )
