"""From validated DataFrames to plain rows for the database, and the digest of a row.

pandas gives ``NA``/``NaT``, numpy scalars and ``Timestamp``; drivers want ``None``, Python
scalars and ``datetime.date``. The conversion is done column by column (vectorised), not cell by
cell.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def frame_records(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    optional: Iterable[str] = (),
    defaults: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Return the rows of ``frame`` as dicts of plain Python values.

    Args:
        frame: a validated sheet (canonical columns; see ``schemas.extraction``).
        columns: the columns to take, in order.
        optional: columns that may be absent from the frame.
        defaults: the value of an absent optional column (None unless given).

    Returns:
        One dict per row, ``None`` for missing values, ``datetime.date`` for dates.

    Raises:
        ValueError: a column that is not optional is absent.
    """
    optional = set(optional)
    missing = [c for c in columns if c not in frame.columns and c not in optional]
    if missing:
        raise ValueError(f"columns missing from the validated frame: {', '.join(missing)}")
    defaults = defaults or {}
    values = {
        c: python_values(frame[c]) if c in frame.columns else [defaults.get(c)] * len(frame)
        for c in columns
    }
    return [dict(zip(columns, row, strict=True)) for row in zip(*values.values(), strict=True)]


def python_values(series: pd.Series) -> list[Any]:
    """Return a column as a list of Python values (None for NA, dates for datetimes)."""
    present = series.notna()
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        series = series.dt.date
    values = series.astype(object).where(present, None).tolist()
    if series.dtype == object:
        values = [_python(v) for v in values]
    return values


def _python(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    return value


class RowHasher:
    """SHA-256 of a row's business columns: the same values always give the same digest.

    The column names are part of the digest, so adding a column changes every row's hash (and
    the next load rewrites them once).
    """

    def __init__(self, columns: Sequence[str]) -> None:
        """Prepare the hasher for ``columns``, in that order."""
        self.columns = tuple(columns)
        self._prefix = hashlib.sha256(json.dumps(self.columns).encode())

    def __call__(self, row: dict[str, Any]) -> str:
        """Return the hex digest of ``row``'s values for the columns."""
        digest = self._prefix.copy()
        digest.update(_ENCODER.encode([row[c] for c in self.columns]).encode())
        return digest.hexdigest()


def _json_default(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot hash a value of type {type(value).__name__}")


#: Canonical JSON of a row's values: dates as ISO text, no spaces, accents as they are.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default)
