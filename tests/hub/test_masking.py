"""Masking by sensitivity: what a consumer without the clear value sees never gives the value
away (property-based over phones, credit codes and free text), and is always the same."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from civitas.hub import keys
from civitas.hub.masking import WITHHELD, mask
from civitas.hub.models import KeyRole, Sensitivity
from tests.hub import helpers

phones = st.one_of(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),  # mobile numbers
    st.from_regex(r"0[1-9][0-9]{1,2}-[0-9]{7,8}", fullmatch=True),  # landlines
    st.from_regex(r"\+86 1[3-9][0-9] [0-9]{4} [0-9]{4}", fullmatch=True),
    st.text(alphabet="0123456789 -+()", min_size=3, max_size=20),
)
credit_codes = st.one_of(
    st.integers(min_value=1, max_value=10**10 - 1).map(helpers.credit_code),
    st.text(alphabet=string.digits + string.ascii_uppercase, min_size=3, max_size=24),
)
texts = st.text(min_size=3, max_size=60)


def _gives_nothing_away(clear: str, shown: object) -> None:
    assert shown != clear
    assert not (isinstance(shown, str) and clear in shown), (clear, shown)


@settings(max_examples=300, deadline=None)
@given(phones)
def test_a_masked_phone_never_shows_the_number(phone: str) -> None:
    shown = mask(phone, sensitivity=Sensitivity.SENSITIVE, key_role=KeyRole.PHONE)
    _gives_nothing_away(phone, shown)
    digits = [c for c in phone if c.isdigit()]
    if isinstance(shown, str) and shown != WITHHELD:
        # at least four digits hidden, never more digits shown than there are
        assert shown.count("*") >= min(4, len(digits))
        assert sum(c.isdigit() for c in shown) <= max(0, len(digits) - 4)


@settings(max_examples=300, deadline=None)
@given(credit_codes)
def test_a_masked_credit_code_never_shows_the_code(code: str) -> None:
    _gives_nothing_away(
        code, mask(code, sensitivity=Sensitivity.SENSITIVE, key_role=KeyRole.CREDIT_CODE)
    )


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from(["", KeyRole.ADDRESS, KeyRole.DATE, KeyRole.GRID_CODE]))
def test_masked_text_never_shows_the_text(text: str, role: str) -> None:
    _gives_nothing_away(text, mask(text, sensitivity=Sensitivity.SENSITIVE, key_role=role))


@settings(max_examples=200, deadline=None)
@given(st.one_of(texts, phones, st.integers(), st.floats(allow_nan=False), st.booleans()))
def test_secret_values_are_withheld_and_clear_grants_show_them(value: object) -> None:
    assert mask(value, sensitivity=Sensitivity.SECRET) == WITHHELD
    assert mask(value, sensitivity=Sensitivity.SECRET, clear=True) == value
    assert mask(value, sensitivity=Sensitivity.SENSITIVE, clear=True) == value
    assert mask(value, sensitivity=Sensitivity.INTERNAL) == value


def test_the_usual_shapes() -> None:
    s = Sensitivity.SENSITIVE
    assert mask("13812345678", sensitivity=s, key_role=KeyRole.PHONE) == "138****5678"
    assert mask("87654321", sensitivity=s, key_role=KeyRole.PHONE) == "****4321"
    code = helpers.credit_code(42)
    assert (
        mask(code, sensitivity=s, key_role=KeyRole.CREDIT_CODE) == code[:2] + "*" * 12 + code[-4:]
    )
    assert mask("2026-10-05", sensitivity=s, key_role=KeyRole.DATE) == "2026"
    assert mask(500.0, sensitivity=s) == WITHHELD and mask(True, sensitivity=s) == WITHHELD
    assert mask(28.19456, sensitivity=s, key_role=KeyRole.LATITUDE) == 28.19
    assert mask("Wang Fang", sensitivity=s) == "W******"
    assert mask("a**", sensitivity=s) == WITHHELD  # masking it would show it unchanged
    assert mask(None, sensitivity=s) is None and mask("", sensitivity=s) == ""


def test_person_keys_pass_and_identity_numbers_never_do() -> None:
    number = helpers.person_id(7)
    pkey = keys.person_key(number)
    for sens in (Sensitivity.SENSITIVE, Sensitivity.SECRET):
        assert mask(pkey, sensitivity=sens, key_role=KeyRole.PERSON_ID) == pkey
        shown = mask(number, sensitivity=sens, key_role=KeyRole.PERSON_ID)
        _gives_nothing_away(number, shown)
