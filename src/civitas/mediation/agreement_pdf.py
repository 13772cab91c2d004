"""The written mediation agreement (调解协议书) as a PDF in both languages.

One document, Chinese first and English after it, each part headed in its own language: the
number, the mediation body, the parties (the agreement is made for them, so their names are
printed; the PDF is served only to those who may see the parties), the facts, the terms, the
amount and the date by which the agreement is to be performed, lines for the signatures, the
date, and a note on what the People's Mediation Law says of such an agreement.

The labels are fixed pairs of Chinese and English (a bilingual legal document reads the same
whatever the reader's language); what the parties agreed is printed as written.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from civitas.kit.pdf import Styles, register_fonts
from civitas.mediation.models import Agreement, Party

WIDTH = A4[0] - 36 * mm
GRID = colors.HexColor("#c8d2dc")

SIDES_ZH: dict[str, str] = {
    Party.Side.APPLICANT: "申请人",
    Party.Side.RESPONDENT: "被申请人",
    Party.Side.THIRD: "第三人",
}
SIDES_EN: dict[str, str] = {
    Party.Side.APPLICANT: "Applicant",
    Party.Side.RESPONDENT: "Respondent",
    Party.Side.THIRD: "Third party",
}

# The legal note, in our own words: what the People's Mediation Law of the PRC (2010) says of
# a written agreement, by article number.
NOTE_ZH = (
    "依据《中华人民共和国人民调解法》第三十一条，经人民调解委员会调解达成的调解协议具有法律约束力，"
    "当事人应当按照约定履行。依据该法第三十二条，当事人之间就协议的履行或者内容发生争议的，"
    "一方可以向人民法院提起诉讼。依据该法第三十三条，双方当事人可以自协议生效之日起三十日内"
    "共同向人民法院申请司法确认；经确认有效的，一方拒绝履行或者未全部履行时，对方可以申请强制执行。"
)
NOTE_EN = (
    "Under Article 31 of the People's Mediation Law of the People's Republic of China, an "
    "agreement reached through a people's mediation committee binds the parties, who are to "
    "carry it out as agreed. Under Article 32, if the parties later disagree about carrying it "
    "out or about what it says, either of them may bring the matter before a people's court. "
    "Under Article 33, the parties may together ask a people's court, within thirty days of "
    "the agreement taking effect, to confirm it; once a court has confirmed it, either party "
    "may ask the court to enforce it if the other does not perform it in full."
)


def _money(amount: Decimal | None, zh: bool) -> str:
    if amount is None:
        return "无" if zh else "None"
    return f"人民币 {amount:,.2f} 元" if zh else f"CNY {amount:,.2f}"


def _day(d: date | None, zh: bool) -> str:
    if d is None:
        return "未约定" if zh else "Not set"
    return f"{d.year}年{d.month}月{d.day}日" if zh else d.isoformat()


def filename(agreement: Agreement) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in agreement.number)
    return f"agreement-{safe}.pdf"


def _body_names(agreement: Agreement) -> tuple[str, str]:
    unit = agreement.stage.unit
    return unit.name_zh or unit.name_en, unit.name_en or unit.name_zh


def _part(zh: bool, agreement: Agreement, parties: list[Party], s: Styles, body: str) -> list[Any]:
    t = (lambda a, b: a) if zh else (lambda a, b: b)
    dispute = agreement.dispute
    story: list[Any] = [
        s.h1(t("人民调解协议书", "Mediation Agreement")),
        s.para(t("编号：", "No. ") + agreement.number, size=9, color=colors.grey, space=4),
        s.para(t("调解组织：", "Mediation body: ") + body, space=2),
        s.para(t("纠纷编号：", "Dispute: ") + f"{dispute.code}  {dispute.title}", space=6),
        s.h2(t("当事人", "Parties")),
    ]
    rows = []
    for p in parties:
        side = SIDES_ZH.get(p.side, p.side) if zh else SIDES_EN.get(p.side, p.side)
        detail = []
        if p.kind == Party.Kind.ORGANISATION:
            if p.credit_code:
                detail.append(t("统一社会信用代码：", "Credit code: ") + p.credit_code)
            if p.representative:
                detail.append(t("代表人：", "Represented by: ") + p.representative)
        if p.address:
            detail.append(t("住所：", "Address: ") + p.address)
        rows.append(
            [
                s.para(side, size=9, bold=True),
                s.para(p.name, size=9),
                s.para("；".join(detail) if zh else "; ".join(detail), size=8.5),
            ]
        )
    if not rows:
        rows.append([s.para("—"), s.para(""), s.para("")])
    table = Table(rows, colWidths=[0.18 * WIDTH, 0.32 * WIDTH, 0.5 * WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, GRID),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 3 * mm),
        s.h2(t("纠纷事实及争议事项", "Facts and the matters in dispute")),
        s.para(agreement.facts, lines=True, space=4),
        s.h2(t("经调解，当事人自愿达成如下协议", "Terms agreed freely by the parties")),
        s.para(agreement.terms, lines=True, space=4),
        s.para(t("涉及金额：", "Amount: ") + _money(agreement.amount, zh), space=1),
        s.para(t("履行期限：", "To be performed by: ") + _day(agreement.perform_by, zh), space=4),
        s.h2(t("法律效力", "Legal effect")),
        s.para(t(NOTE_ZH, NOTE_EN), size=8.5, space=4),
        s.para(
            t(
                "本协议一式{n}份，当事人各执一份，调解组织留存一份。",
                "This agreement is made in {n} copies: one for each party and one kept by the "
                "mediation body.",
            ).format(n=len(parties) + 1),
            size=8.5,
            space=6,
        ),
    ]
    signs = [
        [
            s.para(
                (SIDES_ZH.get(p.side, p.side) if zh else SIDES_EN.get(p.side, p.side))
                + t("（签名或盖章）：", " (signature or seal):"),
                size=9,
            ),
            s.para("______________________", size=9),
        ]
        for p in parties
    ]
    signs += [
        [
            s.para(t("人民调解员（签名）：", "Mediator (signature):"), size=9),
            s.para("______________________", size=9),
        ],
        [
            s.para(t("调解组织（盖章）：", "Mediation body (seal):"), size=9),
            s.para(body, size=9),
        ],
        [
            s.para(t("签订日期：", "Signed on:"), size=9),
            s.para(_day(agreement.signed_on, zh), size=9),
        ],
    ]
    sign_table = Table(signs, colWidths=[0.45 * WIDTH, 0.55 * WIDTH])
    sign_table.setStyle(
        TableStyle([("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)])
    )
    story.append(KeepTogether([s.h2(t("签署", "Signatures")), sign_table]))
    return story


def render(agreement: Agreement) -> bytes:
    """The agreement as PDF bytes: the Chinese text, then the English on a new page."""
    register_fonts()
    parties = list(agreement.dispute.parties.order_by("side", "pk"))
    zh_body, en_body = _body_names(agreement)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"人民调解协议书 Mediation Agreement {agreement.number}",
        author=en_body,
        subject="Mediation agreement",
    )
    story = _part(True, agreement, parties, Styles(zh=True), zh_body)
    story.append(PageBreak())
    story += _part(False, agreement, parties, Styles(zh=False), en_body)
    doc.build(story)
    return buf.getvalue()
