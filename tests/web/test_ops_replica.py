"""Dashboards read from the replica alias when there is one (here: the same database)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civitas.geo.models import Jurisdiction
from civitas.kit import replica
from civitas.org.models import Role
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture(scope="module")
def _replica_settings(django_db_setup: Any) -> Iterator[str]:
    """A ``replica`` alias on the test database, as DATABASE_REPLICA_URL pointing at the
    primary makes it (module scope: the alias must exist before the test's database set-up)."""
    cfg = copy.deepcopy(connections["default"].settings_dict)
    cfg["TEST"] = {**cfg.get("TEST", {}), "MIRROR": "default"}
    connections.settings[replica.ALIAS] = cfg
    try:
        yield replica.ALIAS
    finally:
        connections[replica.ALIAS].close()
        del connections.settings[replica.ALIAS]


@pytest.fixture
def replica_alias(_replica_settings: str, settings: Any) -> str:
    settings.DATABASE_ROUTERS = ["civitas.kit.replica.ReplicaRouter"]
    return _replica_settings


def test_reads_inside_reading_go_to_the_replica(city: dict[str, Any], replica_alias: str) -> None:
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[replica_alias]) as secondary,
    ):
        with replica.reading():
            found = Jurisdiction.objects.get(code="T-D1")
            assert found._state.db == replica_alias
            # Writes always go to the primary, even for an object read from the replica.
            found.name_en = "District One"
            found.save(update_fields=["name_en"])
            with transaction.atomic():  # a transaction sees its own writes: primary
                assert Jurisdiction.objects.get(code="T-D1").name_en == "District One"
        outside = Jurisdiction.objects.filter(code__startswith="T").count()
    assert outside == Jurisdiction.objects.filter(path__startswith="/T/").count()
    replica_sql = [q["sql"] for q in secondary.captured_queries]
    primary_sql = [q["sql"] for q in primary.captured_queries]
    assert len(replica_sql) == 1 and "SELECT" in replica_sql[0]
    assert any(s.startswith("UPDATE") for s in primary_sql)
    assert sum("SELECT" in s for s in primary_sql) == 2  # in the transaction, and outside


def test_the_command_centre_reads_from_the_replica(
    city: dict[str, Any], replica_alias: str
) -> None:
    from civitas.risk import command

    analyst = factories.member("ops-analyst", Role.ANALYST, city["centre"])
    plain = command.overview(analyst)
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[replica_alias]) as secondary,
    ):
        again = command.overview(analyst)
    assert len(secondary) >= 3
    assert not [q for q in primary.captured_queries if "appeals_appeal" in q["sql"]]
    assert again.area == plain.area and again.intake == plain.intake
    assert again.overdue == plain.overdue


def test_readyz_checks_the_replica(replica_alias: str, settings: Any) -> None:
    settings.CIVITAS_READYZ_CACHE_SECONDS = 0
    settings.CIVITAS_CACHE_URL = settings.CIVITAS_BROKER_URL = ""
    r = Client().get("/readyz")
    assert r.status_code == 200, r.content
    assert r.json()["checks"]["replica"]["ok"] is True


def test_the_setting_adds_the_alias_and_the_router(tmp_path: Any) -> None:
    url = "postgresql://reader:pw@10.0.0.9:5432/civitas"
    env = {**os.environ, "CIVITAS_DEBUG": "1", "DATABASE_REPLICA_URL": url}
    env["DATABASE_URL"] = "postgresql://writer@10.0.0.8:5432/civitas"
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "r = s.DATABASES['replica']; print(json.dumps([r['HOST'], r['NAME'], r['TEST'], "
        "r['OPTIONS'], s.DATABASE_ROUTERS, 'replica' in s.DATABASES]))"
    )
    env["DJANGO_SETTINGS_MODULE"] = "civitas.settings"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    host, name, test, options, routers, present = json.loads(done.stdout.strip().splitlines()[-1])
    assert (host, name, present) == ("10.0.0.9", "civitas", True)
    assert test["MIRROR"] == "default"
    assert options == {"connect_timeout": 5}
    assert routers == ["civitas.kit.replica.ReplicaRouter"]
