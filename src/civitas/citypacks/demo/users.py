"""Demo sign-ins, one or more for every role. DEMO ONLY: the passwords are public.

Never run this against a database that real people use.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from civitas.citypacks.demo.places import CITY
from civitas.kit.errors import NotFound
from civitas.org import services as org_services
from civitas.org.models import Role, Unit, User

SUPERUSER = "admin"
SUPERUSER_ROLE = "superuser"

# (username, role, unit code or "" for none, English display name, Chinese display name)
DEMO_USERS: list[tuple[str, str, str, str, str]] = [
    ("resident", Role.RESIDENT, "", "Demo resident", "演示居民"),
    ("operator", Role.HOTLINE_OPERATOR, f"{CITY}-12345", "Hotline operator", "话务员"),
    ("dispatcher", Role.DISPATCHER, f"{CITY}-12345", "City dispatcher", "市中心派单员"),
    (
        "dispatcher-d01",
        Role.DISPATCHER,
        f"{CITY}-D01-CENTRE",
        "District dispatcher",
        "区分中心派单员",
    ),
    (
        "handler",
        Role.UNIT_HANDLER,
        f"{CITY}-D01-HOUSING",
        "Housing bureau handler",
        "区住建局承办人",
    ),
    (
        "handler-street",
        Role.UNIT_HANDLER,
        f"{CITY}-D01-S01-OFFICE",
        "Street office handler",
        "街道办承办人",
    ),
    ("leader", Role.UNIT_LEADER, f"{CITY}-D01-S01-OFFICE", "Street office leader", "街道办负责人"),
    ("gridworker", Role.GRID_WORKER, f"{CITY}-D01-S01-C01-GRID", "Grid worker", "网格员"),
    ("mediator", Role.MEDIATOR, f"{CITY}-D01-S01-MEDIATION", "People's mediator", "人民调解员"),
    (
        "mediator-community",
        Role.MEDIATOR,
        f"{CITY}-D01-S01-C01-CC",
        "Community mediator",
        "社区调解员",
    ),
    (
        "mediator-district",
        Role.MEDIATOR,
        f"{CITY}-D01-CENTRE",
        "District mediation centre mediator",
        "区矛盾纠纷调处中心调解员",
    ),
    ("volunteer", Role.RESIDENT, "", "Demo volunteer", "演示志愿者"),
    ("analyst", Role.ANALYST, f"{CITY}-12345", "City analyst", "数据分析员"),
    (
        "steward",
        Role.DATA_STEWARD,
        f"{CITY}-ENVIRONMENT",
        "Environment data steward",
        "生态环境局数据专员",
    ),
    (
        "steward-market",
        Role.DATA_STEWARD,
        f"{CITY}-MARKET-SUPERVISION",
        "Market supervision data steward",
        "市场监管局数据专员",
    ),
    (
        "steward-traffic",
        Role.DATA_STEWARD,
        f"{CITY}-PUBLIC-SECURITY",
        "Traffic police data steward",
        "公安交警数据专员",
    ),
    (
        "analyst-street",
        Role.ANALYST,
        f"{CITY}-D01-S01-OFFICE",
        "Street office analyst",
        "街道数据分析员",
    ),
    ("auditor", Role.AUDITOR, f"{CITY}-12345", "Auditor", "审计员"),
    ("administrator", Role.ADMINISTRATOR, f"{CITY}-12345", "City administrator", "市系统管理员"),
]


def demo_password(role: str) -> str:
    return f"demo-{role}-2026"


def _ensure_user(username: str, password: str, display_name: str, **flags: bool) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username)
    user.display_name = display_name
    user.is_active = True
    for name, value in flags.items():
        setattr(user, name, value)
    if not user.pk or not user.check_password(password):
        user.set_password(password)
    user.save()
    return user


def create_demo_users(*, actor: Any) -> list[tuple[str, str, str, str]]:
    """Create (or reset) the demo sign-ins; return (username, password, role, unit code).

    Idempotent: running it again changes nothing but passwords someone changed. Needs the
    demo city imported first (the staff belong to its units).
    """
    codes = {unit for _, _, unit, _, _ in DEMO_USERS if unit}
    units = {u.code: u for u in Unit.objects.filter(code__in=codes)}
    missing = sorted(codes - set(units))
    if missing:
        raise NotFound(
            f"demo units {', '.join(missing)} not found: import the demo city pack first "
            "(civitas city build demo PACK && civitas city import PACK)",
            code="demo_city_missing",
        )
    logins: list[tuple[str, str, str, str]] = []
    with transaction.atomic():
        for username, role, unit_code, name_en, name_zh in DEMO_USERS:
            password = demo_password(role)
            user = _ensure_user(username, password, f"{name_en} {name_zh}")
            org_services.add_membership(
                actor=actor,
                user=user,
                role=role,
                unit=units.get(unit_code),
                reason="demo sign-in",
            )
            logins.append((username, password, str(role), unit_code))
        password = demo_password(SUPERUSER)
        _ensure_user(
            SUPERUSER, password, "Demo superuser 演示超级管理员", is_staff=True, is_superuser=True
        )
        logins.append((SUPERUSER, password, SUPERUSER_ROLE, ""))
    return logins
