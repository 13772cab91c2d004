"""/api/hub/…: the catalogue, records through grants, pushes, batches and grants."""

from __future__ import annotations

from ninja import Router

from civitas.hub import api_access, api_catalogue, api_ingest

router = Router()
router.add_router("/hub/", api_catalogue.router)
router.add_router("/hub/", api_ingest.router)
router.add_router("/hub/", api_access.router)
