"""Rows of a validated frame as plain Python values (``offer_rows.records``): the same values,
of the same types, as :func:`pipelines.load.rows.python_values` gives column by column."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from pipelines.load.offer_rows import records
from pipelines.load.rows import python_values


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": pd.Series(["a", None, np.nan], dtype=object),
            "mixed": pd.Series(["a", np.int64(3), pd.Timestamp("2025-03-01")], dtype=object),
            "empty": pd.Series([None, np.nan, None], dtype=object),
            "flag": pd.Series([True, False, True], dtype=bool),
            "count": pd.Series([1, None, 3], dtype="Int64"),
            "amount": pd.Series([1.5, None, 2.0], dtype="Float64"),
            "maybe": pd.Series([True, None, False], dtype="boolean"),
            "day": pd.to_datetime(pd.Series(["2025-03-01 13:45", None, "2025-04-02 00:00"])),
        }
    ).set_axis(pd.Index([4, 7, 9], name="row"))


def _typed(rows: list[dict[str, Any]]) -> list[list[tuple[str, type, Any]]]:
    return [[(k, type(v), v) for k, v in row.items()] for row in rows]


def test_records_give_plain_python_values() -> None:
    rows = records(_frame())
    assert _typed(rows) == _typed(
        [
            {"text": "a", "mixed": "a", "empty": None, "flag": True, "count": 1, "amount": 1.5,
             "maybe": True, "day": dt.date(2025, 3, 1)},
            {"text": None, "mixed": 3, "empty": None, "flag": False, "count": None,
             "amount": None, "maybe": None, "day": None},
            {"text": None, "mixed": dt.date(2025, 3, 1), "empty": None, "flag": True,
             "count": 3, "amount": 2.0, "maybe": False, "day": dt.date(2025, 4, 2)},
        ]
    )  # fmt: skip


def test_records_agree_with_python_values_column_by_column() -> None:
    frame = _frame()
    rows = records(frame)
    for column in frame.columns:
        expected = python_values(frame[column])
        if column in ("text", "empty"):  # texts are taken as they are (None for missing)
            expected = frame[column].where(frame[column].notna(), None).tolist()
        assert [(type(r[column]), r[column]) for r in rows] == [
            (type(v), v) for v in expected
        ], column
