"""CSV for people who open it in Excel: ``;``, UTF-8 with BOM, cells safe from formula injection.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run as a
formula by a spreadsheet (``=HYPERLINK(...)``, ``=cmd|...``): such cells are prefixed with ``'``,
which the spreadsheet shows as text (OWASP's advice). Used by the quarantine and by the feeds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from pipelines.load.files import atomic_write_bytes

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: the same, as a set of first characters (``text[:1] in FORMULA_STARTS``: one look-up a cell)
FORMULA_STARTS = frozenset(FORMULA_PREFIXES)
SEPARATOR = ";"
ENCODING = "utf-8-sig"  # UTF-8 with BOM: Excel then reads accents right


def escape_cell(value: object) -> str:
    """Return a cell as text, prefixed with ``'`` when a spreadsheet would run it as a formula.

    Args:
        value: any value; None is the empty cell.

    Returns:
        The text to write.
    """
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def render_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """Render a CSV document (``;``, BOM, CRLF), every cell escaped.

    Args:
        header: the column names.
        rows: the rows, in the header's order.

    Returns:
        The encoded document.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n")
    writer.writerow([escape_cell(h) for h in header])
    writer.writerows([escape_cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode(ENCODING)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a safe CSV file atomically.

    Args:
        path: the file to write (its folder is created).
        header: the column names.
        rows: the rows, in the header's order.

    Returns:
        ``path``.
    """
    atomic_write_bytes(path, render_csv(header, rows))
    return path
