"""The written agreement as a bilingual PDF: its contents, who may download it, the audit."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from civitas.kit import clock
from civitas.kit.models import AuditEntry
from civitas.mediation import agreement_pdf
from civitas.mediation.models import Agreement, Tier
from civitas.org.models import Role
from tests.factories import member
from tests.mediation.figures_data import NOW, at, dispute, with_agreement

pytestmark = pytest.mark.django_db


@pytest.fixture
def agreed(med: dict[str, Any]) -> dict[str, Any]:
    w = dict(med)
    d = dispute(med, "T-D1-S1-C2", received=at("2026-11-02"), tier=Tier.STREET, status="agreed")
    w["dispute"] = d
    w["agreement"] = with_agreement(med, d)
    other = dispute(med, "T-D2-S1-C1", received=at("2026-11-03"), unit="T-D2-S1-C1-med")
    w["other"] = with_agreement(med, other)
    return w


def text_of(body: bytes) -> tuple[int, str]:
    assert body.startswith(b"%PDF-")
    pages = PdfReader(io.BytesIO(body)).pages
    return len(pages), "\n".join(p.extract_text() for p in pages)


def url(a: Agreement) -> str:
    return f"/mediation/d/{a.dispute.code}/agreements/{a.pk}.pdf"


def client_for(user: Any) -> Client:
    cl = Client(HTTP_ACCEPT_LANGUAGE="en")
    cl.force_login(user)
    return cl


def get(cl: Client, path: str) -> Any:
    with clock.frozen(NOW):
        return cl.get(path)


class TestDocument:
    def test_both_languages_and_the_terms(self, agreed: dict[str, Any]) -> None:
        a = agreed["agreement"]
        pages, text = text_of(agreement_pdf.render(a))
        assert pages >= 2  # the Chinese text, then the English
        compact = text.replace(" ", "").replace("\n", "")
        for heading in ("人民调解协议书", "当事人", "经调解", "签署", "法律效力"):
            assert heading in compact, heading
        for heading in ("Mediation Agreement", "Parties", "Terms agreed", "Signatures"):
            assert heading in text, heading
        assert a.number in text
        assert "repairs the pipe" in text
        assert "1,200.00" in text
        assert "2026-12-01" in text  # performance date, English part
        assert "2026年12月1日" in compact  # and in the Chinese part
        assert "王小明" in compact and "Greenview Property Services Ltd" in text
        assert "91310000MA1FL0XX1X" in text
        # The mediation body, in each language.
        assert "T-D1-S1人民调解委员会" in compact and "T-D1-S1 Mediation Committee" in text
        # The legal note cites the articles of the People's Mediation Law.
        assert "Article 31" in text and "Article 33" in text
        assert "第三十一条" in compact and "第三十三条" in compact
        # No phone number of a party is printed.
        assert "13900000001" not in text

    def test_without_amount_or_date(self, agreed: dict[str, Any]) -> None:
        a = agreed["agreement"]
        a.amount = None
        a.perform_by = None
        _pages, text = text_of(agreement_pdf.render(a))
        assert "Amount: None" in text and "Not set" in text


class TestDownload:
    def test_the_mediator_downloads_it_and_it_is_audited(self, agreed: dict[str, Any]) -> None:
        a = agreed["agreement"]
        r = get(client_for(agreed["mediator_s"]), url(a))
        assert r.status_code == 200
        assert r["Content-Type"] == "application/pdf"
        assert (
            r["Content-Disposition"] == f'attachment; filename="agreement-AG-{a.dispute.code}.pdf"'
        )
        _pages, text = text_of(r.content)
        assert "Mediation Agreement" in text
        entry = AuditEntry.objects.filter(action="mediation.agreement_download").get()
        assert entry.object_id == str(a.pk)
        assert "med-s11" in entry.actor
        assert entry.summary["dispute"] == a.dispute.code

    def test_refused_to_those_who_may_not_see_the_parties(self, agreed: dict[str, Any]) -> None:
        # The city analyst reads the dispute (their area covers it) but does not handle it.
        a = agreed["agreement"]
        r = get(client_for(agreed["analyst"]), url(a))
        assert r.status_code == 403
        assert not AuditEntry.objects.filter(action="mediation.agreement_download").exists()

    def test_unreadable_disputes_are_not_found(self, agreed: dict[str, Any]) -> None:
        # The mediator of street T-D1-S1 cannot read a dispute of district 2.
        r = get(client_for(agreed["mediator_s"]), url(agreed["other"]))
        assert r.status_code == 404

    def test_an_agreement_of_another_dispute_is_not_found(self, agreed: dict[str, Any]) -> None:
        a, other = agreed["agreement"], agreed["other"]
        path = f"/mediation/d/{a.dispute.code}/agreements/{other.pk}.pdf"
        assert get(client_for(agreed["mediator_s"]), path).status_code == 404
        missing = f"/mediation/d/{a.dispute.code}/agreements/999999.pdf"
        assert get(client_for(agreed["mediator_s"]), missing).status_code == 404

    def test_residents_and_anonymous(self, agreed: dict[str, Any]) -> None:
        a = agreed["agreement"]
        resident = member("resident-1", Role.RESIDENT)
        assert get(client_for(resident), url(a)).status_code == 404
        assert get(Client(), url(a)).status_code == 302
