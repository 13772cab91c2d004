"""/api/mediation/…: disputes."""

from __future__ import annotations

from ninja import Router

router = Router()
