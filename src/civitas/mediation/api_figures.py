"""/api/mediation/figures: disputes received, resolved, by level, type and area."""

from __future__ import annotations

from ninja import Router

router = Router()
