from __future__ import annotations

from typing import Any

import pytest

from civitas.appeals import services
from civitas.assessment import selectors
from civitas.kit import clock
from civitas.kit.errors import Forbidden, InvalidInput
from tests.appeals.conftest import fresh
from tests.assessment.conftest import LATER, at, h, handle, new_case, refresh


def redispatch(c: dict[str, Any], a: Any, unit: str, after: float = 0.1) -> Any:
    at(h(after), services.dispatch, actor=c["dispatcher"], appeal=fresh(a), unit=c[unit])
    return fresh(a)


def codes(t: selectors.Table) -> list[tuple[int | None, str]]:
    return [(ln.rank, ln.unit.code) for ln in t.lines]


@pytest.mark.django_db
class TestStreetRanking:
    def test_order_returns_and_redo(self, month: dict[str, Any]) -> None:
        c = month
        # Street 1 office: two cases, both prompt and satisfied.
        for i in range(2):
            a = redispatch(c, new_case(c, minutes=100 + i), "T-D1-S1-office")
            handle(
                c, a, accept_after=1, resolve_after=10, rating="satisfied", handler="street_handler"
            )
        # Street 2 office: one case accepted late, rated dissatisfied (reopened = redo) ...
        b = redispatch(c, new_case(c, lon=1.5, minutes=110), "T-D1-S2-office")
        handle(
            c,
            b,
            accept_after=30,
            resolve_after=40,
            rating="dissatisfied",
            solved=False,
            handler="street2",
        )
        # ... and one it returned (the centre then arbitrates it to street 1).
        r = redispatch(c, new_case(c, lon=1.5, minutes=120), "T-D1-S2-office")
        at(h(1), services.return_case, actor=c["street2"], appeal=fresh(r), reason="not ours")
        at(
            h(2),
            services.arbitrate,
            actor=c["dispatcher"],
            appeal=fresh(r),
            unit=c["T-D1-S1-office"],
            reason="the street is responsible",
        )
        refresh()
        with clock.frozen(LATER):
            t = selectors.table(c["dispatcher"], group="streets", period="2026-11")
        assert codes(t)[:2] == [(1, "T-D1-S1-OFFICE"), (2, "T-D1-S2-OFFICE")]
        s1, s2 = t.lines[0], t.lines[1]
        assert s1.counts["dispatched"] == 3 and s1.counts["returned"] == 0
        assert s2.counts["dispatched"] == 1 and s2.counts["returned"] == 1
        assert s2.rates["return"] == pytest.approx(1 / (1 + 1))
        assert s2.rates["redo"] == pytest.approx(1 / 1)
        assert s2.rates["response"] == pytest.approx(0 / 1)
        assert s1.rates["satisfaction"] == pytest.approx(2 / 2)
        # Unranked units (no cases) come last.
        assert {ln.rank for ln in t.lines[2:]} == {None}
        # Departments are ranked apart.
        deps = selectors.table(c["dispatcher"], group="departments", period="2026-11")
        assert [ln.unit.code for ln in deps.lines if ln.rank] == ["T-D1-HOUSING"]

    def test_change_against_the_previous_month(self, month: dict[str, Any]) -> None:
        c = month
        dec = new_case(c, minutes=60 * 24 * 30)  # 2 December
        handle(c, dec, accept_after=24 * 30 + 1, resolve_after=24 * 30 + 5, rating="satisfied")
        refresh()
        with clock.frozen(LATER):
            t = selectors.table(c["dispatcher"], group="departments", period="2026-12")
        ln = next(x for x in t.lines if x.unit.code == "T-D1-HOUSING")
        assert t.previous.label == "2026-11"
        assert ln.previous_score == pytest.approx(70.5)
        assert ln.score == pytest.approx(100.0)
        assert ln.change == pytest.approx(29.5)
        assert ln.previous_rank == 1

    def test_ties_share_a_rank(self) -> None:
        lines = [
            selectors.Line(unit=None, counts={}, rates={}, score=s)  # type: ignore[arg-type]
            for s in (90.0, 80.0, 90.0, None)
        ]
        selectors._rank(lines, "score", "rank")
        assert [ln.rank for ln in lines] == [1, 3, 1, None]


@pytest.mark.django_db
class TestScope:
    def test_a_district_sees_its_own_units(self, month: dict[str, Any]) -> None:
        refresh()
        with clock.frozen(LATER):
            mine = selectors.table(month["d1_dispatcher"], group="departments", period="2026-11")
            theirs = selectors.table(month["d2_dispatcher"], group="departments", period="2026-11")
            city = selectors.table(month["analyst"], group="departments", period="2026-11")
        assert [ln.unit.code for ln in mine.lines] == ["T-D1-HOUSING"]
        assert mine.lines[0].counts["dispatched"] == 4
        assert [ln.unit.code for ln in theirs.lines] == ["T-D2-HOUSING"]
        assert theirs.lines[0].counts["dispatched"] == 0
        assert {ln.unit.code for ln in city.lines} == {"T-D1-HOUSING", "T-D2-HOUSING"}

    def test_handlers_may_not_read_the_assessment(self, month: dict[str, Any]) -> None:
        with pytest.raises(Forbidden):
            selectors.table(month["handler"], group="streets")

    def test_bad_input(self, month: dict[str, Any]) -> None:
        with pytest.raises(InvalidInput):
            selectors.table(month["dispatcher"], group="parks")
        with pytest.raises(InvalidInput):
            selectors.table(month["dispatcher"], period="2026-13")
        assert selectors.parse_period("2026-02").last.day == 28
        assert selectors.parse_period("2026-11-05").previous().label == "2026-11-04"
        assert selectors.parse_period("2026-01").previous().label == "2025-12"
