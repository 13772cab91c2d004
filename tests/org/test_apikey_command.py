from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from civitas.org.models import ApiKey


@pytest.mark.django_db
class TestApiKeyCommand:
    def test_create_prints_the_key_last(self, city: dict[str, Any]) -> None:
        out = StringIO()
        call_command(
            "apikey",
            "create",
            "open311-gateway",
            "--scope",
            "units:read",
            "--unit",
            "T-CENTRE",
            stdout=out,
            stderr=StringIO(),
        )
        key = out.getvalue().strip().splitlines()[-1]
        assert ApiKey.objects.get().name == "open311-gateway"
        response = Client(headers={"X-Api-Key": key}).get("/api/units")
        assert response.status_code == 200 and response.json()["count"] > 0

    def test_unknown_unit_is_named(self, city: dict[str, Any]) -> None:
        with pytest.raises(CommandError, match="NOPE"):
            call_command("apikey", "create", "x", "--unit", "NOPE", stderr=StringIO())

    def test_revoke(self, city: dict[str, Any]) -> None:
        out = StringIO()
        call_command("apikey", "create", "tmp", stdout=out, stderr=StringIO())
        prefix = ApiKey.objects.get().prefix
        call_command("apikey", "revoke", prefix, "--reason", "rotated", stdout=StringIO())
        assert ApiKey.objects.get().revoked_at is not None
