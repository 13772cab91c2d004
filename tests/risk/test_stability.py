"""Social stability risk assessments: the level rule, the workflow, permissions, the audit."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from civitas.kit import audit, clock
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.org.models import User
from civitas.risk import stability
from civitas.risk.models import Level, RiskItem, StabilityAssessment
from tests.racing import needs_postgres, race
from tests.risk.stability_fixtures import (  # noqa: F401
    FINDINGS,
    case_city,
    draft,
    item,
    ssa_city_fixture,
    submit,
)

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)


def scores(low: int, *, others: int = 5) -> dict[str, int | None]:
    """Legality scores ``low``; the other three ``others``."""
    return {"legality": low, **dict.fromkeys(stability.DIMENSIONS[1:], others)}


def fresh(a: StabilityAssessment) -> StabilityAssessment:
    return StabilityAssessment.objects.get(pk=a.pk)


class TestTheRule:
    @pytest.mark.parametrize(
        ("lowest", "level"),
        [(1, "high"), (2, "high"), (3, "medium"), (4, "low"), (5, "low")],
    )
    def test_the_lowest_score_decides_without_opposition(self, lowest: int, level: str) -> None:
        assert stability.level_by_rule(scores(lowest), None) == level
        assert stability.level_by_rule(scores(lowest), Fraction(0)) == level

    @pytest.mark.parametrize("dimension", stability.DIMENSIONS)
    def test_any_dimension_counts(self, dimension: str) -> None:
        s: dict[str, int | None] = dict.fromkeys(stability.DIMENSIONS, 5)
        s[dimension] = 2
        assert stability.level_by_rule(s, None) == "high"
        s[dimension] = 3
        assert stability.level_by_rule(s, None) == "medium"

    @pytest.mark.parametrize(
        ("against", "of", "level"),
        [
            (0, 100, "low"),
            (9, 100, "low"),
            (999, 10000, "low"),  # 9.99 %
            (1, 10, "medium"),  # exactly 10 %
            (10, 100, "medium"),
            (29, 100, "medium"),
            (2999, 10000, "medium"),  # 29.99 %
            (3, 10, "high"),  # exactly 30 %
            (30, 100, "high"),
            (100, 100, "high"),
        ],
    )
    def test_opposition_boundaries(self, against: int, of: int, level: str) -> None:
        assert stability.level_by_rule(scores(4, others=4), Fraction(against, of)) == level

    def test_the_worse_of_scores_and_opposition(self) -> None:
        assert stability.level_by_rule(scores(3), Fraction(3, 10)) == "high"
        assert stability.level_by_rule(scores(2), Fraction(0)) == "high"
        assert stability.level_by_rule(scores(4), Fraction(1, 10)) == "medium"

    def test_no_level_until_every_dimension_is_scored(self) -> None:
        s = scores(5)
        s["controllability"] = None
        assert stability.level_by_rule(s, Fraction(1, 2)) == ""

    def test_tally_sums_items_and_counts_only_positions(self) -> None:
        t = stability.tally(
            [
                {"participants": 50, "for": 20, "against": 5, "neutral": 5},
                {"participants": 200, "for": 60, "against": 5, "neutral": 5},
            ]
        )
        assert (t.items, t.participants, t.positions, t.against) == (2, 250, 100, 10)
        assert t.opposition == Fraction(1, 10)
        assert t.opposition_percent == 10.0
        assert stability.tally([{"participants": 30}]).opposition is None


class TestTheRuleThroughTheService:
    def test_consultation_items_move_the_level_at_the_boundaries(
        self, ssa_city: dict[str, Any]
    ) -> None:
        c = ssa_city
        a = draft(c, **FINDINGS)
        assert (a.computed_level, a.level) == ("low", "low")  # scores 4-5, nothing counted
        # 9 of 100 against: still low.
        a = stability.add_consultation(c["analyst"], a, version=a.version, item=item(9))
        assert a.level == "low"
        # One more against in a second item: 10 of 101... not yet 10 %.
        a = stability.add_consultation(
            c["analyst"], a, version=a.version, item=item(1, total=1, source="survey")
        )
        assert stability.tally(a.consultation).opposition == Fraction(10, 101)
        assert a.level == "low"
        # 20 of 110 after a symposium (18.2 %): medium.
        a = stability.add_consultation(
            c["analyst"], a, version=a.version, item=item(10, total=9 + 10, source="symposium")
        )
        assert a.level == "medium" and a.computed_level == "medium"
        # Removing it brings the level back.
        a = stability.remove_consultation(c["analyst"], a, version=a.version, index=2)
        assert a.level == "low"
        # 63 of 210 online comments against: exactly 30 %.
        a = stability.add_consultation(
            c["analyst"], a, version=a.version, item=item(53, total=109, source="online")
        )
        assert stability.tally(a.consultation).opposition == Fraction(3, 10)
        assert a.level == "high"

    def test_scores_move_the_level(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c, **FINDINGS)
        a = stability.update(c["analyst"], a, version=a.version, fields={"controllability": 3})
        assert a.level == "medium"
        a = stability.update(c["analyst"], a, version=a.version, fields={"controllability": 2})
        assert a.level == "high"
        a = stability.update(c["analyst"], a, version=a.version, fields={"controllability": ""})
        assert a.level == "" and a.computed_level == ""
        assert fresh(a).level == ""

    @pytest.mark.parametrize("bad", [0, 6, "x", "3.5", -1])
    def test_scores_are_1_to_5(self, ssa_city: dict[str, Any], bad: Any) -> None:
        a = draft(ssa_city)
        with pytest.raises(InvalidInput) as exc:
            stability.update(ssa_city["analyst"], a, version=a.version, fields={"legality": bad})
        assert exc.value.details == {"field": "legality"}
        assert fresh(a).legality is None

    def test_consultation_counts_are_checked(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c)
        with pytest.raises(InvalidInput, match="more than the participants"):
            stability.add_consultation(
                c["analyst"], a, version=a.version, item=item(10, participants=50, total=60)
            )
        with pytest.raises(InvalidInput, match="where the input came from"):
            stability.add_consultation(
                c["analyst"], a, version=a.version, item=item(1, source="rumour")
            )
        with pytest.raises(InvalidInput):
            stability.add_consultation(
                c["analyst"], a, version=a.version, item={**item(1), "against": -1}
            )
        assert fresh(a).consultation == []


class TestOverride:
    def test_another_level_needs_a_reason_and_keeps_the_rules_level(
        self, ssa_city: dict[str, Any]
    ) -> None:
        c = ssa_city
        a = draft(c, **FINDINGS)
        with pytest.raises(InvalidInput, match="Say why") as exc:
            stability.set_level(c["analyst"], a, version=a.version, level="medium", reason="  ")
        assert exc.value.details == {"field": "level_reason"}
        a = stability.set_level(
            c["analyst"],
            a,
            version=a.version,
            level="medium",
            reason="The same plan met protests in a neighbouring district last year.",
        )
        a = fresh(a)
        assert (a.level, a.computed_level) == ("medium", "low")
        assert stability.is_overridden(a)
        entry = stability.history(a).last()
        assert entry is not None and entry.action == "stability.level"
        assert entry.reason.startswith("The same plan met protests")
        assert entry.summary["before"]["level"] == "low"
        assert entry.summary["after"]["level"] == "medium"
        # The set level survives new input; the rule's level is kept beside it.
        a = stability.add_consultation(c["analyst"], a, version=a.version, item=item(40))
        assert (a.level, a.computed_level) == ("medium", "high")
        # Back to the rule.
        a = stability.set_level(c["analyst"], a, version=a.version, level="")
        assert (a.level, a.level_reason) == ("high", "")
        assert not stability.is_overridden(a)

    def test_choosing_the_rules_own_level_needs_no_reason(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c, **FINDINGS)
        a = stability.update(
            c["analyst"], a, version=a.version, fields={"legality": 3}, set_level="medium"
        )
        assert (a.level, a.level_reason) == ("medium", "")

    def test_an_unknown_level_is_refused(self, ssa_city: dict[str, Any]) -> None:
        a = draft(ssa_city, **FINDINGS)
        with pytest.raises(InvalidInput):
            stability.set_level(ssa_city["analyst"], a, version=a.version, level="red", reason="x")


class TestPuttingOnRecord:
    def test_everything_missing_is_listed(self, ssa_city: dict[str, Any]) -> None:
        a = draft(ssa_city)
        with pytest.raises(InvalidInput) as exc:
            stability.put_on_record(ssa_city["analyst"], a, version=a.version)
        missing = exc.value.details["missing"]
        assert len(missing) == 10  # 4 scores, 4 findings, an item, the summary
        assert fresh(a).state == "draft"

    @pytest.mark.parametrize(("against", "level"), [(15, "medium"), (35, "high")])
    def test_measures_are_required_for_medium_and_high(
        self, ssa_city: dict[str, Any], against: int, level: str
    ) -> None:
        c = ssa_city
        a = draft(c, **FINDINGS, consultation_summary="Two hearings and a survey.")
        a = stability.add_consultation(c["analyst"], a, version=a.version, item=item(against))
        assert a.level == level
        with pytest.raises(InvalidInput, match="needs measures") as exc:
            stability.put_on_record(c["analyst"], a, version=a.version)
        assert len(exc.value.details["missing"]) == 1
        a = stability.update(
            c["analyst"],
            a,
            version=a.version,
            fields={"measures": "Close the site at night; independent odour monitoring."},
        )
        a = stability.put_on_record(c["analyst"], a, version=a.version)
        assert a.state == "final" and a.finalised_by == audit.actor_label(c["analyst"])

    def test_low_needs_no_measures_and_an_override_to_low_is_on_record(
        self, ssa_city: dict[str, Any]
    ) -> None:
        c = ssa_city
        a = draft(c, **FINDINGS, consultation_summary="A public notice for 30 days.")
        a = stability.add_consultation(c["analyst"], a, version=a.version, item=item(12))
        assert a.level == "medium"
        a = stability.set_level(
            c["analyst"],
            a,
            version=a.version,
            level="low",
            reason="The objections came from outside the affected area (checked addresses).",
        )
        with clock.frozen(T0):
            a = stability.put_on_record(c["analyst"], a, version=a.version)
        a = fresh(a)
        assert (a.state, a.level, a.computed_level) == ("final", "low", "medium")
        assert a.finalised_at == T0
        assert a.level_reason.startswith("The objections")


def on_record(c: dict[str, Any]) -> StabilityAssessment:
    a = draft(c, **FINDINGS, consultation_summary="Hearing on 3 November.")
    a = stability.add_consultation(c["analyst"], a, version=a.version, item=item(20))
    a = stability.update(c["analyst"], a, version=a.version, fields={"measures": "Night closure."})
    return stability.put_on_record(c["analyst"], a, version=a.version)


class TestReadOnlyAndRevisions:
    def test_a_record_cannot_be_changed(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = on_record(c)
        before = {f: getattr(fresh(a), f) for f in ("title", "legality", "consultation", "level")}
        attempts = [
            lambda: stability.update(c["analyst"], a, version=a.version, fields={"title": "X"}),
            lambda: stability.add_consultation(c["analyst"], a, version=a.version, item=item(1)),
            lambda: stability.remove_consultation(c["analyst"], a, version=a.version, index=0),
            lambda: stability.set_level(
                c["analyst"], a, version=a.version, level="low", reason="x"
            ),
            lambda: stability.put_on_record(c["analyst"], a, version=a.version),
            lambda: stability.attach_appeal(c["analyst"], a, version=a.version, ticket="T-1"),
        ]
        for attempt in attempts:
            with pytest.raises(Conflict) as exc:
                attempt()
            assert exc.value.code == "assessment_on_record"
        assert {f: getattr(fresh(a), f) for f in before} == before

    def test_a_new_revision_copies_the_record_and_supersedes_it(
        self, ssa_city: dict[str, Any]
    ) -> None:
        c = ssa_city
        appeal = submit(c, text="Worried about the transfer station smell").appeal
        a = draft(c, **FINDINGS, consultation_summary="Hearing.")
        a = stability.attach_appeal(c["analyst"], a, version=a.version, ticket=appeal.ticket)
        a = stability.add_consultation(c["analyst"], a, version=a.version, item=item(2))
        a = stability.put_on_record(c["analyst"], a, version=a.version)
        r2 = stability.revise(c["d1_dispatcher"], a)
        assert r2.code == f"{a.code}-R2" and r2.revision == 2 and r2.supersedes_id == a.pk
        assert r2.state == "draft" and r2.version == 1
        assert r2.consultation == a.consultation and r2.legality_note == a.legality_note
        assert stability.attached_appeals(r2).count == 1
        with pytest.raises(Conflict, match="already has a new revision"):
            stability.revise(c["analyst"], a)
        with pytest.raises(Conflict, match="still a draft"):
            stability.revise(c["analyst"], r2)
        r2 = stability.update(c["analyst"], r2, version=r2.version, fields={"feasibility": 3})
        r2 = stability.update(
            c["analyst"], r2, version=r2.version, fields={"measures": "Phase the works."}
        )
        r2 = stability.put_on_record(c["analyst"], r2, version=r2.version)
        r3 = stability.revise(c["analyst"], r2)
        assert r3.code == f"{a.code}-R3"
        assert [e.code for e in stability.editions(r2)] == [a.code, r2.code, r3.code]
        assert fresh(a).feasibility == 5  # the first record is untouched

    def test_stale_versions_are_refused(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c)
        seen = a.version
        stability.update(c["analyst"], a, version=seen, fields={"legality": 4})
        with pytest.raises(stability.StaleAssessment, match="changed by someone else") as exc:
            stability.update(c["d1_dispatcher"], a, version=seen, fields={"legality": 1})
        assert exc.value.status == 409
        with pytest.raises(stability.StaleAssessment):
            stability.put_on_record(c["analyst"], a, version=seen)
        assert fresh(a).legality == 4 and fresh(a).version == seen + 1

    def test_codes_are_numbered_per_city_and_year(self, ssa_city: dict[str, Any]) -> None:
        with clock.frozen(T0):
            first = draft(ssa_city)
            second = draft(ssa_city, title="Second")
        with clock.frozen(T0 + timedelta(days=60)):
            next_year = draft(ssa_city, title="Third")
        assert [first.code, second.code, next_year.code] == [
            "T-SSA-2026-0001",
            "T-SSA-2026-0002",
            "T-SSA-2027-0001",
        ]


class TestPermissions:
    def test_who_may_write_and_read(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        for who in ("handler", "resident", "auditor", "operator"):
            with pytest.raises(Forbidden):
                draft(c, actor_key=who)
        # District 2's analyst manages risks, but not in district 1.
        with pytest.raises(Forbidden):
            draft(c, actor_key="d2_analyst")
        a = draft(c)
        with pytest.raises(Forbidden):
            stability.update(c["d2_analyst"], a, version=a.version, fields={"legality": 1})
        with pytest.raises(Forbidden):
            stability.update(c["auditor"], a, version=a.version, fields={"legality": 1})
        # Moving a draft out of one's area is refused too.
        with pytest.raises(Forbidden):
            stability.update(c["analyst"], a, version=a.version, fields={"jurisdiction": c["T-D2"]})
        assert fresh(a).jurisdiction_id == c["T-D1-S1"].pk
        # Reading: the city's auditor and administrator, district 1's people; not district 2.
        assert stability.get(c["auditor"], a.code) == a
        assert stability.get(c["city_admin"], a.code) == a
        assert stability.may_write(c["city_admin"], a)
        assert not stability.may_write(c["auditor"], a)
        for outsider in ("d2_analyst", "handler", "resident"):
            with pytest.raises(NotFound):
                stability.get(c[outsider], a.code)
            assert not stability.assessments(c[outsider]).exists()

    def test_a_unit_leader_writes_for_the_deciding_unit(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c)  # decided by District 1's housing bureau, led by c["leader"]
        a = stability.update(c["leader"], a, version=a.version, fields={"legality": 5})
        assert a.legality == 5
        assert stability.get(c["leader"], a.code) == a


class TestAppeals:
    def test_attached_by_ticket_showing_no_personal_data(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        one = submit(c, text="Smell from the planned station, call me on 13800000000").appeal
        two = submit(c, text="The lift will stop during the station works").appeal
        three = submit(c, text="The lift is blocked by the works").appeal
        a = draft(c)
        for ticket in (one.ticket, f" {two.ticket} ", three.ticket):
            a = stability.attach_appeal(c["analyst"], a, version=a.version, ticket=ticket)
        summary = stability.attached_appeals(a)
        assert summary.count == 3
        assert summary.by_matter == [("Lift out of service", 2), ("not classified", 1)]
        assert {r.ticket for r in summary.rows} == {one.ticket, two.ticket, three.ticket}
        shown = repr(summary)
        assert "13800000000" not in shown and "Li Lei" not in shown and "Smell" not in shown
        with pytest.raises(Conflict, match="already attached"):
            stability.attach_appeal(c["analyst"], a, version=a.version, ticket=one.ticket)
        with pytest.raises(NotFound):
            stability.attach_appeal(c["analyst"], a, version=a.version, ticket="T-NOPE")
        a = stability.detach_appeal(c["analyst"], a, version=a.version, ticket=one.ticket)
        assert stability.attached_appeals(a).count == 2
        actions = [e.action for e in stability.history(a)]
        assert actions == [
            "stability.create",
            *["stability.appeal.attach"] * 3,
            "stability.appeal.detach",
        ]
        assert stability.history(a).last().summary["ticket"] == one.ticket  # type: ignore[union-attr]

    def test_an_appeal_the_writer_may_not_read_is_not_attached(
        self, ssa_city: dict[str, Any]
    ) -> None:
        c = ssa_city
        elsewhere = submit(c, lon=2.5, text="Lift broken in district 2").appeal
        a = draft(c)
        with pytest.raises(NotFound):
            stability.attach_appeal(c["analyst"], a, version=a.version, ticket=elsewhere.ticket)
        assert stability.attached_appeals(a).count == 0


class TestRiskLink:
    def risk(self, c: dict[str, Any], code: str, district: str = "T-D1") -> RiskItem:
        with transaction.atomic():
            return RiskItem.objects.create(
                city="T",
                code=code,
                title="Opposition to the transfer station",
                level=Level.ORANGE,
                owner_unit=c[f"{district}-housing"],
                jurisdiction=c[district],
                jurisdiction_path=c[district].path,
                deadline=clock.now() + timedelta(days=30),
                created_by="test",
            )

    def test_medium_or_high_may_be_linked_to_a_readable_risk(
        self, ssa_city: dict[str, Any]
    ) -> None:
        c = ssa_city
        a = on_record(c)  # 20 % against: medium
        theirs = self.risk(c, "T-R-2", district="T-D2")
        with pytest.raises(NotFound):
            stability.link_risk(c["analyst"], a, version=a.version, risk=theirs)
        ours = self.risk(c, "T-R-1")
        a = stability.link_risk(c["analyst"], a, version=a.version, risk=ours)
        assert fresh(a).risk_id == ours.pk and fresh(a).state == "final"
        with pytest.raises(Conflict, match="already followed"):
            stability.link_risk(c["analyst"], a, version=a.version, risk=ours)

    def test_a_risk_of_another_city_is_not_linked(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = on_record(c)
        everyone = User.objects.create_superuser("root", password="x")
        other = self.risk(c, "U-R-1")
        RiskItem.objects.filter(pk=other.pk).update(city="U", jurisdiction_path="/U/")
        other.refresh_from_db()
        with pytest.raises(InvalidInput, match="another city"):
            stability.link_risk(everyone, a, version=a.version, risk=other)
        assert fresh(a).risk_id is None

    def test_low_is_not_linked(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c, **FINDINGS)
        with pytest.raises(Conflict, match="medium or high"):
            stability.link_risk(c["analyst"], a, version=a.version, risk=self.risk(c, "T-R-3"))


def test_every_change_is_in_a_chain_that_verifies(ssa_city: dict[str, Any]) -> None:
    c = ssa_city
    a = on_record(c)
    r2 = stability.revise(c["analyst"], a)
    stability.update(c["analyst"], r2, version=r2.version, fields={"title": "Smaller station"})
    assert [e.action for e in stability.history(a)] == [
        "stability.create",
        "stability.consultation.add",
        "stability.update",
        "stability.record",
    ]
    record = stability.history(a).last()
    assert record is not None and record.summary["before"]["state"] == "draft"
    assert record.summary["after"]["state"] == "final"
    assert [e.action for e in stability.history(r2)] == ["stability.revise", "stability.update"]
    in_words = [(s.what, s.detail) for s in stability.steps(r2)]
    assert in_words == [
        ("Revision started", f"supersedes {a.code}"),
        ("Draft edited", "decision or project"),
    ]
    assert {s.who for s in stability.steps(r2)} == {str(c["analyst"])}
    result = audit.verify()
    assert result.ok, result.problem
    assert result.checked >= 6


@needs_postgres
@pytest.mark.django_db(transaction=True)
class TestTwoPeopleAtOnce:
    def test_two_edits_of_the_same_version_one_wins(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c)
        seen = a.version
        results = race(
            lambda: stability.update(c["analyst"], a, version=seen, fields={"legality": 2}),
            lambda: stability.update(c["d1_dispatcher"], a, version=seen, fields={"legality": 5}),
        )
        assert sorted(results) == ["StaleAssessment", "ok"]
        assert fresh(a).version == seen + 1
        assert audit.verify().ok

    def test_two_drafts_started_at_once_get_different_codes(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        results = race(lambda: draft(c, title="One"), lambda: draft(c, "d1_dispatcher"))
        assert results == ["ok", "ok"]
        codes = sorted(StabilityAssessment.objects.values_list("code", flat=True))
        assert len(set(codes)) == 2
        assert audit.verify().ok
