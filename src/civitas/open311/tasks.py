"""Scheduled Open311 work: deferred requests (tokens) and handoffs to outside systems."""

from __future__ import annotations


def run_handoffs() -> None:
    """Send due handoffs and poll sent ones."""


def run_pending() -> None:
    """Create the appeals of requests accepted with a token."""
