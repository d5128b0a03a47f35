"""Deliveries of several years for backfill tests, derived from the minimal 2025 workbooks.

Each year has the Région's extraction of January, the organisations' entries of March and a
second extraction in June (one lot with more places). Organisations keep their formations
(``F-PSS``...) from one year to the next, as they do: those rows are shared by the years.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from tests.entries import minimal_entries, write_entries
from tests.workbooks import minimal_sheets, write_workbook

_ACTION_ID = re.compile(r"1000(\d\d)")


def for_year(value: Any, year: int) -> Any:
    """``value`` of the 2025 workbooks moved to ``year`` (years, dates, lots, action ids)."""
    if isinstance(value, list):
        return [for_year(v, year) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value == 2025:
            return year
        if 100000 < value < 100100:
            return value + (year - 2025) * 1000
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.replace(year=value.year + year - 2025)
    if isinstance(value, str) and not value.isdigit():
        text = value.replace("2025", str(year))
        return _ACTION_ID.sub(lambda m: str(100000 + (year - 2025) * 1000 + int(m[1])), text)
    return value


def write_year(folder: Path, year: int) -> list[Path]:
    """Write ``year``'s three deliveries into ``folder`` (created); return them."""
    folder.mkdir(parents=True, exist_ok=True)
    sheets = {name: for_year(rows, year) for name, rows in minimal_sheets().items()}
    first = write_workbook(folder / f"prf_{year}_{year}0115.xlsx", sheets)
    entries = {name: for_year(rows, year) for name, rows in minimal_entries().items()}
    saisie = write_entries(folder, entries, day=f"{year}0301")
    sheets["Lots"][1][4] += 5  # nb_places of the first lot
    later = write_workbook(folder / f"prf_{year}_{year}0601.xlsx", sheets)
    return [first, saisie, later]
