"""/api/mediation/…: disputes and their figures."""

from __future__ import annotations

from ninja import Router

from civitas.mediation import api_disputes, api_figures

router = Router()
router.add_router("/mediation/", api_disputes.router)
router.add_router("/mediation/", api_figures.router)
