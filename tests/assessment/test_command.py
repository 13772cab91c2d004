from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from civitas.assessment.models import UnitDay
from civitas.kit import clock
from tests.assessment.conftest import LATER


@pytest.mark.django_db
class TestCommand:
    def test_refresh_full_and_show(self, month: dict[str, Any]) -> None:
        out = io.StringIO()
        call_command("assessment", "refresh", stdout=out)
        assert "1 row(s)" in out.getvalue()
        call_command("assessment", "refresh", "--full", stdout=out)
        call_command("assessment", "refresh", "--since", "2026-11-01", stdout=out)
        assert UnitDay.objects.count() == 1
        shown = io.StringIO()
        with clock.frozen(LATER):
            call_command(
                "assessment",
                "show",
                "--user",
                "dispatcher",
                "--group",
                "departments",
                "--period",
                "2026-11",
                stdout=shown,
            )
        assert "70.50" in shown.getvalue() and "T-D1-HOUSING" in shown.getvalue()

    def test_refusals(self, month: dict[str, Any]) -> None:
        with pytest.raises(CommandError):
            call_command("assessment", "show", "--user", "nobody")
        with pytest.raises(CommandError):
            call_command("assessment", "show", "--user", "handler")
        with pytest.raises(CommandError):
            call_command("assessment", "refresh", "--since", "soon")
