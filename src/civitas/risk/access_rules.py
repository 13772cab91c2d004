"""How alerts, risk items and stability assessments are scoped, registered with the one door
(org.access): rows inside the actor's jurisdiction subtrees, or owned by the units they lead."""

from __future__ import annotations

from civitas.org import access
from civitas.risk.models import Alert, RiskItem, StabilityAssessment


def register() -> None:
    access.register(Alert, "risk.read", access.path_rule("jurisdiction_path"))
    access.register(
        RiskItem, "risk.read", access.path_rule("jurisdiction_path", unit_field="owner_unit_id")
    )
    access.register(
        StabilityAssessment,
        "risk.read",
        access.path_rule("jurisdiction_path", unit_field="decision_unit_id"),
    )
