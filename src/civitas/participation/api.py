"""/api/participation/…: organisations, tasks, consultations, suggestions."""

from __future__ import annotations

from ninja import Router

router = Router()
