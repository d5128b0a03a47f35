"""Finding each sheet's header and turning its rows into a frame of raw cells.

The header is the row, among the first ones, that names the most known columns: title rows
above it and blank rows or columns are skipped. The frame keeps the cells as read (parsing is
the next step) under canonical column names, indexed by the row number as Excel shows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipelines.errors import ExtractionFileError
from pipelines.extract.names import is_exact_sheet_name, normalise_name, sheet_matches
from pipelines.extract.values import as_text
from pipelines.extract.workbook import RawSheet
from schemas.extraction import Sheet

logger = logging.getLogger(__name__)

#: How many rows from the top may hold titles before the header.
HEADER_SEARCH_ROWS = 30


@dataclass
class LocatedSheet:
    """A sheet whose header was found.

    Attributes:
        spec: the contract of the sheet.
        name: its name as it arrived.
        header_row: the header's row number (as Excel shows it).
        raw: the data rows' cells as read, canonical columns, index = Excel row number.
        ignored_columns: headers not in the contract (kept in the archived file, not read).
        date1904: the workbook counts date serials from 1904.
        headers: canonical column -> its header as written in the file (for messages).
    """

    spec: Sheet
    name: str
    header_row: int
    raw: pd.DataFrame
    ignored_columns: list[str] = field(default_factory=list)
    date1904: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, column: str) -> str:
        """The header of ``column`` as the file writes it (the canonical name if absent)."""
        return self.headers.get(column, column)


def _names_of(spec: Sheet) -> dict[str, str]:
    """Map every normalised name and alias of the sheet's columns to the canonical name."""
    names: dict[str, str] = {}
    for column in spec.columns:
        for name in (column.name, *column.aliases):
            names.setdefault(normalise_name(name), column.name)
    return names


def find_sheet(sheets: list[RawSheet], spec: Sheet, file_name: str) -> tuple[RawSheet, str | None]:
    """Pick the sheet of the workbook that is ``spec``.

    Returns:
        The sheet, and a French warning when it matched under another name.

    Raises:
        ExtractionFileError: no sheet matches (``feuille-manquante``) or several do
            (``feuille-ambigue``).
    """
    matches = [s for s in sheets if sheet_matches(s.name, spec.name)]
    if not matches:
        raise ExtractionFileError(file_name, "feuille-manquante", sheet=spec.title)
    if len(matches) > 1:
        raise ExtractionFileError(
            file_name,
            "feuille-ambigue",
            sheet=spec.title,
            detail=", ".join(f"« {s.name} »" for s in matches),
        )
    found = matches[0]
    if is_exact_sheet_name(found.name, spec.name):
        return found, None
    return found, f"La feuille « {found.name} » est lue comme la feuille « {spec.title} »."


def locate(sheet: RawSheet, spec: Sheet, file_name: str) -> LocatedSheet:
    """Find the header of ``sheet`` and build its frame of raw cells.

    Raises:
        ExtractionFileError: empty sheet, missing required column, or two headers naming the
            same column.
    """
    names = _names_of(spec)
    most = len(set(names.values()))  # a row naming every column: no later row can beat it
    best_row, best_score = -1, 0
    for index, cells in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        score = len({names[n] for n in (_header_key(c) for c in cells) if n in names})
        if score > best_score:
            best_row, best_score = index, score
            if score == most:
                break
    if best_score == 0:
        if not any(as_text(c) for row in sheet.rows for c in row):
            raise ExtractionFileError(file_name, "feuille-vide", sheet=spec.title)
        missing = [c.name for c in spec.columns if c.required]
        raise ExtractionFileError(
            file_name, "colonne-manquante", sheet=spec.title, column=", ".join(missing)
        )
    header = sheet.rows[best_row]
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for position, cell in enumerate(header):
        key = _header_key(cell)
        if not key:
            continue
        canonical = names.get(key)
        if canonical is None:
            ignored.append(str(as_text(cell)))
        elif canonical in positions:
            raise ExtractionFileError(
                file_name,
                "colonne-ambigue",
                sheet=spec.title,
                column=canonical,
                detail=f"« {as_text(header[positions[canonical]])} » et « {as_text(cell)} »",
            )
        else:
            positions[canonical] = position
    missing = [c.name for c in spec.columns if c.required and c.name not in positions]
    if missing:
        raise ExtractionFileError(
            file_name, "colonne-manquante", sheet=spec.title, column=", ".join(missing)
        )
    raw = _frame(sheet, best_row + 1, positions, spec)
    if raw.empty and not spec.allow_empty:
        raise ExtractionFileError(file_name, "feuille-vide", sheet=spec.title)
    logger.info("%s / %s: header on row %d, %d rows", file_name, sheet.name, best_row + 1, len(raw))
    headers = {name: str(as_text(header[p])).strip() for name, p in positions.items()}
    return LocatedSheet(spec, sheet.name, best_row + 1, raw, ignored, sheet.date1904, headers)


def _header_key(cell: Any) -> str:
    text = as_text(cell)
    return normalise_name(text) if text else ""


def _frame(sheet: RawSheet, first: int, positions: dict[str, int], spec: Sheet) -> pd.DataFrame:
    """Build the frame of data rows below the header, blank rows skipped.

    Column by column: each column's cells are taken from every row at once (blank text is
    None), then the rows where every column is None are dropped.
    """
    columns = [c.name for c in spec.columns]
    rows = sheet.rows[first:]
    taken = {name: _column(rows, positions[name]) for name in columns if name in positions}
    filled: set[int] = set()
    for values in taken.values():
        if len(filled) == len(rows):
            break
        filled.update(i for i, v in enumerate(values) if v is not None)
    kept = sorted(filled)
    if len(kept) < len(rows):
        taken = {name: [values[i] for i in kept] for name, values in taken.items()}
    # one object block, filled column by column (cells are scalars): what pandas would build
    # from a dict of lists, without converting and stacking each list
    block = np.full((len(columns), len(kept)), None, dtype=object)
    for position, name in enumerate(columns):
        if name in taken:
            block[position, :] = taken[name]
    index = pd.Index([first + i + 1 for i in kept], dtype="int64", name="row")
    return pd.DataFrame(block.T, index=index, columns=columns, dtype=object)


def _column(rows: list[list[Any]], position: int) -> list[Any]:
    """The cells of every row at ``position``: None when blank (calamine gives ``""`` for empty
    cells) or beyond the row's end."""
    return [
        None if isinstance(v := row[position] if position < len(row) else None, str)
        and not v.strip() else v
        for row in rows
    ]  # fmt: skip
