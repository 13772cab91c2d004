"""geo.signals.subtree_moved: sent once per move, after the subtree is re-pathed, inside the
caller's transaction (a receiver's failure undoes the move)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.geo import services
from civitas.geo.models import Jurisdiction
from civitas.geo.signals import subtree_moved

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard() -> Any:
    """Every subtree_moved sent during the test, with the paths stored when it was sent."""
    got: list[dict[str, Any]] = []

    def listen(sender: Any, **kw: Any) -> None:
        stored = dict(
            Jurisdiction.objects.filter(code__startswith="T-D1-S1").values_list("code", "path")
        )
        got.append(
            {
                "sender": sender,
                "in_atomic": transaction.get_connection().in_atomic_block,
                "stored": stored,
                **kw,
            }
        )

    subtree_moved.connect(listen, dispatch_uid="test.heard")
    yield got
    subtree_moved.disconnect(dispatch_uid="test.heard")


def move(
    city: dict[str, Any], code: str, parent: str, *, name_en: str | None = None
) -> Jurisdiction:
    j = city[code]
    return services.save_jurisdiction(
        actor="test",
        code=code,
        level=j.level,
        name_en=name_en or j.name_en,
        name_zh=j.name_zh,
        parent=city[parent],
        boundary=j.boundary,
        existing=j,
    )


def test_a_move_is_announced_after_the_subtree_is_repathed(
    city: dict[str, Any], heard: list[dict[str, Any]]
) -> None:
    with transaction.atomic():
        moved = move(city, "T-D1-S1", "T-D2")
    (sent,) = heard
    assert sent["sender"] is Jurisdiction and sent["jurisdiction"] == moved
    assert (sent["old_path"], sent["new_path"]) == ("/T/T-D1/T-D1-S1/", "/T/T-D2/T-D1-S1/")
    assert sent["in_atomic"]
    # the descendants already carry the new path when the receivers run
    assert sent["stored"]["T-D1-S1-C1"] == "/T/T-D2/T-D1-S1/T-D1-S1-C1/"
    assert all(p.startswith("/T/T-D2/T-D1-S1/") for p in sent["stored"].values())


def test_no_announcement_without_a_new_path(
    city: dict[str, Any], heard: list[dict[str, Any]]
) -> None:
    with transaction.atomic():
        move(city, "T-D1-S1", "T-D1", name_en="Renamed street")  # same parent: same path
        services.save_jurisdiction(
            actor="test",
            code="T-D1-S1-C9",
            level=city["T-D1-S1-C1"].level,
            name_en="New community",
            name_zh="新社区",
            parent=city["T-D1-S1"],
        )
    assert heard == []


def test_a_failing_receiver_undoes_the_move(city: dict[str, Any]) -> None:
    def refuse(sender: Any, **kw: Any) -> None:
        raise RuntimeError("cannot follow the move")

    subtree_moved.connect(refuse, dispatch_uid="test.refuse")
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            move(city, "T-D1-S1-C1", "T-D1-S2")
    finally:
        subtree_moved.disconnect(dispatch_uid="test.refuse")
    assert Jurisdiction.objects.get(code="T-D1-S1-C1").path == "/T/T-D1/T-D1-S1/T-D1-S1-C1/"
