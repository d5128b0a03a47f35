"""A worksheet that writes a whole row of plain cells at once, byte for byte as xlsxwriter would.

In ``constant_memory`` mode xlsxwriter keeps one row in memory and turns each cell into XML
through several generic calls (A1 notation check, dimension check, a cell tuple, a format
lookup, three escapes); for the catalogue's 28 columns that is most of a publication's workbook
time. :meth:`CatalogueSheet.append_row` writes the same XML for a row of in-line strings,
numbers and dates in one string. Any row it cannot prove identical (a string xlsxwriter would
truncate, a number that is not finite, a row with its own height or
comments, not ``constant_memory``...) goes through xlsxwriter's own ``write_*`` methods, and
``tests/load/test_catalogue_sheet.py`` compares both on tricky values.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from pipelines.load.safe_xlsx import write_text

#: a value in a cell: an in-line string, a number, or a date (shown with its format)
Cell = tuple[int, str | int | float | dt.date, Format | None]
#: what xlsxwriter's ``_escape_control_characters`` changes (else the string is kept as is)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
#: the dates whose Excel serial number is kept (a few years of days; then started again)
_SERIALS = 4096


class CatalogueSheet(Worksheet):  # type: ignore[misc]
    """An xlsxwriter worksheet (``workbook.add_worksheet(name, CatalogueSheet)``) with
    :meth:`append_row`; everything else is xlsxwriter's."""

    #: xlsxwriter's extent of the cells written (None before the first)
    dim_rowmin: int | None
    dim_rowmax: int | None
    dim_colmin: int | None
    dim_colmax: int | None

    def __init__(self) -> None:
        """Start as xlsxwriter's worksheet, with empty caches of column names and dates."""
        super().__init__()
        self._columns: dict[int, str] = {}
        self._serials: dict[dt.date, str] = {}

    def append_row(self, row: int, cells: Sequence[Cell]) -> None:
        """Write the cells of a new row (below every row written so far), in column order.

        Args:
            row: the row (zero indexed), greater than any row written before.
            cells: ``(column, value, format)`` in increasing column order; a value is a
                string (in-line string), an int or float (number), or a date (a date cell:
                its format, else the workbook's default date format).
        """
        if not cells:
            return
        if not self._plain(row, cells):
            self._write_generic(row, cells)
            return
        self._write_single_row(row)  # the row xlsxwriter holds (the header) goes first
        first, last = cells[0][0], cells[-1][0]
        if self.dim_rowmin is None or row < self.dim_rowmin:
            self.dim_rowmin = row
        if self.dim_rowmax is None or row > self.dim_rowmax:
            self.dim_rowmax = row
        if self.dim_colmin is None or first < self.dim_colmin:
            self.dim_colmin = first
        if self.dim_colmax is None or last > self.dim_colmax:
            self.dim_colmax = last
        number = str(row + 1)
        parts = []
        for col, value, cell_format in cells:
            ref = self._columns.get(col) or self._column_name(col)
            if cell_format is None:
                if value.__class__ is dt.date or value.__class__ is dt.datetime:
                    cell_format = self.default_date_format
                elif col in self.col_info:
                    cell_format = self.col_info[col].column_format
            style = "" if cell_format is None else f' s="{cell_format._get_xf_index()}"'
            if value.__class__ is str:
                text = value
                if _CONTROL.search(text):
                    text = self._escape_control_characters(text)
                space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
                if "&" in text or "<" in text or ">" in text:
                    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                parts.append(f'<c r="{ref}{number}"{style} t="inlineStr"><is><t{space}>{text}'
                             "</t></is></c>")  # fmt: skip
            else:
                if value.__class__ is dt.date or value.__class__ is dt.datetime:
                    serial = self._serials.get(value) or self._serial(value)  # type: ignore[arg-type]
                else:
                    serial = f"{value:.16G}"
                parts.append(f'<c r="{ref}{number}"{style}><v>{serial}</v></c>')
        self._write_row(row, None)
        parts.append("</row>")
        self.fh.write("".join(parts))

    def _plain(self, row: int, cells: Sequence[Cell]) -> bool:
        """Whether :meth:`append_row` writes this row exactly as xlsxwriter would."""
        if not (self.constant_memory and self.previous_row < row < self.xls_rowmax):
            return False
        if row in self.row_info or row in self.comments:
            return False
        previous = -1
        for col, value, _format in cells:
            if not previous < col < self.xls_colmax:
                return False
            previous = col
            kind = value.__class__
            if isinstance(value, str):
                if kind is not str or len(value) > self.xls_strmax // 2:
                    return False
            elif isinstance(value, int | float):
                if (kind is not int and kind is not float) or not math.isfinite(value):
                    return False
            elif kind is not dt.date and kind is not dt.datetime:
                return False
            elif getattr(value, "tzinfo", None) is not None:
                return False
        return True

    def _write_generic(self, row: int, cells: Sequence[Cell]) -> None:
        """The row through xlsxwriter's own methods (the reference :meth:`append_row` follows)."""
        for col, value, cell_format in cells:
            if isinstance(value, str):
                write_text(self, row, col, value, cell_format)
            elif isinstance(value, dt.datetime):
                self.write_datetime(row, col, value, cell_format)
            elif isinstance(value, dt.date):
                self.write_datetime(row, col, dt.datetime.combine(value, dt.time()), cell_format)
            else:
                self.write_number(row, col, value, cell_format)

    def _column_name(self, col: int) -> str:
        self._columns[col] = name = xl_col_to_name(col)
        return name

    def _serial(self, value: dt.date) -> str:
        if value.__class__ is dt.date:
            serial = self._convert_date_time(dt.datetime.combine(value, dt.time()))
        else:
            serial = self._convert_date_time(value)
        if len(self._serials) >= _SERIALS:
            self._serials.clear()
        self._serials[value] = found = f"{serial:.16G}"
        return found
