from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civitas.org.models import Role, User
from tests import factories


@pytest.fixture
def people(city: dict[str, Any], _fast_passwords: None) -> dict[str, User]:
    """Staff at several levels of the test city, plus a resident."""
    admin = factories.member("admin", Role.ADMINISTRATOR, city["centre"], phone="+86 10 1111")
    return {
        "centre": factories.member("centre", Role.DISPATCHER, city["centre"]),
        "d1": factories.member("d1", Role.DISPATCHER, city["T-D1-centre"]),
        "d2": factories.member("d2", Role.DISPATCHER, city["T-D2-centre"]),
        "handler": factories.member(
            "handler", Role.UNIT_HANDLER, city["T-D2-housing"], phone="+86 10 2222"
        ),
        "leader": factories.member("leader", Role.UNIT_LEADER, city["T-D2-housing"]),
        "auditor": factories.member("auditor", Role.AUDITOR, city["centre"]),
        "resident": factories.member("resident", Role.RESIDENT),
        "admin": admin,
    }


def client_for(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c
