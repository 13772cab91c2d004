"""A judgment report as a PDF (reportlab), in English or Chinese.

Chinese is set in reportlab's built-in CID font STSong-Light, which the PDF names and every
reader supplies, so nothing is embedded or downloaded; English in Helvetica. A piece of
English text with Chinese in it (a unit known only by its Chinese name) is set in STSong-Light
too. Charts are reportlab.graphics drawings (vector, no image files).
"""

from __future__ import annotations

import io
from typing import Any

from django.utils import formats, translation
from django.utils.translation import gettext as _
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from civitas.kit.pdf import CJK, LATIN, LATIN_BOLD  # noqa: F401  (names kept for importers)
from civitas.kit.pdf import Styles as _Styles
from civitas.kit.pdf import register_fonts as _fonts
from civitas.risk import reports
from civitas.risk.models import LEVEL_RANK, Level

THIS = colors.HexColor("#2f5d8a")
BEFORE = colors.HexColor("#a9c4e4")
GRID = colors.HexColor("#c8d2dc")
WIDTH = A4[0] - 36 * mm


def _table(s: _Styles, head: list[str], rows: list[list[Any]], widths: list[float]) -> Table:
    cells = [[s.para(h, size=8.5, bold=True) for h in head]]
    for row in rows:
        cells.append([c if isinstance(c, Paragraph) else s.para(str(c), size=8.5) for c in row])
    t = Table(cells, colWidths=[w * WIDTH for w in widths], repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, THIS),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, GRID),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return t


def _change(row: reports.Row) -> str:
    if row.change is None:
        return "—"
    pct = "" if row.change_pct is None else f" ({row.change_pct:+.1f}%)"
    return f"{row.change:+d}{pct}"


def _legend(s: _Styles, drawing: Drawing, names: list[str], x: float, y: float) -> None:
    legend = Legend()
    legend.x, legend.y = x, y
    legend.fontName = s.font(" ".join(names))
    legend.fontSize = 7
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.dx = legend.dy = 6
    legend.deltax = 80
    legend.colorNamePairs = list(zip([THIS, BEFORE], names, strict=False))
    drawing.add(legend)


def _days_chart(s: _Styles, r: reports.Report) -> Drawing:
    d = Drawing(WIDTH, 62 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y = 28, 22
    chart.width, chart.height = WIDTH - 40, 62 * mm - 42
    series = [[n for _d, n in r.by_day]]
    names = [r.period.label]
    if r.by_day_before:
        before = list(r.by_day_before)[: len(r.by_day)]
        series.append(before + [0] * (len(r.by_day) - len(before)))
        names.append(r.previous.label)
    chart.data = series
    step = max(1, len(r.by_day) // 16)
    chart.categoryAxis.categoryNames = [
        d.strftime("%m-%d") if i % step == 0 else "" for i, (d, _n) in enumerate(r.by_day)
    ]
    chart.categoryAxis.labels.fontName = LATIN
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = LATIN
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.forceZero = True
    chart.lines[0].strokeColor = THIS
    chart.lines[0].strokeWidth = 1.6
    if len(series) > 1:
        chart.lines[1].strokeColor = BEFORE
        chart.lines[1].strokeWidth = 1.2
    d.add(chart)
    _legend(s, d, names, 40, 62 * mm - 4)
    return d


def _hbar_chart(s: _Styles, rows: list[reports.Row], r: reports.Report) -> Drawing:
    height = max(40 * mm, (len(rows) * 9 + 16) * mm / 2.2)
    d = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    labels = [row.name.name for row in rows]
    chart.x, chart.y = WIDTH * 0.36, 10
    chart.width, chart.height = WIDTH * 0.6, height - 30
    data = [[row.now for row in rows]]
    names = [r.period.label]
    if any(row.before is not None for row in rows):
        data.append([row.before or 0 for row in rows])
        names.append(r.previous.label)
    chart.data = data
    chart.categoryAxis.categoryNames = [lb if len(lb) <= 34 else lb[:33] + "…" for lb in labels]
    chart.categoryAxis.reverseDirection = True
    chart.categoryAxis.labels.fontName = s.font(" ".join(labels))
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.labels.fontName = LATIN
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.forceZero = True
    chart.bars[0].fillColor = THIS
    if len(data) > 1:
        chart.bars[1].fillColor = BEFORE
    chart.bars.strokeColor = None
    d.add(chart)
    _legend(s, d, names, WIDTH * 0.36, height - 4)
    return d


def _levels_chart(s: _Styles, r: reports.Report) -> Drawing:
    levels = sorted(Level.values, key=lambda v: -LEVEL_RANK[Level(v)])
    labels = [str(Level(v).label) for v in levels]
    d = Drawing(WIDTH, 45 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y = 28, 18
    chart.width, chart.height = WIDTH * 0.6, 45 * mm - 30
    chart.data = [
        [r.new_risks.get(v, 0) for v in levels],
        [r.open_risks.get(v, 0) for v in levels],
    ]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontName = s.font(" ".join(labels))
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = LATIN
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.forceZero = True
    chart.valueAxis.valueStep = max(1, (max(max(chart.data[0]), max(chart.data[1])) + 4) // 5)
    chart.bars[0].fillColor = THIS
    chart.bars[1].fillColor = BEFORE
    chart.bars.strokeColor = None
    d.add(chart)
    _legend(s, d, [_("New"), _("Open at the end")], 40, 45 * mm - 4)
    return d


def filename(r: reports.Report, lang: str) -> str:
    return f"report-{r.area.code}-{r.period.label}-{'zh' if lang.startswith('zh') else 'en'}.pdf"


def render(r: reports.Report, lang: str) -> bytes:
    """The report as PDF bytes, in ``lang`` (en or zh-hans)."""
    _fonts()
    with translation.override(lang):
        return _render(r, _Styles(lang.startswith("zh")))


def _render(r: reports.Report, s: _Styles) -> bytes:
    buf = io.BytesIO()
    title = _("Judgment report: %(area)s, %(period)s") % {
        "area": r.area.name,
        "period": r.period.title(),
    }
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title,
        author="Civitas",
        subject=_("Judgment report"),
    )
    story: list[Any] = [
        s.h1(title),
        s.para(
            _("Generated %(when)s from the appeals, alerts, risks and assessment roll-ups.")
            % {"when": formats.date_format(r.generated_at, "Y-m-d H:i")},
            size=8,
            color=colors.grey,
            space=6,
        ),
        s.h2(_("Summary")),
    ]
    story += [s.para(w, space=3) for w in reports.narrative(r)]
    story += [Spacer(1, 4 * mm), s.h2(_("Volumes and trends"))]
    no_data = _("no data")
    story.append(
        _table(
            s,
            [_("Appeals received"), _("Previous period"), _("A year earlier")],
            [
                [
                    f"{r.total:,}",
                    no_data
                    if r.total_before is None
                    else f"{r.total_before:,} ({r.previous.label})"
                    + ("" if r.change_pct is None else f" {r.change_pct:+.1f}%"),
                    no_data
                    if r.total_year_ago is None
                    else f"{r.total_year_ago:,} ({r.year_ago.label})"
                    + ("" if r.year_pct is None else f" {r.year_pct:+.1f}%"),
                ]
            ],
            [0.3, 0.35, 0.35],
        )
    )
    story += [s.para(_("By day"), bold=True, space=1), _days_chart(s, r)]
    story.append(
        KeepTogether(
            [
                s.para(_("By channel"), bold=True, space=1),
                _table(
                    s,
                    [_("Channel"), _("This period"), _("Period before"), _("Change")],
                    [
                        [
                            row.name.name,
                            row.now,
                            "—" if row.before is None else row.before,
                            _change(row),
                        ]
                        for row in r.channels
                    ],
                    [0.4, 0.2, 0.2, 0.2],
                ),
            ]
        )
    )
    if r.matters:
        story += [
            Spacer(1, 3 * mm),
            s.para(_("Top matters"), bold=True, space=1),
            _table(
                s,
                [_("Matter"), _("This period"), _("Period before"), _("Change")],
                [
                    [
                        row.name.name,
                        row.now,
                        "—" if row.before is None else row.before,
                        _change(row),
                    ]
                    for row in r.matters
                ],
                [0.46, 0.18, 0.18, 0.18],
            ),
            _hbar_chart(s, r.matters, r),
        ]
    story += [s.h2(_("Hot spots"))]
    places = [*r.places, *r.spots]
    story.append(
        _table(
            s,
            [_("Area"), _("This period"), _("Period before"), _("Change")],
            [
                [row.name.name, row.now, "—" if row.before is None else row.before, _change(row)]
                for row in places
            ]
            or [[_("No appeals in this period."), "", "", ""]],
            [0.46, 0.18, 0.18, 0.18],
        )
    )
    rising = [*r.places_rising, *r.spots_rising]
    if rising:
        story += [
            Spacer(1, 2 * mm),
            s.para(_("Largest rise"), bold=True, space=1),
            _table(
                s,
                [_("Area"), _("This period"), _("Change")],
                [[row.name.name, row.now, _change(row)] for row in rising],
                [0.5, 0.2, 0.3],
            ),
        ]
    story += [
        Spacer(1, 2 * mm),
        s.para(_("Space-time clusters detected in the period"), bold=True, space=1),
    ]
    if r.clusters:
        story.append(
            _table(
                s,
                [_("Matter"), _("Area"), _("Dates"), _("Observed"), _("Expected"), _("p-value")],
                [
                    [
                        a.name.name,
                        a.place.name if a.place else "",
                        f"{a.start:%m-%d} – {a.end:%m-%d}",
                        a.observed,
                        f"{a.expected:.1f}",
                        "—" if a.p_value is None else f"{a.p_value:.3g}",
                    ]
                    for a in r.clusters
                ],
                [0.26, 0.22, 0.16, 0.12, 0.12, 0.12],
            )
        )
    else:
        story.append(s.para(_("No space-time cluster was detected in this period.")))
    story += [Spacer(1, 3 * mm), s.h2(_("Alerts by kind"))]
    story.append(
        _table(
            s,
            [_("Kind"), _("This period"), _("Period before")],
            [[row.name.name, row.now, row.before] for row in r.alerts]
            or [[_("No alert in this period or the one before."), "", ""]],
            [0.5, 0.25, 0.25],
        )
    )
    story += [Spacer(1, 3 * mm), s.h2(_("New and open risks")), _levels_chart(s, r)]
    if r.risks:
        story.append(
            _table(
                s,
                [_("Code"), _("Risk"), _("Level"), _("Owner unit"), _("Deadline"), _("State")],
                [
                    [
                        k.code,
                        k.title,
                        k.level_label,
                        k.owner.name,
                        formats.date_format(k.deadline, "Y-m-d"),
                        " ".join(
                            w
                            for w in (
                                _("new") if k.new else "",
                                _("past its deadline") if k.overdue else "",
                                _("closed") if not k.open else "",
                            )
                            if w
                        ),
                    ]
                    for k in r.risks
                ],
                [0.1, 0.3, 0.14, 0.22, 0.12, 0.12],
            )
        )
    story += [Spacer(1, 3 * mm), s.h2(_("Units: best and weakest"))]
    if not r.units_shown:
        story.append(
            s.para(
                _(
                    "The assessment of units is open to analysts, dispatchers, unit "
                    "leaders and auditors."
                )
            )
        )
    elif r.best:
        head = [
            _("Unit"),
            _("Dispatched"),
            _("Response"),
            _("Resolution"),
            _("Satisfaction"),
            _("Score"),
        ]
        for label, lines in ((_("Best performing"), r.best), (_("Weakest"), r.worst)):
            if not lines:
                continue
            story += [
                s.para(label, bold=True, space=1),
                _table(
                    s,
                    head,
                    [
                        [u.name.name, u.dispatched]
                        + ["—" if v is None else f"{v:.1f}%" for v in u.three]
                        + [f"{u.score:.1f}"]
                        for u in lines
                    ],
                    [0.34, 0.12, 0.13, 0.13, 0.14, 0.14],
                ),
                Spacer(1, 2 * mm),
            ]
    else:
        story.append(s.para(_("No unit has assessment figures for this period.")))
    story += [Spacer(1, 3 * mm), s.h2(_("Recurring problems: proactive governance (未诉先办)"))]
    if r.recurring:
        story.append(
            _table(
                s,
                [
                    _("Matter"),
                    _("Place"),
                    _("Periods"),
                    _("Appeals"),
                    _("Per period (oldest first)"),
                    _("Suggested owner"),
                ],
                [
                    [
                        p.matter.name,
                        p.place.name
                        + (
                            ""
                            if p.cell is None
                            else " "
                            + _("(cell near %(lat)s, %(lon)s)")
                            % {"lat": p.cell[0], "lon": p.cell[1]}
                        ),
                        f"{p.periods_seen}/{len(p.per_period)}",
                        p.total,
                        " ".join(str(n) for n in p.per_period),
                        p.owner.name if p.owner else "—",
                    ]
                    for p in r.recurring
                ],
                [0.18, 0.24, 0.1, 0.1, 0.18, 0.2],
            )
        )
    else:
        story.append(s.para(_("No problem recurred at the same place often enough.")))
    doc.build(story)
    return buf.getvalue()
