"""Property-based tests (hypothesis) of the services that take text from outside.

Each property holds for every input hypothesis makes up, including the odd ones: control
characters, NUL, right-to-left marks, emoji, very long text. The example counts are small so
the file stays fast; ``CIVITAS_FUZZ_EXAMPLES`` raises them for a deeper run.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from civitas.appeals import intake
from civitas.appeals.models import Appeal
from civitas.kit import durations, netguard, redact
from civitas.kit.errors import CivitasError
from civitas.kit.models import AuditEntry
from civitas.kit.paging import MAX_OFFSET, LimitOffsetPagination
from civitas.kit.spreadsheet import FORMULA_STARTS, csv_cell

N = int(os.environ.get("CIVITAS_FUZZ_EXAMPLES", "0")) or None
FAST = settings(max_examples=N or 100, deadline=None)
SLOW = settings(
    max_examples=N or 10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any text, control characters and NUL included (surrogates cannot be stored anywhere).
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=300)


# -- spreadsheets -------------------------------------------------------------------------------


@FAST
@given(TEXT)
def test_csv_cell_never_starts_a_formula(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.startswith(FORMULA_STARTS)
    # Nothing is lost: the quote is the only change.
    assert cell in (text, "'" + text)


@FAST
@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()))
def test_csv_cell_keeps_numbers_readable(value: Any) -> None:
    cell = csv_cell(value)
    if isinstance(value, bool):
        assert cell in ("true", "false")
    elif value is None:
        assert cell == ""
    elif isinstance(value, int):
        assert int(cell) == value  # exactly, also past 2**53 where a float would round
    else:
        assert float(cell) == value or (math.isinf(value) and "inf" in cell)


# -- masking ------------------------------------------------------------------------------------

MOBILE = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
ID_NUMBER = st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True)
FILLER = st.text(st.sampled_from(list("abc 投诉电话：，。-_()")), max_size=30)


@FAST
@given(FILLER, MOBILE, FILLER, ID_NUMBER, FILLER)
def test_scrub_never_leaks_a_phone_or_id_number(
    a: str, phone: str, b: str, id_number: str, c: str
) -> None:
    text = f"{a} {phone} {b} {id_number} {c}"
    shown = redact.scrub(text)
    assert phone not in shown and id_number not in shown
    # Neither does a run of 8 of its digits survive (the masks keep only ends).
    for secret in (phone, id_number):
        assert secret[3:11] not in re.sub(r"\D", "", shown.replace("*", "|")) or "*" in shown


@FAST
@given(TEXT)
def test_scrub_and_anonymise_take_any_text(text: str) -> None:
    assert isinstance(redact.scrub(text), str)
    assert isinstance(redact.anonymise(text), str)


@FAST
@given(FILLER, MOBILE, FILLER)
def test_anonymise_leaves_no_digit_of_a_phone(a: str, phone: str, b: str) -> None:
    out = redact.anonymise(f"{a} {phone} {b}")
    assert phone not in out and phone[-4:] not in out


# -- durations ------------------------------------------------------------------------------------


@FAST
@given(TEXT)
def test_duration_parsing_refuses_cleanly_or_gives_a_positive_finite_amount(text: str) -> None:
    try:
        d = durations.parse(text)
    except durations.BadDuration as exc:
        assert exc.reason in ("not_a_duration", "not_positive", "too_large")
        return
    assert math.isfinite(d.amount) and d.amount > 0 and d.unit in durations.UNITS


@FAST
@given(st.floats(min_value=0.01, max_value=1e5), st.sampled_from(["m", "h", "d", "wd"]))
def test_durations_round_trip(amount: float, unit: str) -> None:
    amount = round(amount, 2)
    assume(amount > 0)
    d = durations.parse(f"{amount}{unit}")
    assert durations.parse(str(d)) == d


def test_an_absurd_duration_is_refused() -> None:
    with pytest.raises(durations.BadDuration):
        durations.parse("9" * 400 + "h")


# -- URLs clients give us -----------------------------------------------------------------------


@FAST
@given(st.text(max_size=200))
def test_client_urls_are_http_without_credentials(url: str) -> None:
    try:
        kept = netguard.client_url(url)
    except CivitasError:
        return
    assert kept.lower().startswith(("http://", "https://"))
    assert "@" not in kept.split("/", 3)[2] and len(kept) <= netguard.MAX_CLIENT_URL
    assert not any(ord(ch) < 32 or ch.isspace() for ch in kept)


# -- paging ---------------------------------------------------------------------------------------


@FAST
@given(st.integers(min_value=-(2**70), max_value=2**70), st.integers(-5, 2000))
def test_page_offsets_are_bounded(offset: int, limit: int) -> None:
    try:
        page = LimitOffsetPagination.Input(offset=offset, limit=limit)
    except ValidationError:
        assert not (0 <= offset <= MAX_OFFSET) or not (1 <= limit <= 500)
        return
    assert 0 <= page.offset <= MAX_OFFSET and 1 <= page.limit <= 500


# -- intake: no half-written records ------------------------------------------------------------


def counts() -> tuple[int, int]:
    return Appeal.objects.count(), AuditEntry.objects.count()


@pytest.mark.django_db
@SLOW
@given(
    text=st.text(st.characters(blacklist_categories=["Cs"]), max_size=3000),
    title=TEXT,
    address=st.text(st.characters(blacklist_categories=["Cs"]), max_size=1000),
    name=TEXT,
    phone=st.text(st.characters(blacklist_categories=["Cs"]), max_size=40),
    lat=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_intake_writes_a_whole_appeal_or_nothing(
    city: dict[str, Any],
    text: str,
    title: str,
    address: str,
    name: str,
    phone: str,
    lat: float | None,
) -> None:
    before = counts()
    try:
        with transaction.atomic():
            made = intake.submit(
                actor="fuzz",
                data=intake.AppealIn(
                    city="T",
                    text=text,
                    title=title,
                    address=address,
                    lat=lat,
                    lon=0.5 if lat is not None else None,
                    contact=intake.ContactIn(name=name, phone=phone),
                ),
            )
    except CivitasError as exc:
        assert exc.status < 500 and exc.message
        assert counts() == before, "a refused appeal left rows behind"
        return
    after = counts()
    assert after[0] == before[0] + 1 and after[1] > before[1]
    stored = Appeal.objects.get(pk=made.appeal.pk)
    assert stored.text.strip() and len(stored.ticket) > 4
    assert re.fullmatch(r"T-\d{8}-\d{6,}", stored.ticket), stored.ticket
