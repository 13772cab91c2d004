from __future__ import annotations

from typing import Any

import pytest

from civitas.appeals.models import Status
from civitas.assessment import rates, selectors
from civitas.kit import clock
from tests.assessment.conftest import LATER, h, handle, new_case, refresh


def line(table: selectors.Table, code: str) -> selectors.Line:
    return next(ln for ln in table.lines if ln.unit.code == code)


@pytest.mark.django_db
class TestHandCheckedMonth:
    def test_the_six_rates(self, month: dict[str, Any]) -> None:
        assert month["cases"]["D"].status == Status.DISPATCHED
        assert month["cases"]["D"].reopen_count == 1
        refresh()
        with clock.frozen(LATER):
            t = selectors.table(month["dispatcher"], group="departments", period="2026-11")
        ln = line(t, "T-D1-HOUSING")
        assert ln.counts["dispatched"] == 4
        assert ln.counts["rated"] == 4
        assert ln.counts["open_overdue"] == 1
        r = ln.rates
        assert r["response"] == pytest.approx(3 / 4)  # D: accepted late, then reopened
        assert r["resolution"] == pytest.approx(3 / 4)  # A, B, C solved of 4 ratings
        assert r["satisfaction"] == pytest.approx((2 + 0.8 * 1) / 4)
        assert r["on_time"] == pytest.approx(3 / (3 + 1))  # D open and overdue
        assert r["return"] == pytest.approx(0 / 4)
        assert r["redo"] == pytest.approx(1 / 4)  # D reopened, of 4 resolved at least once
        # 100 × (0.2·¾ + 0.3·¾ + 0.4·0.7 + 0.1·¾) − 100 × (0.1·0 + 0.1·¼)
        assert ln.score == pytest.approx(73.0 - 2.5)
        assert ln.rank == 1
        other = line(t, "T-D2-HOUSING")
        assert other.rank is None and other.score is None

    def test_late_acceptance_before_the_reopen(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = new_case(c)
        handle(c, a, accept_after=30, resolve_after=40)
        refresh()
        with clock.frozen(LATER):
            t = selectors.table(c["dispatcher"], group="departments", period="2026-11")
        assert line(t, "T-D1-HOUSING").rates["response"] == 0.0
        assert line(t, "T-D1-HOUSING").rates["on_time"] == 1.0

    def test_weights_come_from_settings(self, month: dict[str, Any], settings: Any) -> None:
        settings.CIVITAS_ASSESSMENT_WEIGHTS = {"satisfaction": 1.0, "response": 0, "resolution": 0}
        settings.CIVITAS_ASSESSMENT_BASIC_WEIGHT = 0.5
        refresh()
        with clock.frozen(LATER):
            t = selectors.table(month["dispatcher"], group="departments", period="2026-11")
        ln = line(t, "T-D1-HOUSING")
        assert ln.rates["satisfaction"] == pytest.approx((2 + 0.5) / 4)
        # satisfaction 1.0 and on_time 0.1 (default) remain positive weights
        expected = 100 * (1.0 * 2.5 / 4 + 0.1 * 3 / 4) / 1.1 - 100 * (0.1 * 0 + 0.1 * 1 / 4)
        assert ln.score == pytest.approx(round(expected, 2))


@pytest.mark.django_db
class TestOpenWork:
    def test_overdue_open_work_lowers_response_and_on_time(self, case_city: dict[str, Any]) -> None:
        c = case_city
        good = new_case(c)
        handle(c, good, accept_after=1, resolve_after=5)
        idle = new_case(c, minutes=5)  # dispatched, never accepted
        refresh()
        with clock.frozen(good.received_at + h(12)):
            early = line(
                selectors.table(c["dispatcher"], group="departments", period="2026-11"),
                "T-D1-HOUSING",
            )
        # Inside its response deadline the idle case is not judged yet.
        assert early.counts["awaiting"] == 1
        assert early.rates["response"] == 1.0
        assert early.rates["on_time"] == 1.0
        with clock.frozen(LATER):
            late = line(
                selectors.table(c["dispatcher"], group="departments", period="2026-11"),
                "T-D1-HOUSING",
            )
        assert idle.resolve_due is not None and idle.resolve_due < LATER
        assert late.counts["awaiting"] == 0 and late.counts["open_overdue"] == 1
        assert late.rates["response"] == pytest.approx(1 / 2)
        assert late.rates["on_time"] == pytest.approx(1 / (1 + 1))
        assert late.score is not None and early.score is not None
        assert late.score < early.score


class TestComposite:
    def test_missing_rates_renormalise_the_weights(self) -> None:
        r = {"response": 0.5, "resolution": None, "satisfaction": None, "on_time": 1.0}
        r |= {"return": None, "redo": None}
        w = rates.DEFAULT_WEIGHTS
        assert rates.composite(r, w) == round(100 * (0.2 * 0.5 + 0.1 * 1.0) / 0.3, 2)

    def test_nothing_to_judge(self) -> None:
        assert rates.composite(dict.fromkeys(rates.RATES), rates.DEFAULT_WEIGHTS) is None
