"""The catalogue's rows written at once: byte for byte what xlsxwriter's own methods write."""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable, Sequence

import pytest
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from pipelines.load.catalogue_feed import HEADER_FORMAT, WORKBOOK_OPTIONS
from pipelines.load.catalogue_sheet import CatalogueSheet, Cell

CREATED = dt.datetime(2025, 3, 2)
#: texts xlsxwriter escapes, truncates, or marks to keep their blanks
TEXTS = [
    "texte", "", " début", "fin ", "\tpas à pas", "ligne\n", "\u00a0insécable", "sep\u2028",
    "a & b < c > d \"cité\" 'apostrophe'", "=HYPERLINK(\"http://x\")", "@SUM(1)", "-1", "+33",
    "contrôle \x01\x1f\x0b fin", "seul \x1f", "\x0cpage", "nul\x00", "_x0041_ déjà échappé", "_x00e9_", "x\ufffe\uffff",
    "<r>début seul", "fin seule</r>", "é" * 16383, "é" * 16384, "😀" * 16383 + "abc",
    "🎓 emoji", "\r\n", "  ", "x" * 32767,
]  # fmt: skip
NUMBERS = [0, 1, -5, 455, 5835.06, 0.1, 1e20, 1.5e-7, -0.0, 2**53 + 1, 12.0]


def build(write: Callable[[Worksheet, dt.date], None]) -> bytes:
    """A workbook as the catalogue opens one, its rows written by ``write``."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, WORKBOOK_OPTIONS)
    book.set_properties({"title": "t", "created": CREATED})
    header = book.add_format(HEADER_FORMAT)
    sheet = book.add_worksheet("Feuille", CatalogueSheet)
    sheet.freeze_panes(1, 0)
    sheet.set_row(0, 32)
    sheet.set_column(0, 0, 12)
    sheet.set_column(3, 3, 20, book.add_format({"italic": True}))  # a column with a format
    for col in range(4):
        sheet.write_string(0, col, f"Titre {col}", header)
    formats = {"date": book.add_format({"num_format": "dd/mm/yyyy"}),
               "quoted": book.add_format({"quote_prefix": True})}  # fmt: skip
    write(sheet, formats)  # type: ignore[arg-type]
    sheet.autofilter(0, 0, 60, 3)
    book.close()
    return out.getvalue()


def rows(formats: dict[str, object]) -> list[tuple[int, Sequence[Cell]]]:
    """Rows of tricky cells (some with gaps, one empty, some xlsxwriter-only)."""
    date, quoted = formats["date"], formats["quoted"]
    found: list[tuple[int, Sequence[Cell]]] = []
    for index, text in enumerate(TEXTS):
        style = quoted if index % 3 == 0 else None
        found.append((index + 1, [(0, text, style), (3, text, None)]))  # type: ignore[list-item]
    row = len(found) + 1
    found.append((row, [(1, n, None) for n in NUMBERS[:3]]))
    found.append(
        (row + 1, [(0, n, None) for n in NUMBERS[3:4]] + [(2, n, None) for n in NUMBERS[4:5]])
    )
    found.append((row + 2, []))
    found.append((row + 4, [(0, dt.date(2025, 3, 2), date), (1, dt.date(1900, 2, 28), None),
                            (2, dt.datetime(2025, 3, 2, 12, 30), date), (3, 7.25, None)]))  # fmt: skip
    found.append((row + 5, [(0, "nombre", None), (1, math.nan, None)]))  # xlsxwriter refuses NaN
    found.append((row + 6, [(col, n, None) for col, n in enumerate(NUMBERS[5:9])]))
    found.append((row + 7, [(0, True, None), (1, NUMBERS[9], None), (2, NUMBERS[10], None)]))  # type: ignore[list-item]
    return found


def generic(sheet: Worksheet, formats: dict[str, object]) -> None:
    """The reference: each cell through xlsxwriter's ``write_*`` methods."""
    for row, cells in rows(formats):
        for col, value, cell_format in cells:
            if isinstance(value, str):
                sheet.write_string(row, col, value, cell_format)
            elif isinstance(value, dt.datetime):
                sheet.write_datetime(row, col, value, cell_format)
            elif isinstance(value, dt.date):
                sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), cell_format)
            elif isinstance(value, float) and math.isnan(value):
                continue  # refused by xlsxwriter: left out of both
            else:
                sheet.write_number(row, col, value, cell_format)


def at_once(sheet: CatalogueSheet, formats: dict[str, object]) -> None:
    for row, cells in rows(formats):
        kept = [c for c in cells if not (isinstance(c[1], float) and math.isnan(c[1]))]
        sheet.append_row(row, kept)


def test_rows_written_at_once_are_byte_for_byte_xlsxwriter_s() -> None:
    assert build(at_once) == build(generic)  # type: ignore[arg-type]


def test_a_row_xlsxwriter_would_change_goes_through_its_methods() -> None:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, WORKBOOK_OPTIONS)
    sheet = book.add_worksheet("Feuille", CatalogueSheet)
    plain = [(0, "texte", None), (1, 3, None)]
    assert sheet._plain(1, plain)  # type: ignore[arg-type]
    assert not sheet._plain(1, [(0, "é" * 16384, None)])  # may be truncated (UTF-16)
    assert sheet._plain(1, [(0, "<r><t>x</t></r>", None)])  # text, escaped like any other
    assert not sheet._plain(1, [(0, math.inf, None)])
    assert not sheet._plain(1, [(0, True, None)])  # type: ignore[list-item]
    assert not sheet._plain(1, [(1, "b", None), (0, "a", None)])  # columns out of order
    sheet.set_row(2, 20)
    assert not sheet._plain(2, plain)  # type: ignore[arg-type]  # the row has its own height
    sheet.append_row(3, plain)  # type: ignore[arg-type]
    assert not sheet._plain(3, plain) and not sheet._plain(2, plain)  # type: ignore[arg-type]
    book.close()


@pytest.mark.parametrize("constant_memory", [True, False])
def test_without_constant_memory_every_row_goes_through_xlsxwriter(constant_memory: bool) -> None:
    options = {**WORKBOOK_OPTIONS, "constant_memory": constant_memory}
    written = []
    for append in (True, False):
        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, options)
        book.set_properties({"created": CREATED})
        sheet = book.add_worksheet("Feuille", CatalogueSheet)
        cells: list[Cell] = [(0, "a & b", None), (2, 12.5, None), (3, dt.date(2025, 1, 2), None)]
        for row in (1, 2):
            if append:
                sheet.append_row(row, cells)
            else:
                sheet._write_generic(row, cells)
        book.close()
        written.append(out.getvalue())
    assert written[0] == written[1]


#: a text xlsxwriter would copy into the sheet as XML: here a formula cell
MARKUP = "<r><t>x</t></r><r><f>1+1</f></r>"


@pytest.mark.parametrize("constant_memory", [True, False])
def test_a_text_shaped_like_xlsxwriter_markup_is_written_as_text(constant_memory: bool) -> None:
    import zipfile

    import openpyxl

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {**WORKBOOK_OPTIONS, "constant_memory": constant_memory})
    sheet = book.add_worksheet("Feuille", CatalogueSheet)
    sheet.append_row(1, [(0, MARKUP, None)])  # the fast path
    sheet.set_row(2, 20)
    sheet.append_row(2, [(0, MARKUP, None)])  # a row of its own height: xlsxwriter's methods
    book.close()
    with zipfile.ZipFile(out) as archive:
        xml = b"".join(archive.read(n) for n in archive.namelist() if n.startswith("xl/"))
    assert b"<f>" not in xml
    cells = openpyxl.load_workbook(out)["Feuille"]
    assert [cells["A2"].value, cells["A3"].value] == [MARKUP, MARKUP]
