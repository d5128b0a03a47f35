"""From pandas to plain Python values, and the row digest."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pipelines.load.rows import RowHasher, frame_records, python_values


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        (pd.Series([1, None, 3], dtype="Int64"), [1, None, 3]),
        (pd.Series([1.5, None], dtype="Float64"), [1.5, None]),
        (pd.Series([True, False], dtype="bool"), [True, False]),
        (pd.Series(["a", None, "é’–"], dtype="str"), ["a", None, "é’–"]),
        (pd.Series(pd.to_datetime(["2025-01-02", None])), [dt.date(2025, 1, 2), None]),
        (
            pd.Series([np.int64(7), np.float64(2.5), pd.NA, None], dtype=object),
            [7, 2.5, None, None],
        ),
        (
            pd.Series([pd.Timestamp("2025-03-04"), pd.NaT], dtype=object),
            [dt.date(2025, 3, 4), None],
        ),
    ],
)
def test_python_values(series: pd.Series, expected: list[object]) -> None:
    values = python_values(series)

    assert values == expected
    assert [type(v) for v in values] == [type(e) for e in expected]  # no numpy nor pandas types


def test_frame_records_takes_the_columns_asked_with_defaults_for_absent_ones() -> None:
    frame = pd.DataFrame({"a": pd.Series([1, 2], dtype="Int64"), "z": ["x", "y"]})

    rows = frame_records(frame, ["a", "b", "c"], optional=["b", "c"], defaults={"c": False})

    assert rows == [{"a": 1, "b": None, "c": False}, {"a": 2, "b": None, "c": False}]
    with pytest.raises(ValueError, match="columns missing from the validated frame: b"):
        frame_records(frame, ["a", "b"])


def test_row_hash_is_deterministic_and_follows_every_column() -> None:
    hasher = RowHasher(["n", "d", "t"])
    row = {"n": 1, "d": dt.date(2025, 1, 2), "t": "Prépa – sanitaire", "ignored": object()}

    digest = hasher(row)

    assert digest == RowHasher(["n", "d", "t"])(dict(row))
    assert len(digest) == 64
    assert hasher({**row, "t": "Prépa - sanitaire"}) != digest
    assert hasher({**row, "n": None}) != digest
    assert hasher({**row, "d": dt.date(2025, 1, 3)}) != digest
    assert RowHasher(["n", "d", "t", "u"])({**row, "u": None}) != digest  # a new column
