"""Open311 in the demo city: service definitions for a few matters, two matters kept out of
the service list, and an API key an app can submit with. DEMO ONLY: the key is printed.

``setup(actor=..., var_dir=..., base_url=...)`` is idempotent: attributes and listings are
written through open311.configure, which changes (and audits) nothing when they are as
described here; the key's clear text is kept in ``var_dir/demo-open311-key.txt`` (mode 0600)
and reused while that key is usable, else a new key is made and the old demo keys revoked.

No outside system (ExternalSystem) is configured: the demo's water company (``DC-WATERCO``)
is where one would go; the README explains how.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.db import transaction

from civitas.citypacks.demo.places import CITY
from civitas.kit.errors import CivitasError, NotFound
from civitas.matters.models import Matter
from civitas.open311 import configure
from civitas.open311.models import Datatype
from civitas.org import services as org_services
from civitas.org.models import ApiKey

KEY_NAME = "Open311 demo app"
KEY_SCOPES = ["appeals:submit"]
KEY_FILE = "demo-open311-key.txt"
REASON = "demo Open311 configuration"

LIFT = f"{CITY}-M01-01-01"
ROAD = f"{CITY}-M04-02-01"
STREETLIGHT = f"{CITY}-M04-02-04"
WATER_OUTAGE = f"{CITY}-M06-01-01"
GAS_LEAK = f"{CITY}-M06-03-01"
ALLOWANCE = f"{CITY}-M10-02-01"


def _values(*items: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"key": k, "name_en": en, "name_zh": zh} for k, en, zh in items]


# matter code → attributes (code, datatype, required, English, Chinese, extra fields)
ATTRIBUTES: dict[str, list[dict[str, Any]]] = {
    LIFT: [
        {
            "code": "WARNING",
            "datatype": Datatype.STRING,
            "variable": False,
            "description_en": "If someone is trapped in the lift, call 119 now.",
            "description_zh": "如有人被困在电梯内，请立即拨打119。",
        },
        {
            "code": "TRAPPED",
            "datatype": Datatype.SINGLE,
            "required": True,
            "description_en": "Is anyone inside the lift?",
            "description_zh": "电梯里有人吗？",
            "values": _values(
                ("no", "No", "没有"), ("yes", "Yes", "有"), ("unsure", "Not sure", "不确定")
            ),
        },
        {
            "code": "FLOOR",
            "datatype": Datatype.NUMBER,
            "required": True,
            "description_en": "On which floor did the lift stop?",
            "description_zh": "电梯停在几楼？",
            "datatype_description": "A whole number; 0 for the ground floor. / 整数，一楼填0。",
        },
        {
            "code": "BUILDING",
            "datatype": Datatype.STRING,
            "description_en": "Building and entrance (e.g. Block 7, entrance 2)",
            "description_zh": "楼栋和单元（如7栋2单元）",
        },
        {
            "code": "SINCE",
            "datatype": Datatype.DATETIME,
            "description_en": "Since when has it been out of service?",
            "description_zh": "从什么时候开始停运？",
        },
        {
            "code": "AFFECTED",
            "datatype": Datatype.MULTI,
            "description_en": "Who in the building cannot use the stairs?",
            "description_zh": "楼里哪些人无法走楼梯？",
            "values": _values(
                ("elderly", "Elderly people", "老人"),
                ("wheelchair", "Wheelchair users", "轮椅使用者"),
                ("prams", "Parents with prams", "推婴儿车的家长"),
                ("patients", "People who are ill", "病人"),
            ),
        },
    ],
    ROAD: [
        {
            "code": "SIZE",
            "datatype": Datatype.SINGLE,
            "required": True,
            "description_en": "How big is the damage?",
            "description_zh": "破损有多大？",
            "values": _values(
                ("small", "Smaller than a plate", "比盘子小"),
                ("medium", "Up to a car wheel", "车轮大小"),
                ("large", "Larger than a car wheel", "比车轮大"),
            ),
        },
        {
            "code": "DEPTH",
            "datatype": Datatype.NUMBER,
            "description_en": "About how deep, in centimetres?",
            "description_zh": "大约多深（厘米）？",
        },
        {
            "code": "WHERE",
            "datatype": Datatype.TEXT,
            "description_en": "Where exactly on the road (lane, near which shop or gate)?",
            "description_zh": "在道路的具体位置（哪条车道、靠近哪家商店或大门）？",
        },
    ],
    STREETLIGHT: [
        {
            "code": "POLE",
            "datatype": Datatype.STRING,
            "description_en": "Number on the lamp post, if you can see one",
            "description_zh": "灯杆编号（如能看到）",
        },
        {
            "code": "LAMPS",
            "datatype": Datatype.NUMBER,
            "description_en": "How many lamps in a row are out?",
            "description_zh": "连续几盏灯不亮？",
        },
        {
            "code": "SINCE",
            "datatype": Datatype.DATETIME,
            "description_en": "Since when?",
            "description_zh": "从什么时候开始？",
        },
    ],
    WATER_OUTAGE: [
        {
            "code": "EXTENT",
            "datatype": Datatype.SINGLE,
            "required": True,
            "description_en": "Who has no water?",
            "description_zh": "哪些地方停水？",
            "values": _values(
                ("flat", "Only my home", "只有我家"),
                ("building", "My whole building", "整栋楼"),
                ("area", "The whole neighbourhood", "整个片区"),
            ),
        },
        {
            "code": "SINCE",
            "datatype": Datatype.DATETIME,
            "required": True,
            "description_en": "Since when?",
            "description_zh": "从什么时候开始？",
        },
    ],
}

# matter code → listing (matters kept out of the service list, with why)
LISTINGS: dict[str, dict[str, Any]] = {
    LIFT: {
        "description_en": "A lift that has stopped or is unsafe in a residential building",
        "description_zh": "住宅楼电梯停运或存在安全隐患",
    },
    # Open311 is for non-emergencies: a gas leak is reported by phone (119 / the gas company).
    GAS_LEAK: {"listed": False},
    # Open311 requests are public; an application about a household's income is not.
    ALLOWANCE: {"listed": False},
}


def configure_services(*, actor: Any) -> int:
    """Write the demo's listings and attributes; returns the audit entries this made (0 when
    everything was already as described)."""
    from civitas.kit.models import AuditEntry

    codes = set(ATTRIBUTES) | set(LISTINGS)
    matters = {m.code: m for m in Matter.objects.filter(code__in=codes)}
    missing = sorted(codes - set(matters))
    if missing:
        raise NotFound(
            f"demo matters {', '.join(missing)} not found: import the demo city pack first",
            code="demo_city_missing",
        )
    before = AuditEntry.objects.count()
    with transaction.atomic():
        for code, listing in LISTINGS.items():
            configure.save_listing(actor=actor, matter=matters[code], reason=REASON, **listing)
        for code, attributes in ATTRIBUTES.items():
            for order, spec in enumerate(attributes, start=1):
                configure.save_attribute(
                    actor=actor, matter=matters[code], order=order, reason=REASON, **spec
                )
    return AuditEntry.objects.count() - before


def _write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, replacing it in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def _usable(clear: str) -> ApiKey | None:
    if not clear:
        return None
    try:
        key = org_services.authenticate_api_key(clear)
    except CivitasError:
        return None
    return key if set(KEY_SCOPES) <= set(key.scopes or []) and key.unit_id is None else None


def demo_api_key(*, actor: Any, var_dir: Path) -> tuple[str, Path, bool]:
    """(clear key, file it is kept in, whether it was made now)."""
    path = Path(var_dir) / KEY_FILE
    clear = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    key = _usable(clear)
    if key is not None:
        return clear, path, False
    with transaction.atomic():
        # Demo keys whose clear text is lost can no longer be handed out: revoke them.
        for old in ApiKey.objects.filter(name=KEY_NAME, revoked_at__isnull=True):
            org_services.revoke_api_key(actor=actor, key=old, reason="replaced by a new demo key")
        _, clear = org_services.create_api_key(actor=actor, name=KEY_NAME, scopes=KEY_SCOPES)
        _write_secret(path, clear)
    return clear, path, True


def setup(*, actor: Any, var_dir: Path, base_url: str) -> list[str]:
    """Configure Open311 for the demo city; the lines to print (with the clear key)."""
    configure_services(actor=actor)
    clear, path, _ = demo_api_key(actor=actor, var_dir=var_dir)
    base = base_url.rstrip("/")
    return [
        f"Open311 GeoReport v2 at {base}/ (jurisdiction_id {CITY}; discovery.json, services.xml)",
        f'API key "{KEY_NAME}" ({", ".join(KEY_SCOPES)}): {clear}',
        f"  (kept in {path}; public on this demo only)",
        f"Try: curl {base}/services/{LIFT}.json",
    ]
