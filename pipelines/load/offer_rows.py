"""Writing offer records by natural key: insert the new, update the changed (with the history
of each changed field), leave the unchanged untouched. Shared by the merge's tables."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Table, and_, bindparam, insert, orm, select, update

from pipelines.load.rows import python_values
from schemas import store

Key = tuple[str, str]
#: Values per ``IN (...)`` and rows per batch of inserts.
IN_CHUNK = 500
BATCH_SIZE = 2000
T_HISTORY: Table = store.ChangeHistory.__table__  # type: ignore[assignment]


@dataclass
class MergeResult:
    """What merging one entry file did.

    Attributes:
        counts: per table, rows inserted, updated, unchanged, withdrawn, reactivated.
        changes: action id -> the fields that changed (``session.etat_recrutement``...), for
            every action that is new or touched: the workflow decides from them.
        new_actions: ids of the actions created by this file.
    """

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    changes: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    new_actions: set[int] = field(default_factory=set)


@dataclass
class Merge:
    """The state of one merge: the transaction, its time, its delivery and what it did."""

    db: orm.Session
    now: dt.datetime
    delivery_id: int
    result: MergeResult
    formation_changes: dict[int, set[str]] = field(default_factory=dict)
    #: rows of ``change_history`` not written yet (see :func:`write_history`)
    history_rows: list[dict[str, Any]] = field(default_factory=list)

    def touch(self, action_id: int, entity: str, fields: set[str]) -> None:
        """Note that fields of an action's record changed (nothing when ``fields`` is empty)."""
        if fields:
            self.result.changes[action_id] |= {f"{entity}.{f}" for f in fields}

    def count(self, table: str, what: str, n: int = 1) -> None:
        """Add ``n`` to a table's counter ``what``."""
        counts = self.result.counts.setdefault(
            table, {"inserted": 0, "updated": 0, "unchanged": 0, "withdrawn": 0, "reactivated": 0}
        )
        counts[what] += n


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as dicts of plain Python values."""
    columns = list(frame.columns)
    values = [_plain_values(frame[c]) for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _plain_values(series: pd.Series) -> list[Any]:
    """A column as Python values (None for missing), as :func:`python_values` gives them.

    Texts, booleans, nullable numbers and naive datetimes are read straight from their arrays;
    other columns (mixed objects, time zones) go through :func:`python_values`.
    """
    dtype = series.dtype
    if pd.api.types.is_object_dtype(dtype):
        array = series.to_numpy()
        values = array.tolist()
        missing = pd.isna(array)
        if missing.any():
            values = [None if m else v for v, m in zip(values, missing.tolist(), strict=True)]
        if set(map(type, values)) <= _PLAIN_TEXT:  # texts as they are
            return values
        return python_values(series)
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return series.to_numpy().tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "M":  # naive datetimes: their dates
        array = series.to_numpy()
        days = array.astype("datetime64[D]").astype(object).tolist()
        dates = [None if m else d for d, m in zip(days, np.isnat(array).tolist(), strict=True)]
        if set(map(type, dates)) <= _PLAIN_DATE:  # (years beyond 9999 would be integers)
            return dates
        return python_values(series)
    if isinstance(dtype, pd.Int64Dtype | pd.Float64Dtype | pd.BooleanDtype):
        return series.array.to_numpy(dtype=object, na_value=None).tolist()
    return python_values(series)


_PLAIN_TEXT = frozenset({str, type(None)})
_PLAIN_DATE = frozenset({dt.date, type(None)})


def upsert(
    merge: Merge,
    table: Table,
    name: str,
    key_columns: tuple[str, ...],
    rows: list[dict[str, Any]],
    fields: tuple[str, ...],
    *,
    newest_wins: bool = False,
) -> dict[tuple[Any, ...], tuple[int, set[str]]]:
    """Insert new rows, update changed ones (history per field), leave the others alone.

    Args:
        newest_wins: for records an organisation shares between years (its formations): a
            record last written by a more recent delivery (date of its name, then SHA-256) is
            left as it is, so that years loaded in any order (a parallel backfill) end with the
            same content. An unchanged record is left alone, its ``delivery_id`` included.

    Returns:
        key -> (id, changed fields); new rows have the field ``*``.
    """
    done: dict[tuple[Any, ...], tuple[int, set[str]]] = {}
    if not rows:
        return done
    existing = _existing(
        merge.db, table, key_columns, [tuple(r[k] for k in key_columns) for r in rows],
        lock=newest_wins,
    )  # fmt: skip
    ranks: dict[int | None, tuple[Any, ...]] = {}
    if newest_wins:
        ranks = delivery_ranks(
            merge.db, {o["delivery_id"] for o in existing.values()} | {merge.delivery_id}
        )
    inserts, updates = [], []
    for row in rows:
        key = tuple(row[k] for k in key_columns)
        old = existing.get(key)
        if old is None:
            inserts.append(row)
            continue
        if newest_wins and ranks.get(old["delivery_id"], ()) > ranks[merge.delivery_id]:
            merge.count(name, "unchanged")  # a more recent delivery wrote it: it stays
            done[key] = (old["id"], set())
            continue
        changed = {f for f in fields if _differs(old[f], row[f])}
        withdrawn = old["withdrawn_at"] is not None
        if not changed and not withdrawn:
            merge.count(name, "unchanged")
            done[key] = (old["id"], set())
            continue
        merge.count(name, "reactivated" if withdrawn and not changed else "updated")
        updates.append({**{f: row[f] for f in fields}, "_id": old["id"], "updated_at": merge.now,
                        "withdrawn_at": None, "delivery_id": merge.delivery_id})  # fmt: skip
        history(merge, name, old["id"], ((f, old[f], row[f]) for f in sorted(changed)))
        done[key] = (old["id"], changed or {"withdrawn_at"})
    if updates:
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(c) for c in updates[0] if c != "_id"})
        )
        merge.db.execute(statement, updates, execution_options={"synchronize_session": False})
    if inserts:
        stamped = [
            {**row, "created_at": merge.now, "updated_at": merge.now, "withdrawn_at": None,
             "row_hash": "", "delivery_id": merge.delivery_id}
            for row in inserts
        ]  # fmt: skip
        # A plain executemany, then the new ids read back by key: an INSERT ... RETURNING of
        # many rows costs PostgreSQL's driver four times as much (SQLite the same). Rows are
        # inserted, and get their ids, in the order of ``inserts`` either way.
        merge.db.execute(insert(table), stamped)
        new_ids = _new_ids(merge.db, table, key_columns, [tuple(r[k] for k in key_columns)
                                                          for r in inserts])  # fmt: skip
        for row in inserts:
            key = tuple(row[k] for k in key_columns)
            done[key] = (new_ids[key], {"*"})
        merge.count(name, "inserted", len(inserts))
    return done


def delivery_ranks(db: orm.Session, ids: Iterable[int | None]) -> dict[int | None, tuple[Any, ...]]:
    """How recent deliveries are: ``(date of the name or of receipt, SHA-256)`` by id."""
    wanted = sorted(i for i in ids if i is not None)
    table = store.Delivery.__table__
    ranks: dict[int | None, tuple[Any, ...]] = {}
    for start in range(0, len(wanted), 500):
        statement = select(
            table.c.id, table.c.delivery_date, table.c.received_at, table.c.sha256
        ).where(table.c.id.in_(wanted[start : start + 500]))
        for delivery_id, date, received, sha256 in db.execute(statement):
            day = date or (received.date() if received else dt.date.min)
            ranks[delivery_id] = (day.isoformat(), sha256)
    return ranks


def _existing(
    db: orm.Session,
    table: Table,
    key_columns: tuple[str, ...],
    keys: list[tuple[Any, ...]],
    *,
    lock: bool = False,
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The stored rows of ``keys``; ``lock``: PostgreSQL locks them until the commit (a
    concurrent writer of the same rows waits, then reads what this one wrote)."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    wanted = set(keys)
    for where in key_filters(table, key_columns, wanted):
        statement = select(table).where(where)
        if lock:
            statement = statement.order_by(table.c.id).with_for_update()
        for row in db.execute(statement).mappings():
            key = tuple(row[k] for k in key_columns)
            if key in wanted:
                found[key] = dict(row)
    return found


def _new_ids(
    db: orm.Session, table: Table, key_columns: tuple[str, ...], keys: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], int]:
    """The ids of the rows just inserted under ``keys`` (natural keys are unique)."""
    found: dict[tuple[Any, ...], int] = {}
    wanted = set(keys)
    columns = [table.c[k] for k in key_columns]
    for where in key_filters(table, key_columns, wanted):
        statement = select(table.c.id, *columns).where(where)
        found.update(
            {tuple(key): new_id for new_id, *key in db.execute(statement) if tuple(key) in wanted}
        )
    return found


def key_filters(
    table: Table, key_columns: tuple[str, ...], keys: set[tuple[Any, ...]]
) -> Iterator[ColumnElement[bool]]:
    """WHERE clauses reaching the rows of ``keys`` (and few others: the caller matches keys).

    Keys go by slices of :data:`IN_CHUNK`, in order; a slice filters on its values of the
    first two key columns (``siret IN (...) AND ref IN (...)``: the unique index on both), so
    a file reads its own records, not every record its SIRETs hold over the years.
    """
    first = table.c[key_columns[0]]
    ordered = sorted(keys, key=lambda k: tuple((v is None, v) for v in k))
    for start in range(0, len(ordered), IN_CHUNK):
        chunk = ordered[start : start + IN_CHUNK]
        where: ColumnElement[bool] = first.in_(sorted({k[0] for k in chunk}))
        seconds = {k[1] for k in chunk} if len(key_columns) > 1 else set()
        if seconds and None not in seconds:
            where = and_(where, table.c[key_columns[1]].in_(sorted(seconds)))
        yield where


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        return old is None or new is None or abs(float(old) - float(new)) > 1e-9
    if isinstance(old, dt.datetime):
        old = old.date()
    return bool(old != new)


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def history(
    merge: Merge, entity: str, entity_id: int, changes: Iterable[tuple[str, Any, Any]]
) -> None:
    """Note the changed fields of a record in ``change_history`` (written by
    :func:`write_history`, in one batch)."""
    merge.history_rows.extend(
        {"entity": entity, "entity_id": entity_id, "field": f, "old": as_text(old),
         "new": as_text(new), "at": merge.now, "run_id": None, "delivery_id": merge.delivery_id}
        for f, old, new in changes
    )  # fmt: skip


def write_history(merge: Merge) -> None:
    """Write the ``change_history`` rows noted so far, in the order they were noted."""
    for start in range(0, len(merge.history_rows), BATCH_SIZE):
        merge.db.execute(insert(T_HISTORY), merge.history_rows[start : start + BATCH_SIZE])
    merge.history_rows.clear()


def ids_of(
    db: orm.Session, table: Table, ref: str, keys: set[Key], known: dict[Key, int]
) -> dict[Key, int]:
    """Ids of records named by ``(siret, ref)``: from this file's merge, else from the store."""
    ids = dict(known)
    missing = keys - set(ids)
    for where in key_filters(table, ("siret", ref), missing):
        statement = select(table.c.siret, table.c[ref], table.c.id).where(where)
        ids.update({(s, r): i for s, r, i in db.execute(statement) if (s, r) in missing})
    return ids
