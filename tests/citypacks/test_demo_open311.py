"""Open311 in the demo: definitions for a few demo matters in both languages, two matters
kept out of the list, an API key printed and kept in a file readable by its owner only; the
whole of it idempotent."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from civitas.citypacks.demo import open311 as demo_open311
from civitas.kit.models import AuditEntry
from civitas.open311.models import ServiceAttribute, ServiceListing
from civitas.org import services as org_services
from civitas.org.models import ApiKey

pytestmark = pytest.mark.django_db


class TestKey:
    def test_made_once_kept_in_a_private_file_and_reused(self, tmp_path: Path) -> None:
        with transaction.atomic():
            clear, path, made = demo_open311.demo_api_key(actor="test", var_dir=tmp_path)
        assert made and path == tmp_path / demo_open311.KEY_FILE
        assert path.read_text(encoding="utf-8").strip() == clear
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        key = org_services.authenticate_api_key(clear)
        assert key.name == "Open311 demo app" and key.scopes == ["appeals:submit"]
        assert key.unit_id is None

        again, _, made_again = demo_open311.demo_api_key(actor="test", var_dir=tmp_path)
        assert again == clear and not made_again
        assert ApiKey.objects.filter(name=demo_open311.KEY_NAME).count() == 1

    def test_a_lost_or_revoked_key_is_replaced_and_the_old_one_revoked(
        self, tmp_path: Path
    ) -> None:
        with transaction.atomic():
            first, path, _ = demo_open311.demo_api_key(actor="test", var_dir=tmp_path)
        path.unlink()
        with transaction.atomic():
            second, _, made = demo_open311.demo_api_key(actor="test", var_dir=tmp_path)
        assert made and second != first
        old = ApiKey.objects.get(name=demo_open311.KEY_NAME, revoked_at__isnull=False)
        assert org_services.authenticate_api_key(second).pk != old.pk
        with pytest.raises(Exception, match="revoked"):
            org_services.authenticate_api_key(first)

        with transaction.atomic():
            org_services.revoke_api_key(actor="test", key=org_services.authenticate_api_key(second))
            third, _, made = demo_open311.demo_api_key(actor="test", var_dir=tmp_path)
        assert made and third not in (first, second)
        assert path.read_text(encoding="utf-8").strip() == third

    def test_services_need_the_demo_city(self) -> None:
        with pytest.raises(Exception, match="import the demo city pack first"):
            demo_open311.configure_services(actor="test")


def test_the_demo_command_configures_open311_once(tmp_path: Path, settings: Any) -> None:
    settings.STATIC_ROOT = tmp_path / "static"
    settings.CIVITAS_VAR = tmp_path / "var"
    out = io.StringIO()
    args = ("demo", "--no-serve", "--no-appeals", "--port", "8311", "--pack", str(tmp_path / "p"))
    call_command(*args, stdout=out)
    text = out.getvalue()
    key_file = tmp_path / "var" / demo_open311.KEY_FILE
    clear = key_file.read_text(encoding="utf-8").strip()
    assert clear.startswith("cvt_") and clear in text
    assert "http://127.0.0.1:8311/open311/v2/" in text and "jurisdiction_id DC" in text
    assert str(key_file) in text

    attributes = ServiceAttribute.objects.filter(matter__catalogue="DC")
    assert {a.datatype for a in attributes} == {
        "string",
        "number",
        "datetime",
        "text",
        "singlevaluelist",
        "multivaluelist",
    }
    assert all(a.description_en and a.description_zh for a in attributes)
    for a in attributes.filter(datatype__in=["singlevaluelist", "multivaluelist"]):
        assert a.values and all(v["name_en"] and v["name_zh"] for v in a.values)
    hidden = set(ServiceListing.objects.filter(listed=False).values_list("matter__code", flat=True))
    assert hidden == {demo_open311.GAS_LEAK, demo_open311.ALLOWANCE}
    entries = AuditEntry.objects.filter(action__startswith="open311.").count()
    assert entries == attributes.count() + len(demo_open311.LISTINGS)

    again = io.StringIO()
    call_command(*args, stdout=again)
    assert clear in again.getvalue()
    assert AuditEntry.objects.filter(action__startswith="open311.").count() == entries
    assert ApiKey.objects.filter(name=demo_open311.KEY_NAME).count() == 1

    # What an app sees, in both languages, and a request it can submit with the printed key.
    client = Client()
    services = client.get("/open311/v2/services.json").json()
    codes = {s["service_code"] for s in services}
    assert demo_open311.LIFT in codes and demo_open311.ROAD in codes
    assert demo_open311.GAS_LEAK not in codes and demo_open311.ALLOWANCE not in codes
    lift = client.get(f"/open311/v2/services/{demo_open311.LIFT}.json").json()
    assert [a["code"] for a in lift["attributes"]][:3] == ["WARNING", "TRAPPED", "FLOOR"]
    chinese = client.get(
        f"/open311/v2/services/{demo_open311.LIFT}.json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).json()
    assert chinese["attributes"][1]["description"] == "电梯里有人吗？"
    from civitas.geo.locate import index

    index.invalidate()
    response = client.post(
        "/open311/v2/requests.json",
        {
            "api_key": clear,
            "jurisdiction_id": "DC",
            "service_code": demo_open311.LIFT,
            "address_string": "Harbour City",
            "attribute[TRAPPED]": "no",
            "attribute[FLOOR]": "5",
            "attribute[AFFECTED][]": ["elderly", "wheelchair"],
            "description": "The lift in block 7 stopped on the 5th floor.",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()[0]["service_request_id"].startswith("DC-")
