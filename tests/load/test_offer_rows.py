"""Rows of a validated frame as plain Python values (``offer_rows.records``): the same values,
of the same types, as :func:`pipelines.load.rows.python_values` gives column by column; the ids
``offer_rows.upsert`` gives new and stored rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table, orm, select

from pipelines.load.offer_rows import (
    IN_CHUNK,
    Merge,
    MergeResult,
    ids_of,
    key_filters,
    records,
    upsert,
)
from pipelines.load.rows import python_values
from schemas import store


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
        assert [(type(r[column]), r[column]) for r in rows] == [(type(v), v) for v in expected], (
            column
        )


def test_upsert_gives_each_new_row_the_id_the_store_holds_for_its_key(db: orm.Session) -> None:
    table: Table = store.Formation.__table__  # type: ignore[assignment]
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    fields = ("intitule_formation",)

    def rows(*refs: str) -> list[dict[str, Any]]:
        return [{"siret": siret, "ref_formation": ref, "intitule_formation": f"F {ref}"}
                for siret, ref in (r.split("/") for r in refs)]  # fmt: skip

    with db.begin():
        first = upsert(Merge(db, now, None, MergeResult()), table, "formations",  # type: ignore[arg-type]
                       ("siret", "ref_formation"), rows("s2/b", "s1/a"), fields)  # fmt: skip
        merge = Merge(db, now, None, MergeResult())  # type: ignore[arg-type]
        done = upsert(merge, table, "formations", ("siret", "ref_formation"),
                      rows("s1/a", "s3/c", "s1/d", "s2/e"), fields)  # fmt: skip
    stored = {(s, r): i for i, s, r in db.execute(
        select(table.c.id, table.c.siret, table.c.ref_formation))}  # fmt: skip
    assert {k: v[0] for k, v in first.items()} == {k: stored[k] for k in first}
    assert {k: v[0] for k, v in done.items()} == {k: stored[k] for k in done}
    assert done[("s1", "a")] == (first[("s1", "a")][0], set())
    # new rows are inserted, and numbered, in the order given
    assert [done[k][0] for k in (("s3", "c"), ("s1", "d"), ("s2", "e"))] == sorted(
        done[k][0] for k in (("s3", "c"), ("s1", "d"), ("s2", "e"))
    )
    assert merge.result.counts["formations"]["inserted"] == 3


def test_key_filters_reach_exactly_the_rows_of_the_keys_over_slices(db: orm.Session) -> None:
    """A file reads its own records, not every record its SIRETs hold (other years'): the
    filters of ``key_filters`` find every key asked for, across slices of ``IN_CHUNK`` keys and
    SIRETs, and no other row when refs differ; ``ids_of`` answers from them."""
    table: Table = store.Formation.__table__  # type: ignore[assignment]
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    stored = [{"siret": f"s{i % 3}", "ref_formation": f"r{i:04d}",
               "intitule_formation": "F"} for i in range(2 * IN_CHUNK + 50)]  # fmt: skip
    with db.begin():
        upsert(Merge(db, now, None, MergeResult()), table, "formations",  # type: ignore[arg-type]
               ("siret", "ref_formation"), stored, ("intitule_formation",))  # fmt: skip
    ids = {(s, r): i for i, s, r in db.execute(
        select(table.c.id, table.c.siret, table.c.ref_formation))}  # fmt: skip
    # every third record of the first SIRET and every record of the second, and absent keys
    wanted = {k for k in ids if k[0] == "s1" or (k[0] == "s0" and int(k[1][1:]) % 9 == 0)}
    wanted |= {("s1", "absent"), ("s9", "r0001")}
    read: list[tuple[str, str]] = []
    for where in key_filters(table, ("siret", "ref_formation"), wanted):
        read.extend(db.execute(select(table.c.siret, table.c.ref_formation).where(where)).tuples())
    # refs are unique across SIRETs here: exactly the stored keys asked for, each once
    assert sorted(read) == sorted(wanted - {("s1", "absent"), ("s9", "r0001")})
    assert ids_of(db, table, "ref_formation", wanted, {}) == {k: ids[k] for k in wanted if k in ids}
