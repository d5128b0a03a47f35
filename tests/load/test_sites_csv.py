"""``sessions.csv``'s rows: planned once for the columns, the same cells as column by column."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipelines.load.safe_csv import FORMULA_PREFIXES, FORMULA_STARTS, escape_cell
from pipelines.load.sites_csv import CsvColumn, CsvRows, csv_columns

RISKY = ["=1+1", "+33", "-3", "@SUM(A1)", "\t=1", "\r=1", "a=b", "", " espace", "texte ; ok"]


def reference(columns: tuple[CsvColumn, ...], record: dict[str, Any]) -> list[str]:
    """What a row was before it was planned: each column's cell, escaped."""
    return [escape_cell(c.cell(record)) for c in columns]


def record_with(value_of: Any) -> dict[str, Any]:
    """A record holding every column's field; ``value_of(index, column)`` gives each value."""
    record: dict[str, Any] = {}
    for index, column in enumerate(csv_columns()):
        group = record
        for key in column.path[:-1]:
            group = group.setdefault(key, {})
        group[column.path[-1]] = value_of(index, column)
    return record


def hostile(index: int, column: CsvColumn) -> Any:
    """Values of every kind a column may meet, risky first characters included."""
    if column.source == "informations_collectives":
        return [{"date": "2025-03-02", "heure_debut": "-9h", "heure_fin": None, "lieu": "=A1"}]
    if column.source == "periodes_inscription":
        return [{"type": None, "date_debut": "2025-01-02", "date_fin": None}]
    if column.kind in ("number", "integer"):
        return [-3, 12.0, 5835.06, -0.5, 0, True, "7", 1e20][index % 8]
    if column.kind == "boolean":
        return [True, False, 0, "non"][index % 4]
    if column.kind == "date":
        return ["2025-03-02", "", "-2025-01-01"][index % 3]
    return [*RISKY, ["=a", "b"], 42, 3.5, False][index % (len(RISKY) + 4)]


@pytest.mark.parametrize("shift", range(6))
def test_planned_rows_are_the_column_by_column_cells(shift: int) -> None:
    columns = csv_columns()
    record = record_with(lambda index, column: hostile(index + shift, column))
    assert CsvRows(columns)(record) == reference(columns, record)


def test_missing_groups_fields_and_groups_that_are_not_groups() -> None:
    columns = csv_columns()
    rows = CsvRows(columns)
    full = record_with(lambda index, column: hostile(index, column))
    variants = []
    for change in (
        lambda r: r.update(organisme_responsable=None),
        lambda r: r["referents"].update(pmr=None, prf="=texte"),
        lambda r: r.pop("lot"),
        lambda r: r.update(lot=["liste"]),
        lambda r: r["formation"].pop("intitule_formation"),  # a field missing: column by column
        lambda r: r["referents"]["mobilite"].pop("email"),
    ):
        record = copy.deepcopy(full)
        change(record)
        variants.append(record)
    for record in variants:
        assert rows(record) == reference(columns, record)
    assert rows({}) == reference(columns, {}) == [""] * len(columns)


def test_formula_starts_are_the_formula_prefixes() -> None:
    assert all(len(prefix) == 1 for prefix in FORMULA_PREFIXES)
    assert frozenset(FORMULA_PREFIXES) == FORMULA_STARTS


def test_a_single_column_gives_a_row_of_one_cell() -> None:
    rows = CsvRows([CsvColumn("A", "string", "a.b")])
    assert rows({"a": {"b": "=x"}}) == ["'=x"] and rows({}) == [""]
