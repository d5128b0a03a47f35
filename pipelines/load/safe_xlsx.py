"""Texts written into workbooks with xlsxwriter as text, never as markup.

xlsxwriter writes a string that starts with ``<r>`` and ends with ``</r>`` into the sheet (or
the shared strings) as raw XML: it takes it for one of its own rich strings. A text from an
organisation's entry shaped like that would put its own XML into the workbook, a formula
(``<f>``) included, past ``strings_to_formulas`` and the quote prefix. :func:`write_text` writes
such a text as three plain fragments of a rich string, which xlsxwriter escapes: the cell shows
exactly the text. Every other text goes through ``write_string`` unchanged.
"""

from __future__ import annotations

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet


def is_raw_markup(text: str) -> bool:
    """Whether xlsxwriter would copy ``text`` into the workbook as XML."""
    return text.startswith("<r>") and text.endswith("</r>")


def write_text(
    sheet: Worksheet, row: int, col: int, text: str, cell_format: Format | None = None
) -> None:
    """``sheet.write_string``, except that a text xlsxwriter would copy as XML is escaped."""
    if is_raw_markup(text):
        # "<", "r", ">…</r>": more than two fragments, as write_rich_string requires
        fragments = (text[:1], text[1:2], text[2:])
        if cell_format is None:
            sheet.write_rich_string(row, col, *fragments)
        else:
            sheet.write_rich_string(row, col, *fragments, cell_format)
    else:
        sheet.write_string(row, col, text, cell_format)
