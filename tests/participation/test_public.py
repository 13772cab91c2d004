from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django.utils import translation

from civitas.participation import public
from tests.factories import UserFactory


@pytest.mark.django_db
def test_pseudonym_is_stable_and_distinct_and_reveals_nothing() -> None:
    a = UserFactory(username="zhangsan", first_name="San", last_name="Zhang")
    b = UserFactory(username="lisi")
    name = public.pseudonym(a)
    assert name == public.pseudonym(a) == public.pseudonym(a.pk)
    assert name.startswith("Resident ")
    assert len(name.split()[-1]) == 4
    assert name != public.pseudonym(b)
    for secret in ("zhangsan", "Zhang", "San"):
        assert secret not in name
    # The tag is not the id itself: neighbouring ids get unrelated tags.
    assert public.pseudonym_tag(1) != "0001"
    assert public.pseudonym_tag(a.pk).lower() not in f"{a.pk:04x}"


@pytest.mark.django_db
def test_pseudonym_follows_language() -> None:
    a = UserFactory()
    tag = public.pseudonym_tag(a)
    with translation.override("zh-hans"):
        zh = public.pseudonym(a)
    assert tag in zh


def test_pseudonym_depends_on_the_secret() -> None:
    with override_settings(SECRET_KEY="a" * 50):
        one = public.pseudonym_tag(42)
    with override_settings(SECRET_KEY="b" * 50):
        two = public.pseudonym_tag(42)
    assert one != two


def test_pseudonym_of_unsaved_user_is_refused() -> None:
    class Unsaved:
        pk: Any = None

    with pytest.raises(ValueError):
        public.pseudonym(Unsaved())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("call me 13812345678 please", "call me 138****5678 please"),
        ("电话138-1234-5678谢谢", "电话138****5678谢谢"),
        ("+86 139 1234 5678", "+86 139****5678"),
        ("office 010-62345678", "office 010-****5678"),
        ("id 11010519491231002X end", "id 110*************2X end"),
        ("old 110105491231002", "old 110**********02"),
        ("mail zhang.san@example.com now", "mail z***@*** now"),
        (
            "nothing here: 30 trees, 2024 plan, room 1203",
            "nothing here: 30 trees, 2024 plan, room 1203",
        ),
        ("", ""),
    ],
)
def test_scrub(raw: str, expected: str) -> None:
    assert public.scrub(raw) == expected


def test_scrub_hides_every_digit_run_of_a_phone() -> None:
    out = public.scrub("a 13812345678 b 13987654321")
    assert "12345678" not in out and "87654321" not in out
    assert out == "a 138****5678 b 139****4321"
