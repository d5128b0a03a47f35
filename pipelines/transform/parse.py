"""Parsing raw cells into typed columns, one problem per cell that cannot be read.

The typed frame has the dtypes the pandera models expect: text as Python ``str``/None (object),
``Int64``, ``Float64``, ``datetime64`` and ``bool``. A cell that cannot be parsed becomes a
missing value in the typed frame and a :class:`CellProblem`, so the schema does not report it
a second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd

from pipelines.extract.sheets import LocatedSheet
from pipelines.extract.values import PARSERS, BadValue, parse_date


@dataclass(frozen=True)
class CellProblem:
    """A cell that could not be parsed."""

    row: int
    column: str
    reason: str


def parse_sheet(sheet: LocatedSheet) -> tuple[pd.DataFrame, list[CellProblem]]:
    """Parse every cell of a located sheet according to its column's kind.

    Each distinct cell of a column is parsed once: a column repeats the same communes, dates
    and keys over and over.

    Returns:
        The typed frame (same index as ``sheet.raw``) and the cells that could not be parsed.
    """
    raw = sheet.raw
    rows = raw.index.tolist()
    problems: list[CellProblem] = []
    columns: dict[str, Any] = {}
    cells_of = _cells(raw)
    for column in sheet.spec.columns:
        parser: Callable[[Any], Any] = (
            partial(parse_date, date1904=sheet.date1904)
            if column.kind == "date"
            else PARSERS[column.kind]
        )
        cells = cells_of(column.name)
        # keyed by type too: 1, 1.0 and True are equal but not parsed alike
        keys = list(zip(map(type, cells), cells, strict=True))
        parsed = {key: _parse(parser, key[1]) for key in dict.fromkeys(keys)}
        values = [parsed[key] for key in keys]
        if any(isinstance(value, BadValue) for value in parsed.values()):
            failed = False if column.kind == "bool" else None
            for position, value in enumerate(values):
                if isinstance(value, BadValue):
                    problems.append(CellProblem(int(rows[position]), column.name, value.reason))
                    values[position] = failed
        columns[column.name] = _typed(values, column.kind, raw.index)
    return pd.DataFrame(columns, index=raw.index), problems


def _cells(raw: pd.DataFrame) -> Callable[[str], list[Any]]:
    """How to take a column's cells as a list: a frame of raw cells (object columns only, as
    the readers build it) gives them straight from its one block, not column by column."""
    objects = all(map(pd.api.types.is_object_dtype, raw.dtypes))
    if len(raw.columns) and raw.columns.is_unique and objects:
        block = raw.to_numpy(dtype=object)
        position = {name: i for i, name in enumerate(raw.columns)}
        return lambda name: block[:, position[name]].tolist()
    return lambda name: raw[name].tolist()


def _parse(parser: Callable[[Any], Any], cell: Any) -> Any:
    """The parsed value of a cell, or the :class:`BadValue` saying why it cannot be read."""
    try:
        return parser(cell)
    except BadValue as bad:
        return bad


def _typed(values: list[Any], kind: str, index: pd.Index) -> pd.Series:
    if kind == "int":
        return pd.Series(values, index=index, dtype="Int64")
    if kind in ("number", "percent"):
        return pd.Series(values, index=index, dtype="Float64")
    if kind == "date":
        return pd.Series(pd.to_datetime(pd.Series(values, index=index, dtype=object)), index=index)
    if kind == "bool":
        return pd.Series(values, index=index, dtype=bool)
    return pd.Series(values, index=index, dtype=object)
