from __future__ import annotations

import pytest

from civitas.hub import keys


@pytest.mark.parametrize(
    "first17",
    [
        "43010219600101001",  # Changsha, Furong district: created in 1996, holder born in 1960
        "44030519550505002",  # Shenzhen, Nanshan district: created in 1990
        "81000019900101003",  # a Hong Kong residence permit
        "11010519491231002",
    ],
)
def test_real_region_codes_are_accepted_whatever_the_year_of_birth(first17: str) -> None:
    number = keys.complete_person_id(first17)
    assert keys.normalise_person_id(number.lower()) == number
    assert keys.is_person_key(keys.person_key(number))


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("4301021960010100", "18 characters"),
        ("43010219600101001Y", "17 digits and a digit or X"),
        ("99010219600101001", "region"),  # no province 99
        ("43010219601301001", "birth date"),  # month 13
        ("43010230000101001", "birth date"),  # born in the future
    ],
)
def test_bad_numbers_are_refused_with_the_reason(number: str, problem: str) -> None:
    if len(number) == 17:
        number = keys.complete_person_id(number)
    with pytest.raises(ValueError, match=problem):
        keys.normalise_person_id(number)


def test_a_wrong_check_character_is_a_typing_error() -> None:
    good = keys.complete_person_id("43010219600101001")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(ValueError, match="check character"):
        keys.normalise_person_id(bad)


def test_credit_codes_are_checked() -> None:
    good = keys.complete_credit_code("91430100MA4L00001")
    assert keys.normalise_credit_code(good.lower()) == good
    with pytest.raises(ValueError, match="check character"):
        keys.normalise_credit_code(good[:17] + ("0" if good[17] != "0" else "1"))
    with pytest.raises(ValueError, match="18 characters"):
        keys.normalise_credit_code(good[:10])
