"""/api/participation/…: suggestions and moderation."""

from __future__ import annotations

from ninja import Router

router = Router()
