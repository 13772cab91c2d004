"""Converting values by type and deriving the standard keys, with every kind of problem."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.utils import translation

from civitas.hub import convert, keys
from civitas.hub.convert import Converter, ValueProblem
from civitas.hub.models import Dataset
from tests.hub import helpers


class TestValues:
    @pytest.mark.parametrize(
        ("text", "value"),
        [("12", 12), ("-3", -3), ("1,234", 1234), ("12.0", 12), ("+7", 7)],
    )
    def test_integer(self, text: str, value: int) -> None:
        assert convert.to_integer(text) == value

    @pytest.mark.parametrize("text", ["12.5", "abc", "1,23", "1e400x"])
    def test_not_integer(self, text: str) -> None:
        with pytest.raises(ValueProblem) as exc:
            convert.to_integer(text)
        assert exc.value.code == "not_integer"
        assert "whole number" in exc.value.message

    def test_decimal(self) -> None:
        assert convert.to_decimal("1,234.5") == 1234.5
        assert convert.to_decimal("-0.25") == -0.25
        for bad in ("1.2.3", "NaN", "Infinity", "ten"):
            with pytest.raises(ValueProblem) as exc:
                convert.to_decimal(bad)
            assert exc.value.code == "not_number"

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("yes", True),
            ("No", False),
            ("TRUE", True),
            ("false", False),
            ("1", True),
            ("0", False),
            ("是", True),
            ("否", False),
        ],
    )
    def test_boolean(self, text: str, value: bool) -> None:
        assert convert.to_boolean(text) is value

    def test_not_boolean(self) -> None:
        with pytest.raises(ValueProblem) as exc:
            convert.to_boolean("maybe")
        assert exc.value.code == "not_boolean" and "maybe" in exc.value.message

    @pytest.mark.parametrize(
        "text", ["2026-11-27", "2026/11/27", "2026年11月27日", "2026/1/5", "2026-11-27 00:00:00"]
    )
    def test_dates(self, text: str) -> None:
        assert convert.to_date(text) in (date(2026, 11, 27), date(2026, 1, 5))

    def test_date_problems(self) -> None:
        with pytest.raises(ValueProblem) as exc:
            convert.to_date("27.11.26")
        assert exc.value.code == "not_date"
        with pytest.raises(ValueProblem) as exc:
            convert.to_date("2026-02-30")
        assert exc.value.code == "no_such_date"
        with pytest.raises(ValueProblem) as exc:
            convert.to_date("2026-02-03 08:30")
        assert exc.value.code == "not_date" and "time of day" in exc.value.message

    def test_datetimes(self) -> None:
        # naive times are the city's local time (settings.TIME_ZONE)
        local = convert.to_datetime("2026-11-27 08:30")
        assert local.tzinfo is not None and (local.hour, local.minute) == (8, 30)
        assert convert.to_datetime("2026-11-27T08:30:15Z") == datetime(
            2026, 11, 27, 8, 30, 15, tzinfo=UTC
        )
        assert convert.to_datetime("2026年11月27日 08:30").day == 27
        assert convert.to_datetime("2026-11-27T08:30+0800").utcoffset().total_seconds() == 8 * 3600
        for bad, code in [("2026-11-27", "not_datetime"), ("2026-11-27 25:00", "no_such_time")]:
            with pytest.raises(ValueProblem) as exc:
                convert.to_datetime(bad)
            assert exc.value.code == code

    def test_phone(self) -> None:
        assert convert.to_phone("138-0000 1234") == "13800001234"
        assert convert.to_phone("+86 (731) 8888-1234") == "+867318888" + "1234"
        for bad in ("call me", "12", "+1-800-FLOWERS"):
            with pytest.raises(ValueProblem) as exc:
                convert.to_phone(bad)
            assert exc.value.code == "invalid_phone"

    def test_person_ids(self) -> None:
        number = helpers.person_id(7)
        assert convert.to_person_key(number.lower()) == keys.person_key(number)
        for bad in (
            number[:-1],
            number[:-1] + ("0" if number[-1] != "0" else "1"),
            "110105" + "19801341" + "0071",
        ):
            with pytest.raises(ValueProblem) as exc:
                convert.to_person_key(bad)
            assert exc.value.code == "invalid_person_id"
            assert bad not in exc.value.message and "not kept" in exc.value.message
        # a key is taken back only from a trusted source (the quarantine's corrections)
        key = keys.person_key(number)
        assert convert.to_person_key(key, trusted=True) == key
        with pytest.raises(ValueProblem):
            convert.to_person_key(key)

    @pytest.mark.django_db
    def test_fast_check_agrees_with_the_keys_module(self) -> None:
        """The loader checks numbers itself (the region look-up remembered) and computes the
        key with the hub's secret: exactly what keys.person_key gives, for good and bad."""
        import random

        from stdnum.cn import ric

        rng = random.Random(5)
        secret = keys._secret()
        for _ in range(300):
            region = rng.choice(["110105", "430121", "430102", "999999", "110101"])
            born = f"{rng.randint(1900, 2030)}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}"
            first = f"{region}{born}{rng.randint(0, 999):03d}"
            last = rng.choice([ric.calc_check_digit(first + "0"), "X", str(rng.randint(0, 9))])
            number = first + last
            try:
                expected = keys.person_key(number)
            except ValueError:
                expected = None
            try:
                got = convert.to_person_key(number, secret=secret)
            except ValueProblem:
                got = None
            assert got == expected, number

    def test_credit_codes(self) -> None:
        good = helpers.credit_code(3)
        assert convert.to_credit_code(good.lower()) == good
        with pytest.raises(ValueProblem, match="18 characters"):
            convert.to_credit_code(good[:-2])
        wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
        with pytest.raises(ValueProblem, match="check character"):
            convert.to_credit_code(wrong)

    def test_string_length(self) -> None:
        assert convert.to_string("abc", 3) == "abc"
        with pytest.raises(ValueProblem) as exc:
            convert.to_string("abcd", 3)
        assert exc.value.code == "too_long" and "at most 3" in exc.value.message

    def test_messages_in_chinese(self) -> None:
        with translation.override("zh-hans"), pytest.raises(ValueProblem) as exc:
            convert.to_boolean("maybe")
        assert exc.value.code == "not_boolean"


def good_row(**over: Any) -> dict[str, str]:
    row = {
        "credit_code": helpers.credit_code(1),
        "enterprise": "Shop 1",
        "address": "1 Elm Road",
        "legal_rep_id": helpers.person_id(1),
        "phone": "138 0000 0001",
        "inspected_on": "2026/10/01",
        "lat": "0.5",
        "lon": "0.5",
        "result": "pass",
        "fine": "500",
    }
    row.update(over)
    return row


@pytest.mark.django_db
class TestRows:
    def test_good_row_with_every_key(self, hub: dict[str, Any]) -> None:
        conv = Converter(hub["dataset"])
        chunk = conv.convert([(2, good_row())])
        assert not chunk.bad
        rec = chunk.good[0]
        assert rec.data["legal_rep_id"] == rec.person_key == keys.person_key(helpers.person_id(1))
        assert rec.credit_code == helpers.credit_code(1)
        assert rec.data["phone"] == "13800000001"
        assert rec.data["inspected_on"] == "2026-10-01" and rec.occurred_on == date(2026, 10, 1)
        assert rec.data["fine"] == 500.0
        assert rec.jurisdiction_path.endswith("/T-D1-S1-C1/")
        assert conv.stats["located_by_point"] == 1

    def test_every_problem_of_a_row_named_by_field(self, hub: dict[str, Any]) -> None:
        conv = Converter(hub["dataset"])
        bad_id = helpers.person_id(1)[:-1]
        chunk = conv.convert(
            [
                (
                    5,
                    good_row(
                        credit_code="123",
                        enterprise="",
                        legal_rep_id=bad_id,
                        phone="call",
                        inspected_on="soon",
                        lat="95",
                        fine="lots",
                    ),
                )
            ]
        )
        assert not chunk.good
        problems = {(p["field"], p["code"]) for p in chunk.bad[0].errors}
        assert problems == {
            ("credit_code", "invalid_credit_code"),
            ("enterprise", "required"),
            ("legal_rep_id", "invalid_person_id"),
            ("phone", "invalid_phone"),
            ("inspected_on", "not_date"),
            ("lat", "out_of_range"),
            ("fine", "not_number"),
        }
        # the invalid identity number is not kept with the bad row
        assert chunk.bad[0].values["legal_rep_id"] == ""
        assert bad_id not in str(chunk.bad[0])

    def test_valid_identity_number_kept_as_key_in_a_bad_row(self, hub: dict[str, Any]) -> None:
        chunk = Converter(hub["dataset"]).convert([(2, good_row(result=""))])
        assert chunk.bad[0].values["legal_rep_id"] == keys.person_key(helpers.person_id(1))

    def test_point_outside_the_area_and_half_points(self, hub: dict[str, Any]) -> None:
        street = helpers.make_dataset(
            code="t-street",
            owner=hub["market"],
            area=hub["city"]["T-D1-S1"],
            fields=helpers.INSPECTION_FIELDS,
        )
        chunk = Converter(street).convert(
            [
                (2, good_row(lat="0.5", lon="0.5")),  # inside T-D1-S1
                (3, good_row(lat="0.5", lon="3.5")),  # in district 2
                (4, good_row(lat="30", lon="100")),  # in no area at all
                (5, good_row(lat="", lon="0.5")),
            ]
        )
        assert [r.row_number for r in chunk.good] == [2]
        codes = {b.row_number: [(p["field"], p["code"]) for p in b.errors] for b in chunk.bad}
        assert codes == {
            3: [("lat", "outside_area")],
            4: [("lat", "outside_area")],
            5: [("lat", "half_point")],
        }

    def test_grid_code_and_address(self, hub: dict[str, Any]) -> None:
        ds = helpers.make_dataset(
            code="t-grid",
            owner=hub["street"],
            area=hub["city"]["T-D1"],
            fields=[
                ("grid", "string", "public", "grid_code", False),
                ("address", "string", "internal", "address", False),
                ("n", "integer", "public", "", True),
            ],
        )
        conv = Converter(ds)
        chunk = conv.convert(
            [
                (2, {"grid": "T-D1-S2-C1", "n": "1"}),
                (3, {"grid": "T-D2-S1-C1", "n": "1"}),  # outside district 1
                (4, {"grid": "NOPE", "n": "1"}),
                (5, {"address": "12 Elm 12 Street, near the market", "n": "1"}),
                (6, {"address": "somewhere unknown", "n": "1"}),
                (7, {"address": "somewhere unknown", "n": "2"}),
                (8, {"n": "3"}),
            ]
        )
        by_row = {r.row_number: r.jurisdiction_path for r in chunk.good}
        assert by_row[2].endswith("/T-D1-S2-C1/")
        assert by_row[5].endswith("/T-D1-S2/")
        assert by_row[6] == by_row[7] == by_row[8] == ""
        codes = {b.row_number: b.errors[0]["code"] for b in chunk.bad}
        assert codes == {3: "outside_area", 4: "unknown_area"}
        assert conv.stats == {
            "located_by_grid": 1,
            "located_by_address": 1,
            "address_not_found": 2,
            "no_area": 1,
        }
        assert len(conv._addresses) == 2  # one look-up per distinct address

    def test_unknown_fields_and_extra_cells(self, hub: dict[str, Any]) -> None:
        chunk = Converter(hub["dataset"]).convert(
            [(1, good_row(__unknown__="colour")), (2, good_row(__extra__="2"))]
        )
        assert [b.errors[0]["code"] for b in chunk.bad] == ["unknown_field", "extra_cells"]
        assert "__unknown__" not in chunk.bad[0].values

    def test_datetime_date_role(self, hub: dict[str, Any]) -> None:
        ds: Dataset = helpers.make_dataset(
            code="t-when",
            owner=hub["market"],
            area=hub["city"]["T"],
            fields=[
                ("at", "datetime", "public", "date", True),
                ("ok", "boolean", "public", "", False),
            ],
        )
        chunk = Converter(ds).convert([(2, {"at": "2026-11-27 23:30", "ok": "是"})])
        rec = chunk.good[0]
        assert rec.occurred_on == date(2026, 11, 27)
        assert rec.data["at"].startswith("2026-11-27T23:30:00") and rec.data["ok"] is True
