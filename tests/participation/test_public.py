from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django.utils import translation

from civitas.kit import redact
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


def test_scrub_is_the_kit_scrubber() -> None:
    # The scrubber lives in civitas.kit.redact (tests in tests/kit/test_redact.py); the
    # participation name stays for its callers.
    assert public.scrub is redact.scrub
    assert public.scrub("call 13812345678") == "call 138****5678"
