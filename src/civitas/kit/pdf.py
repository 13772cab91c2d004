"""Fonts and paragraph styles shared by the PDFs Civitas writes (reportlab).

Chinese is set in reportlab's built-in CID font STSong-Light, which the PDF names and every
reader supplies, so nothing is embedded or downloaded; English in Helvetica. A piece of English
text with Chinese in it (a unit known only by its Chinese name) is set in STSong-Light too.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph

CJK = "STSong-Light"
LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
HEADING = colors.HexColor("#2f5d8a")

_registered = False


def register_fonts() -> None:
    """Register the CID font once per process (reportlab keeps a global registry)."""
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK))
        _registered = True


def is_wide(text: str) -> bool:
    """Has the text CJK script or punctuation? (A dash or a curly quote stays in Helvetica.)"""
    return any(ord(ch) >= 0x2E80 for ch in text)


class Styles:
    """Paragraphs in the right font: always STSong-Light for a Chinese document (``zh``),
    otherwise Helvetica unless the text itself holds Chinese."""

    def __init__(self, zh: bool) -> None:
        self.zh = zh

    def font(self, text: str = "", bold: bool = False) -> str:
        if self.zh or is_wide(text):
            return CJK
        return LATIN_BOLD if bold else LATIN

    def para(
        self,
        text: str,
        *,
        size: float = 9.5,
        bold: bool = False,
        lead: float = 1.35,
        color: Any = colors.black,
        space: float = 0,
        align: int = 0,
        lines: bool = False,
    ) -> Paragraph:
        """``lines``: keep the text's line breaks (a party's terms written one per line)."""
        font = self.font(text, bold)
        style = ParagraphStyle(
            "p",
            fontName=font,
            fontSize=size,
            leading=size * lead,
            textColor=color,
            spaceAfter=space,
            alignment=align,
            wordWrap="CJK" if font == CJK else None,
        )
        body = escape(text)
        if lines:
            body = body.replace("\r\n", "\n").replace("\n", "<br/>")
        return Paragraph(body, style)

    def h1(self, text: str) -> Paragraph:
        return self.para(text, size=16, bold=True, space=4)

    def h2(self, text: str) -> Paragraph:
        return self.para(text, size=12, bold=True, color=HEADING, space=2)
