"""Writing an .xlsx by hand, streaming: the parts a reader needs and nothing else.

Cheap enough for a sheet of 1 048 576 rows (one row of XML at a time into the zip), and free
to write what no spreadsheet program would: a DOCTYPE in a part, an entity in a cell.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

MAX_ROWS = 1_048_576

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    "{sheets}</Types>"
)
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    "<sheets>{sheets}</sheets></workbook>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    "{rels}</Relationships>"
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{prolog}'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class Raw(str):
    """Cell content written as is (an entity reference, say), not escaped."""


def _cell(reference: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{reference}"><v>{value!r}</v></c>'
    text = str(value) if isinstance(value, Raw) else escape(str(value))
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


def row_xml(number: int, cells: list[Any]) -> str:
    """One ``<row>`` of inline cells."""
    inner = "".join(_cell(f"{column_letters(i)}{number}", value) for i, value in enumerate(cells))
    return f'<row r="{number}">{inner}</row>'


def write_xlsx(
    path: Path,
    sheets: dict[str, Iterable[tuple[int, list[Any]]]],
    *,
    prologs: dict[str, str] | None = None,
) -> Path:
    """Write ``sheets`` (name -> ``(excel_row, cells)`` in increasing rows) to ``path``.

    Args:
        path: the workbook.
        sheets: the rows of each sheet, streamed.
        prologs: sheet name -> text written between the XML declaration and the root (a
            DOCTYPE, say).
    """
    names = list(sheets)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr(
            "[Content_Types].xml",
            _CONTENT_TYPES.format(
                sheets="".join(_SHEET_TYPE.format(n=n) for n in range(1, len(names) + 1))
            ),
        )
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr(
            "xl/workbook.xml",
            _WORKBOOK.format(
                sheets="".join(
                    f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>'
                    for n, name in enumerate(names, 1)
                )
            ),
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            _WORKBOOK_RELS.format(
                rels="".join(
                    f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/'
                    f'officeDocument/2006/relationships/worksheet" '
                    f'Target="worksheets/sheet{n}.xml"/>'
                    for n in range(1, len(names) + 1)
                )
            ),
        )
        for n, name in enumerate(names, 1):
            prolog = (prologs or {}).get(name, "")
            with book.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as part:
                part.write(_SHEET_START.format(prolog=prolog).encode())
                chunk: list[str] = []
                for number, cells in sheets[name]:
                    chunk.append(row_xml(number, cells))
                    if len(chunk) >= 10_000:
                        part.write("".join(chunk).encode())
                        chunk.clear()
                part.write("".join(chunk).encode())
                part.write(_SHEET_END.encode())
    return path


def numbered(rows: list[list[Any]], first: int = 1) -> list[tuple[int, list[Any]]]:
    """Rows numbered from ``first``."""
    return [(first + i, row) for i, row in enumerate(rows)]
