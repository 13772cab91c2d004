"""/api/participation/…: organisations, participants and tasks."""

from __future__ import annotations

from ninja import Router

router = Router()
