"""Parsing a sheet's raw cells: each distinct cell is parsed once, and equal cells of
different types (``1``, ``1.0``, ``True``) are still parsed each by its own type."""

from __future__ import annotations

import pandas as pd

from pipelines.extract.sheets import LocatedSheet
from pipelines.transform.parse import CellProblem, parse_sheet
from schemas.extraction import ACTIONS


def _sheet(**cells: list[object]) -> LocatedSheet:
    rows = len(next(iter(cells.values())))
    index = pd.Index(range(2, 2 + rows), dtype="int64", name="row")
    data = {c.name: cells.get(c.name, [None] * rows) for c in ACTIONS.columns}
    raw = pd.DataFrame(data, index=index, dtype=object)
    return LocatedSheet(ACTIONS, "Actions", 1, raw)


def test_equal_cells_of_different_types_are_parsed_by_their_own_type() -> None:
    sheet = _sheet(
        nb_places=[True, 1, 1.0, "1", True, "1 200"],
        date_debut_prevue=[False, 0, 0.0, 45658, 45658.0, "01/01/2025"],
    )

    typed, problems = parse_sheet(sheet)

    assert typed["nb_places"].tolist() == [pd.NA, 1, 1, 1, pd.NA, 1200]
    assert typed["date_debut_prevue"].isna().tolist() == [True, True, True, False, False, False]
    assert {d.date().isoformat() for d in typed["date_debut_prevue"].dropna()} == {"2025-01-01"}
    # a bad cell repeated is reported on every row, not once
    assert sorted(problems, key=lambda p: (p.column, p.row)) == [
        CellProblem(2, "date_debut_prevue", "date-invalide"),
        CellProblem(2, "nb_places", "type-invalide"),
        CellProblem(6, "nb_places", "type-invalide"),
    ]
