"""Factories for the city model. Geometry is built in code: squares on a grid."""

from __future__ import annotations

from typing import Any

import factory
from django.db import transaction

from civitas.geo import services as geo_services
from civitas.geo.models import Jurisdiction, Level
from civitas.matters import services as matter_services
from civitas.matters.models import Matter
from civitas.org import services as org_services
from civitas.org.models import Role, Unit, UnitKind, User


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """A GeoJSON rectangle from lon x0..x1 and lat y0..y1."""
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def square(x0: float, y0: float, size: float) -> dict[str, Any]:
    return rect(x0, y0, x0 + size, y0 + size)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"person{n}")
    display_name = factory.Faker("name")
    password = factory.django.Password("correct horse battery staple")


def levels() -> dict[str, Level]:
    spec = [
        ("city", "City", "市"),
        ("district", "District", "区"),
        ("street", "Street", "街道"),
        ("community", "Community", "社区"),
    ]
    return {
        code: geo_services.save_level(code=code, rank=i, name_en=en, name_zh=zh)
        for i, (code, en, zh) in enumerate(spec)
    }


def small_city() -> dict[str, Any]:
    """A city of 2 districts x 2 streets x 2 communities, each a square, nested exactly.

    City T covers lon 0..4, lat 0..2. District D1 is lon 0..2, D2 lon 2..4.
    """
    with transaction.atomic():
        lv = levels()
        made: dict[str, Any] = {"levels": lv}
        city = geo_services.save_jurisdiction(
            actor="test",
            code="T",
            level=lv["city"],
            name_en="Testville",
            name_zh="测试市",
            boundary=rect(0, 0, 4, 2),
        )
        made["T"] = city
        for d in range(2):
            dcode = f"T-D{d + 1}"
            district = geo_services.save_jurisdiction(
                actor="test",
                code=dcode,
                level=lv["district"],
                parent=city,
                name_en=f"North {d + 1} District",
                name_zh=f"北{d + 1}区",
                aliases=[f"A{d + 1}"],
                boundary=rect(2 * d, 0, 2 * d + 2, 2),
            )
            made[dcode] = district
            for s in range(2):
                scode = f"{dcode}-S{s + 1}"
                street = geo_services.save_jurisdiction(
                    actor="test",
                    code=scode,
                    level=lv["street"],
                    parent=district,
                    name_en=f"Elm {d + 1}{s + 1} Street",
                    name_zh=f"榆树{d + 1}{s + 1}街道",
                    boundary=rect(2 * d + s, 0, 2 * d + s + 1, 2),
                )
                made[scode] = street
                for c in range(2):
                    ccode = f"{scode}-C{c + 1}"
                    made[ccode] = geo_services.save_jurisdiction(
                        actor="test",
                        code=ccode,
                        level=lv["community"],
                        parent=street,
                        name_en=f"Oak {d + 1}{s + 1}{c + 1} Community",
                        name_zh=f"橡树{d + 1}{s + 1}{c + 1}社区",
                        boundary=square(2 * d + s, c, 1),
                    )
        made["centre"] = org_services.save_unit(
            actor="test",
            code="T-CENTRE",
            kind=UnitKind.CENTRE,
            name_en="City Service Centre",
            name_zh="市12345服务中心",
            jurisdiction=city,
        )
        for d in range(2):
            dcode = f"T-D{d + 1}"
            made[f"{dcode}-centre"] = org_services.save_unit(
                actor="test",
                code=f"{dcode}-CENTRE",
                kind=UnitKind.CENTRE,
                name_en=f"District {d + 1} Centre",
                name_zh=f"{d + 1}区中心",
                jurisdiction=made[dcode],
            )
            made[f"{dcode}-housing"] = org_services.save_unit(
                actor="test",
                code=f"{dcode}-HOUSING",
                kind=UnitKind.DEPARTMENT,
                department_type="housing",
                name_en=f"District {d + 1} Housing Bureau",
                name_zh=f"{d + 1}区住建局",
                jurisdiction=made[dcode],
            )
            for s in range(2):
                scode = f"{dcode}-S{s + 1}"
                made[f"{scode}-office"] = org_services.save_unit(
                    actor="test",
                    code=f"{scode}-OFFICE",
                    kind=UnitKind.GOVERNMENT,
                    department_type="street_office",
                    name_en=f"Street {d + 1}{s + 1} Office",
                    name_zh=f"{d + 1}{s + 1}街道办",
                    jurisdiction=made[scode],
                )
        root = matter_services.save_matter(
            actor="test", catalogue="T", code="T-M1", name_en="Housing", name_zh="住房"
        )
        mid = matter_services.save_matter(
            actor="test",
            catalogue="T",
            code="T-M1-1",
            name_en="Property",
            name_zh="物业",
            parent=root,
        )
        made["leaf"] = matter_services.save_matter(
            actor="test",
            catalogue="T",
            code="T-M1-1-1",
            name_en="Lift out of service",
            name_zh="电梯故障",
            parent=mid,
            keywords=["lift", "电梯"],
            deadlines={
                "urgent": {"respond": "2h", "resolve": "24h"},
                "normal": {"respond": "24h", "resolve": "15wd"},
            },
            responsible={"district": "housing", "street": "street_office"},
        )
    return made


def water_matter(
    city: dict[str, Any], *, keywords: tuple[str, ...] = ("water", "供水"), listed: bool = False
) -> Matter:
    """A second leaf beside the small city's lift matter (same parent), optionally with a
    district entry in the responsibility list like the lift's."""
    with transaction.atomic():
        water = matter_services.save_matter(
            actor="test",
            catalogue="T",
            code="T-M1-1-2",
            name_en="Water supply",
            name_zh="供水",
            parent=city["leaf"].parent,
            keywords=list(keywords),
            deadlines={"normal": {"respond": "24h", "resolve": "15wd"}},
            responsible={"district": "housing"},
        )
        if listed:
            org_services.save_responsibility(
                actor="test",
                reason="setup",
                matter=water,
                level=city["levels"]["district"],
                city="T",
                unit_type="housing",
            )
    city["water"] = water
    return water


def member(username: str, role: str, unit: Unit | None = None, **extra: Any) -> User:
    user = UserFactory(username=username, **extra)
    with transaction.atomic():
        org_services.add_membership(actor="test", user=user, role=role, unit=unit)
    return user


def jurisdiction(code: str) -> Jurisdiction:
    return Jurisdiction.objects.get(code=code)


def matter(code: str) -> Matter:
    return Matter.objects.get(code=code)


__all__ = ["Role", "UnitKind", "member", "small_city", "square", "water_matter"]
