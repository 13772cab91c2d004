"""GeoReport v2 conformance: discovery, services, service definitions, jurisdictions, and the
errors of the whole /open311/v2/ tree (never HTML, never a traceback), in XML and JSON.

Every answer passes tests.open311.conftest.inspect (content type, UTF-8, XML declaration,
schema); the tests here check what the answers say."""

from __future__ import annotations

from typing import Any

import pytest

from tests.open311.conftest import (
    BASE,
    FORM,
    LIFT,
    W3,
    WATER,
    Answer,
    Open311,
    inspect,
)

pytestmark = pytest.mark.django_db

FORMATS = ["xml", "json"]


@pytest.fixture(params=FORMATS)
def fmt(request: Any) -> str:
    return str(request.param)


def truth(value: Any) -> bool:
    """A boolean of either format: XML 'true'/'false', JSON true/false."""
    if isinstance(value, bool):
        return value
    assert value in ("true", "false"), value
    return value == "true"


# -- discovery ------------------------------------------------------------------------------------


class TestDiscovery:
    def test_lists_the_georeport_v2_endpoint_and_its_formats(
        self, o311: dict[str, Any], api: Open311, fmt: str
    ) -> None:
        answer = api.get("discovery", fmt)
        assert answer.status == 200
        d = answer.data
        assert W3.match(str(d["changeset"])), d["changeset"]
        assert str(d["contact"]).strip() and str(d["key_service"]).strip()
        endpoints = d["endpoints"]
        assert endpoints, d
        v2 = [e for e in endpoints if "GeoReport_v2" in str(e["specification"])]
        assert v2, endpoints
        endpoint = v2[0]
        assert str(endpoint["url"]).rstrip("/").endswith("/open311/v2"), endpoint["url"]
        assert str(endpoint["url"]).startswith(("http://", "https://")), endpoint["url"]
        assert endpoint["type"] in ("production", "test")
        assert W3.match(str(endpoint["changeset"]))
        formats = {str(f) for f in endpoint["formats"]}
        assert "application/json" in formats
        assert formats & {"text/xml", "application/xml"}, formats

    def test_both_formats_say_the_same(self, o311: dict[str, Any], api: Open311) -> None:
        xml, js = api.get("discovery", "xml").data, api.get("discovery", "json").data
        assert xml["contact"] == js["contact"] and xml["key_service"] == js["key_service"]
        assert [e["url"] for e in xml["endpoints"]] == [e["url"] for e in js["endpoints"]]


# -- services --------------------------------------------------------------------------------------


def by_code(records: list[dict[str, Any]], field: str = "service_code") -> dict[str, Any]:
    return {str(r[field]): r for r in records}


class TestServices:
    def test_lists_the_leaf_matters_with_every_field(
        self, o311: dict[str, Any], api: Open311, fmt: str
    ) -> None:
        answer = api.get("services", fmt)
        assert answer.status == 200
        services = by_code(answer.data)
        assert {LIFT, WATER, FORM} <= set(services), list(services)
        # branches of the catalogue are not services a resident can report
        assert "T-M1" not in services and "T-M1-1" not in services
        for record in answer.data:
            assert set(record) >= {
                "service_code",
                "service_name",
                "description",
                "metadata",
                "type",
                "keywords",
                "group",
            }, record
        lift = services[LIFT]
        assert lift["service_name"] in ("Lift out of service", "电梯故障")
        assert lift["type"] == "realtime"
        assert "lift" in str(lift["keywords"]) and "电梯" in str(lift["keywords"])
        assert lift["group"] in ("Property", "物业"), lift["group"]

    def test_metadata_is_true_exactly_for_services_with_attributes(
        self, o311: dict[str, Any], api: Open311, fmt: str
    ) -> None:
        services = by_code(api.get("services", fmt).data)
        assert truth(services[FORM]["metadata"]) is True
        assert truth(services[LIFT]["metadata"]) is False
        assert truth(services[WATER]["metadata"]) is False

    def test_json_uses_json_types(self, o311: dict[str, Any], api: Open311) -> None:
        services = by_code(api.get("services", "json").data)
        assert services[FORM]["metadata"] is True and services[LIFT]["metadata"] is False
        assert isinstance(services[LIFT]["keywords"], str)  # comma separated, as the spec

    def test_both_formats_list_the_same_services(self, o311: dict[str, Any], api: Open311) -> None:
        xml = by_code(api.get("services", "xml").data)
        js = by_code(api.get("services", "json").data)
        assert set(xml) == set(js)
        for code in xml:
            assert xml[code]["service_name"] == js[code]["service_name"]
            assert xml[code]["type"] == js[code]["type"]
            assert truth(xml[code]["metadata"]) == truth(js[code]["metadata"])

    def test_deferred_creation_makes_services_batch(
        self, o311: dict[str, Any], api: Open311, settings: Any
    ) -> None:
        """type 'batch': a token first, the id later (what CIVITAS_OPEN311_DEFER does)."""
        settings.CIVITAS_OPEN311_DEFER = True
        services = by_code(api.get("services", "json").data)
        assert services[LIFT]["type"] == "batch", services[LIFT]

    def test_the_other_language(self, o311: dict[str, Any], api: Open311) -> None:
        api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
        services = by_code(api.get("services", "json").data)
        assert services[LIFT]["service_name"] == "电梯故障"


# -- service definitions ---------------------------------------------------------------------------


class TestServiceDefinition:
    def test_every_attribute_with_every_field(
        self, o311: dict[str, Any], api: Open311, fmt: str
    ) -> None:
        answer = api.get(f"services/{FORM}", fmt)
        assert answer.status == 200
        d = answer.data
        assert d["service_code"] == FORM
        attributes = d["attributes"]
        assert [str(a["code"]) for a in attributes] == [
            "pole",
            "height",
            "noticed",
            "details",
            "colour",
            "hazards",
            "safety",
        ], "attributes in their order"
        for a in attributes:
            assert set(a) >= {
                "variable",
                "code",
                "datatype",
                "required",
                "datatype_description",
                "order",
                "description",
            }, a
        got = {str(a["code"]): a for a in attributes}
        assert [str(got[c]["datatype"]) for c in got] == [
            "string",
            "number",
            "datetime",
            "text",
            "singlevaluelist",
            "multivaluelist",
            "text",
        ]
        assert [int(a["order"]) for a in attributes] == [1, 2, 3, 4, 5, 6, 7]
        assert truth(got["pole"]["required"]) and truth(got["colour"]["required"])
        assert not truth(got["height"]["required"]) and not truth(got["hazards"]["required"])
        assert truth(got["pole"]["variable"]) and not truth(got["safety"]["variable"])
        assert got["pole"]["description"] == "The number on the pole"
        assert "SL-0042" in str(got["pole"]["datatype_description"])
        assert "fallen wires" in str(got["safety"]["description"])
        colour = [(str(v["key"]), v["name"]) for v in got["colour"]["values"]]
        assert colour == [("red", "Red"), ("amber", "Amber"), ("dark", "No light")]
        hazards = [str(v["key"]) for v in got["hazards"]["values"]]
        assert hazards == ["wires", "glass", "leaning"]
        for code in ("pole", "height", "noticed", "details"):
            assert not got[code].get("values"), "only list datatypes have values"

    def test_json_uses_json_types(self, o311: dict[str, Any], api: Open311) -> None:
        attributes = api.get(f"services/{FORM}", "json").data["attributes"]
        pole = attributes[0]
        assert pole["variable"] is True and pole["required"] is True
        assert isinstance(pole["order"], int) and not isinstance(pole["order"], bool)
        assert isinstance(attributes[4]["values"], list)

    def test_a_service_without_attributes_has_an_empty_definition(
        self, o311: dict[str, Any], api: Open311, fmt: str
    ) -> None:
        answer = api.get(f"services/{LIFT}", fmt)
        assert answer.status == 200
        assert answer.data["service_code"] == LIFT
        assert answer.data["attributes"] in ([], "", None)

    @pytest.mark.parametrize("code", ["NOPE", "T-M1", "T-M1-1"])
    def test_an_unknown_or_unlisted_code_is_404(
        self, o311: dict[str, Any], api: Open311, fmt: str, code: str
    ) -> None:
        answer = api.get(f"services/{code}", fmt)
        assert answer.status == 404
        assert answer.errors()[0]["code"] in (404, "404")

    def test_in_the_other_language(self, o311: dict[str, Any], api: Open311) -> None:
        api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
        attributes = api.get(f"services/{FORM}", "json").data["attributes"]
        colour = {str(a["code"]): a for a in attributes}["colour"]
        assert [v["name"] for v in colour["values"]] == ["红", "黄", "不亮"]


# -- jurisdictions ---------------------------------------------------------------------------------


class TestJurisdiction:
    @pytest.mark.parametrize("value", [None, "", "T"])
    def test_optional_with_one_city(
        self, o311: dict[str, Any], api: Open311, fmt: str, value: str | None
    ) -> None:
        answer = api.get("services", fmt, jurisdiction_id=value)
        assert answer.status == 200
        assert LIFT in by_code(answer.data)

    @pytest.mark.parametrize("value", ["NOPE", "T-D1"])
    def test_unknown_is_404(self, o311: dict[str, Any], api: Open311, fmt: str, value: str) -> None:
        answer = api.get("services", fmt, jurisdiction_id=value)
        assert answer.status == 404
        assert "jurisdiction" in answer.error_text()

    @pytest.mark.parametrize(
        "path", ["services", f"services/{LIFT}", "requests", "servicerequestupdates"]
    )
    def test_required_with_two_cities(
        self, o311: dict[str, Any], second_city: dict[str, Any], api: Open311, fmt: str, path: str
    ) -> None:
        answer = api.get(path, fmt)
        assert answer.status == 400, answer.body
        assert "jurisdiction_id" in answer.error_text()
        assert api.get(path, fmt, jurisdiction_id="T").status == 200

    def test_each_city_lists_its_own_services(
        self, o311: dict[str, Any], second_city: dict[str, Any], api: Open311, fmt: str
    ) -> None:
        t = by_code(api.get("services", fmt, jurisdiction_id="T").data)
        u = by_code(api.get("services", fmt, jurisdiction_id="U").data)
        assert LIFT in t and "U-M1" not in t
        assert "U-M1" in u and LIFT not in u
        # another city's service is not found under this one
        assert api.get(f"services/{LIFT}", fmt, jurisdiction_id="U").status == 404


# -- errors of the whole tree ----------------------------------------------------------------------


def raw(api: Open311, method: str, url: str) -> Answer:
    """An answer for a URL the helper cannot build (no extension, another extension)."""
    response = api.client.generic(method, url)
    ctype = response.headers.get("Content-Type", "")
    fmt = "xml" if "xml" in ctype else "json" if "json" in ctype else "?"
    answer = Answer(
        status=response.status_code,
        fmt=fmt,
        content_type=ctype,
        body=response.content,
        headers=dict(response.headers.items()),
        url=url,
    )
    assert fmt != "?", f"{url}: neither XML nor JSON: {ctype} {response.content[:200]!r}"
    inspect(answer)
    return answer


class TestErrors:
    @pytest.mark.parametrize(
        "path", ["nothing", "services/T-M1-1-1/more", "requests/", "tokens/", "v3/services"]
    )
    def test_unknown_paths_are_404_in_the_format_asked(
        self, o311: dict[str, Any], api: Open311, fmt: str, path: str
    ) -> None:
        answer = api.get(path, fmt)
        assert answer.status == 404
        assert answer.errors()[0]["code"] in (404, "404")

    @pytest.mark.parametrize(
        "url",
        ["services", "services.html", "services.csv", "requests.yaml", "discovery.XML.bak", ""],
    )
    def test_no_or_another_extension_is_404_never_html(
        self, o311: dict[str, Any], api: Open311, url: str
    ) -> None:
        answer = raw(api, "GET", BASE + url)
        assert answer.status == 404, (url, answer.status)

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "discovery"),
            ("POST", "services"),
            ("POST", f"services/{LIFT}"),
            ("PUT", "requests"),
            ("DELETE", "requests"),
            ("PATCH", "requests"),
            ("POST", "requests/T-000001"),
            ("DELETE", "requests/T-000001"),
            ("POST", "tokens/abc"),
            ("PUT", "servicerequestupdates"),
        ],
    )
    def test_a_wrong_method_is_405(
        self, o311: dict[str, Any], api: Open311, fmt: str, method: str, path: str
    ) -> None:
        answer = api.call(method, path, fmt, None, {})
        assert answer.status == 405, (method, path, answer.status)
        assert answer.headers.get("Allow"), "405 names the allowed methods"
        assert answer.errors()[0]["code"] in (405, "405")

    def test_error_code_matches_http_status(
        self, o311: dict[str, Any], api: Open311, fmt: str
    ) -> None:
        answer = api.get("services/NOPE", fmt)
        assert [int(e["code"]) for e in answer.errors()] == [404]

    def test_head_and_options_do_not_break(self, o311: dict[str, Any], api: Open311) -> None:
        head = api.client.head(BASE + "services.json")
        assert head.status_code in (200, 405)
        assert b"Traceback" not in head.content
