"""/api/participation/…: organisations, tasks, consultations, suggestions."""

from __future__ import annotations

from ninja import Router

from civitas.participation import api_consult, api_suggest, api_tasks

router = Router()
router.add_router("/participation/", api_tasks.router)
router.add_router("/participation/", api_consult.router)
router.add_router("/participation/", api_suggest.router)
