"""The treatment record as a PDF a perfusionist and a surgeon sign: patient and plan, the board, the
course of the session, the board's verdicts, per-probe statistics and thermal dose (CEM43), the
figure, every alarm, every operator action with its values, the patient values entered, and the
signature lines, under the notice that this software is not validated for clinical use.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

NOTICE = ("Not validated for clinical use. This record comes from research and engineering software that is not a "
          "certified medical device; it must not be used to treat patients.")
# The record's font: DejaVu Sans (shipped with matplotlib) has every sign the record prints (°, ±, ≥, →).
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
SIGNATORIES = ("Perfusionist", "Surgeon")


def _fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "DejaVuSans-Bold.ttf")))


@dataclass
class Section:
    """One heading and what stands under it: key-value rows, a table with a header, or a picture."""
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)  # the first row is the header
    image: Path | None = None
    note: str = ""


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName=BOLD, fontSize=15, spaceAfter=4),
        "h": ParagraphStyle("h", parent=base["Heading2"], fontName=BOLD, fontSize=11, spaceBefore=8, spaceAfter=3),
        "cell": ParagraphStyle("cell", parent=base["BodyText"], fontName=FONT, fontSize=7.5, leading=9),
        "key": ParagraphStyle("key", parent=base["BodyText"], fontName=BOLD, fontSize=7.5, leading=9),
        "notice": ParagraphStyle("notice", parent=base["BodyText"], fontName=BOLD, fontSize=8.5, leading=11,
                                 textColor=colors.HexColor("#842029"), backColor=colors.HexColor("#f8d7da"),
                                 borderPadding=4, spaceAfter=6),
        "note": ParagraphStyle("note", parent=base["BodyText"], fontName=FONT, fontSize=7.5, leading=9,
                               textColor=colors.HexColor("#555555")),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
                   ("VALIGN", (0, 0), (-1, -1), "TOP"),
                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef"))])


class SignatureLines(Flowable):
    """A name, signature and date line for each person who signs the record."""

    def __init__(self, width: float):
        super().__init__()
        self.width, self.height = width, 28 * mm * len(SIGNATORIES) / 2

    def draw(self) -> None:
        canvas = self.canv
        column = self.width / len(SIGNATORIES)
        for i, role in enumerate(SIGNATORIES):
            x = i * column
            canvas.setFont(BOLD, 9)
            canvas.drawString(x, self.height - 10, role)
            canvas.setFont(FONT, 8)
            for j, label in enumerate(("name", "signature", "date and time")):
                y = self.height - 26 - j * 14
                canvas.drawString(x, y, label)
                canvas.line(x + 22 * mm, y - 1, x + column - 8 * mm, y - 1)


def _section(section: Section, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    parts: list[Flowable] = [Paragraph(_escape(section.title), styles["h"])]
    if section.rows:
        data = [[Paragraph(_escape(k), styles["key"]), Paragraph(_escape(v), styles["cell"])] for k, v in section.rows]
        table = Table(data, colWidths=[45 * mm, width - 45 * mm])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#dddddd"))]))
        parts.append(table)
    if section.table:
        data = [[Paragraph(_escape(c), styles["key" if i == 0 else "cell"]) for c in row]
                for i, row in enumerate(section.table)]
        table = Table(data, repeatRows=1)
        table.setStyle(GRID)
        parts.append(table)
    if section.image is not None:
        image = Image(str(section.image))
        scale = width / image.imageWidth
        image.drawWidth, image.drawHeight = width, image.imageHeight * scale
        parts.append(image)
    if section.note:
        parts.append(Paragraph(_escape(section.note), styles["note"]))
    if section.image is not None:
        return [KeepTogether(parts)]  # a heading never stands alone at the foot of a page
    return [KeepTogether(parts[:3]), *parts[3:]]


def write_document(path: Path, title: str, sections: list[Section], footer: str) -> Path:
    """The record as a PDF, the notice on top, the signature lines at the end, the footer on every page."""
    _fonts()
    styles = _styles()
    made = dt.datetime.now().strftime("%Y-%m-%d %H:%M")

    def page(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(15 * mm, 8 * mm, f"{footer} · written {made} · not validated for clinical use")
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm,
                            bottomMargin=16 * mm, title=title, author="hipec")
    width = A4[0] - 30 * mm
    story: list[Flowable] = [Paragraph(_escape(title), styles["title"]), Paragraph(_escape(NOTICE), styles["notice"])]
    for section in sections:
        story += _section(section, styles, width)
    story += [Spacer(1, 6 * mm), KeepTogether([Paragraph("Signatures", styles["h"]), SignatureLines(width)])]
    doc.build(story, onFirstPage=page, onLaterPages=page)
    return path
