"""The page every escrowdesk document is drawn on: A4, bundled DejaVu fonts, HarfBuzz text shaping,
and the building blocks documents are made of (letterhead, title, section, key-value rows, table,
call-out box, note).

Documents say what goes on the page; this module says where it goes. For a right-to-left
locale the page is mirrored here — text starts at the right margin and columns run from
right to left — so documents never branch on direction. Every text is drawn with its values'
own direction: a value of the other direction (a Cyrillic name or address, an IBAN, an amount
with its sign in a Persian document) is isolated (`notify.bidi`), so its neutral characters at
the edges — guillemets, a postcode's comma — stay where its writer put them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, XPos, YPos

from chalicelib.notify import bidi

T = TypeVar("T")
_FONTS_DIR = Path(__file__).parent / "fonts"
_FAMILY = "DejaVu"
_MARGIN_MM = 18
_TEXT_PT = 10
_NOTE_PT = 8
_TITLE_PT = 16
_LINE_MM = 6
_TITLE_LINE_MM = 9
_NOTE_LINE_MM = 4
_MUTED = (90, 90, 90)
_RULE = (200, 200, 200)
_SHADE = (238, 242, 247)
_ACCENT = (30, 70, 130)


@dataclass(frozen=True)
class Column:
    heading: str
    width: float  # a share of the page's text width; a table's shares are relative to each other
    numeric: bool = False  # numbers line up at the end of the cell, away from the text they follow


class DocumentPdf:
    """One document being drawn, top to bottom, in one locale."""

    def __init__(self, *, title: str, lang: str, rtl: bool, author: str, created_at: datetime) -> None:
        self._rtl = rtl
        self._pdf = _new_pdf(lang, rtl)
        _set_metadata(self._pdf, title=bidi.without_isolates(title), lang=lang, author=author, created_at=created_at)
        self._pdf.add_page()

    @property
    def _start(self) -> str:
        return "R" if self._rtl else "L"

    @property
    def _end(self) -> str:
        return "L" if self._rtl else "R"

    def _own_direction(self, text: str) -> str:
        return bidi.isolate(text, self._rtl)

    def _in_reading_order(self, cells: Sequence[T]) -> list[T]:
        """Cells listed first-to-last as a reader meets them, laid out left-to-right as fpdf2 draws them."""
        return list(reversed(cells)) if self._rtl else list(cells)

    def letterhead(self, issuer: str) -> None:
        self._pdf.set_font(_FAMILY, "B", _TEXT_PT)
        self._pdf.set_text_color(*_ACCENT)
        self._paragraph(issuer, _LINE_MM + 1)
        self._rule()

    def title(self, text: str) -> None:
        self._pdf.set_font(_FAMILY, "B", _TITLE_PT)
        self._pdf.set_text_color(0)
        self._paragraph(text, _TITLE_LINE_MM)
        self._pdf.ln(2)

    def section(self, heading: str) -> None:
        self._pdf.ln(3)
        self._pdf.set_font(_FAMILY, "B", _TEXT_PT + 1)
        self._pdf.set_text_color(*_ACCENT)
        self._paragraph(heading, _LINE_MM + 1)

    def key_values(self, rows: Sequence[tuple[str, str]]) -> None:
        """Label/value pairs, labels muted in a narrow first column."""
        self._pdf.set_font(_FAMILY, "", _TEXT_PT)
        self._pdf.set_text_color(0)
        with self._pdf.table(
            col_widths=self._in_reading_order((30, 70)),
            text_align=self._start,
            borders_layout=TableBordersLayout.NONE,
            first_row_as_headings=False,
            line_height=_LINE_MM,
            padding=(0.5, 1),
        ) as table:
            for label, value in rows:
                row = table.row()
                for text, style in self._in_reading_order(((label, FontFace(color=_MUTED)), (value, None))):
                    row.cell(self._own_direction(text), style=style)

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[str]], total: Sequence[str]) -> None:
        """A ruled table with a shaded heading row and a bold total row under the body."""
        self._pdf.ln(2)
        self._pdf.set_font(_FAMILY, "", _TEXT_PT)
        self._pdf.set_text_color(0)
        with self._pdf.table(
            col_widths=self._in_reading_order([column.width for column in columns]),
            text_align=self._in_reading_order([self._end if column.numeric else self._start for column in columns]),
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            headings_style=FontFace(emphasis="BOLD", fill_color=_SHADE),
            line_height=_LINE_MM + 1,
            padding=(1, 2),
        ) as table:
            table.row(self._in_reading_order([self._own_direction(column.heading) for column in columns]))
            for cells in rows:
                table.row(self._in_reading_order([self._own_direction(cell) for cell in cells]))
            table.row(self._in_reading_order([self._own_direction(cell) for cell in total]),
                      style=FontFace(emphasis="BOLD"))

    def callout(self, label: str, text: str) -> None:
        """A shaded, framed box for the one thing the reader must act on."""
        self._pdf.ln(4)
        self._pdf.set_draw_color(*_ACCENT)
        self._pdf.set_fill_color(*_SHADE)
        self._pdf.set_font(_FAMILY, "", _TEXT_PT)
        self._pdf.set_text_color(*_MUTED)
        # Label and text are two cells framed as one box: the first open at its bottom, the second at its top.
        self._paragraph(label, _LINE_MM, frame="LTR", padding=(2, 3, 0, 3))
        self._pdf.set_font(_FAMILY, "B", _TEXT_PT + 3)
        self._pdf.set_text_color(0)
        self._paragraph(text, _LINE_MM + 2, frame="LBR", padding=(1, 3, 3, 3))

    def note(self, text: str) -> None:
        self._pdf.ln(3)
        self._pdf.set_font(_FAMILY, "", _NOTE_PT)
        self._pdf.set_text_color(*_MUTED)
        self._paragraph(text, _NOTE_LINE_MM)

    def output(self) -> bytes:
        return bytes(self._pdf.output())

    def _paragraph(self, text: str, line_mm: float, frame: str = "", padding: tuple[int, ...] = (0,)) -> None:
        """Text across the full width from the start margin, wrapped; the next block starts below it.

        `frame` names the sides to draw ("LTR"); a framed paragraph is also shaded.
        """
        self._pdf.multi_cell(
            0,
            line_mm,
            self._own_direction(text),
            border=frame or 0,
            fill=bool(frame),
            align=self._start,
            padding=padding,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def _rule(self) -> None:
        self._pdf.set_draw_color(*_RULE)
        y = self._pdf.get_y() + 1
        self._pdf.line(self._pdf.l_margin, y, self._pdf.w - self._pdf.r_margin, y)
        self._pdf.set_y(y + 4)


def _new_pdf(lang: str, rtl: bool) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_margins(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN_MM)
    pdf.add_font(_FAMILY, "", _FONTS_DIR / "DejaVuSans.ttf")
    pdf.add_font(_FAMILY, "B", _FONTS_DIR / "DejaVuSans-Bold.ttf")
    # The paragraph direction is the locale's; HarfBuzz still guesses the script of each bidi run, so
    # Latin IBANs and invoice numbers inside Persian text keep their own shaping and reading order.
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if rtl else "ltr", language=lang)
    return pdf


def _set_metadata(pdf: FPDF, *, title: str, lang: str, author: str, created_at: datetime) -> None:
    pdf.set_title(title)
    pdf.set_lang(lang)
    pdf.set_author(author)
    pdf.set_creator("escrowdesk")
    # A fixed creation date (the document's own date) makes the same document render to the same bytes.
    pdf.set_creation_date(created_at)
