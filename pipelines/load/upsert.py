"""Upserts by natural key, writing only what changed, and soft withdrawals.

Each table is handled in three steps: read what the store holds for the incoming keys
(:func:`read_existing`), sort the incoming rows into new / changed / withdrawn-and-back /
unchanged by their ``row_hash`` (:func:`plan_writes`), then send only the rows to write, in
batches, as ``INSERT … ON CONFLICT (key) DO UPDATE … WHERE row_hash differs or withdrawn``
(:func:`upsert_rows`; on PostgreSQL many rows go by ``COPY`` into a temporary table first).
The ``WHERE`` repeats the plan's test in the database, so a row changed meanwhile by another
transaction is still written right. Surrogate ids are never touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, or_, orm, select, update
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.dialects import postgresql, sqlite

#: Rows per statement (executemany) and keys per ``IN (...)``.
BATCH_SIZE = 2000
IN_CHUNK = 900
#: From this many rows, PostgreSQL gets them by ``COPY`` (fewer: a plain executemany).
COPY_MIN_ROWS = 1000

Key = tuple[Any, ...]


@dataclass
class TableCounts:
    """What a load did to one table (rows)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    reactivated: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Existing:
    """What the store holds for one natural key."""

    id: int
    row_hash: str
    withdrawn: bool
    source_rank: int | None = None


@dataclass
class Plan:
    """Rows to write (new, changed or coming back) and the counts that go with them."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    counts: TableCounts = field(default_factory=TableCounts)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Yield ``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def read_existing(
    db: orm.Session, table: Table, key: Sequence[str], *where: ColumnElement[bool]
) -> dict[Key, Existing]:
    """Read id, hash and state of the stored rows matching ``where``, by natural key.

    Args:
        db: the session (in the load's transaction).
        table: a frame table.
        key: its natural key columns.
        *where: filters (none: the whole table).

    Returns:
        Natural key (a tuple) -> what the store holds.
    """
    rank = table.c.source_rank if "source_rank" in table.c else None
    columns = [*(table.c[k] for k in key), table.c.id, table.c.row_hash, table.c.withdrawn_at]
    result = db.execute(select(*columns, *([rank] if rank is not None else [])).where(*where))
    found: dict[Key, Existing] = {}
    width = len(key)
    for row in result:
        found[tuple(row[:width])] = Existing(
            id=row[width],
            row_hash=row[width + 1],
            withdrawn=row[width + 2] is not None,
            source_rank=row[width + 3] if rank is not None else None,
        )
    return found


def read_existing_keys(
    db: orm.Session, table: Table, column: str, values: Sequence[Any]
) -> dict[Key, Existing]:
    """Read the stored rows whose one-column natural key is in ``values`` (chunked ``IN``)."""
    found: dict[Key, Existing] = {}
    for chunk in chunks(list(values), IN_CHUNK):
        found.update(read_existing(db, table, (column,), table.c[column].in_(chunk)))
    return found


def plan_writes(
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    existing: dict[Key, Existing],
    *,
    outranked: Callable[[dict[str, Any], Existing], bool] | None = None,
) -> Plan:
    """Sort incoming rows by what they need, from their ``row_hash``.

    Args:
        rows: the incoming rows, each with its ``row_hash``.
        key: the natural key columns.
        existing: from :func:`read_existing`.
        outranked: tells whether a changed row is older than the stored one (kept unchanged).

    Returns:
        The rows to write and the counts (inserted, updated, reactivated, unchanged).
    """
    plan = Plan()
    for row in rows:
        stored = existing.get(tuple(row[k] for k in key))
        if stored is None:
            plan.counts.inserted += 1
        elif stored.withdrawn:
            plan.counts.reactivated += 1
        elif stored.row_hash != row["row_hash"] and not (outranked and outranked(row, stored)):
            plan.counts.updated += 1
        else:
            plan.counts.unchanged += 1
            continue
        plan.rows.append(row)
    return plan


def upsert_rows(
    db: orm.Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    newer_only: bool = False,
) -> None:
    """Insert or update ``rows`` by natural key, in batches.

    On conflict every column but the key, ``id`` and ``created_at`` takes the incoming value,
    only where the stored ``row_hash`` differs or the row is withdrawn. On PostgreSQL, many rows
    are first copied (``COPY``) into a temporary table, then upserted by one statement.

    Args:
        db: the session (in the load's transaction).
        table: a frame table.
        rows: complete rows (same keys in every row), from :func:`plan_writes`.
        key: the natural key columns (a unique constraint).
        newer_only: also require ``source_rank`` >= the stored one (organismes).
    """
    if not rows:
        return
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        _copy_upsert(db, table, rows, key=key, newer_only=newer_only)
        return
    statement = _upsert_statement(_dialect_insert(db, table), table, list(rows[0]), key, newer_only)
    for batch in chunks(rows, BATCH_SIZE):
        db.execute(statement, list(batch))


def _upsert_statement(
    insert: postgresql.Insert | sqlite.Insert,
    table: Table,
    columns: list[str],
    key: Sequence[str],
    newer_only: bool,
) -> Any:
    """``insert`` made an upsert: on conflict of ``key``, take the incoming values of the row
    (but its ``created_at``) where its content changed or it was withdrawn."""
    excluded = insert.excluded
    set_ = {c: excluded[c] for c in columns if c not in key and c != "created_at"}
    where = or_(table.c.row_hash != excluded.row_hash, table.c.withdrawn_at.is_not(None))
    if newer_only:
        # a row another transaction inserted meanwhile (two years loaded at once): the more
        # recent delivery takes it, even with the same content, as one by one it would
        newer = excluded.source_rank > table.c.source_rank
        where = and_(or_(where, newer), excluded.source_rank >= table.c.source_rank)
    return insert.on_conflict_do_update(
        index_elements=[table.c[k] for k in key], set_=set_, where=where
    )


def _copy_upsert(
    db: orm.Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    newer_only: bool,
) -> None:
    """PostgreSQL: ``COPY`` the rows into a temporary table (dropped at commit), then upsert
    them all with one ``INSERT … SELECT … ON CONFLICT``, in their order (new ids as with
    :func:`upsert_rows`'s batches)."""
    columns = list(rows[0])
    quote = db.get_bind().dialect.identifier_preparer.quote
    staging = f"staging_{table.name}"
    names = ", ".join(quote(c) for c in columns)
    driver = db.connection().connection.driver_connection  # psycopg, in the load's transaction
    assert driver is not None
    cursor = driver.cursor()
    try:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{staging}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
            f"SELECT 0::bigint AS row_order, {names} FROM {quote(table.name)} WITH NO DATA"
        )
        with cursor.copy(f"COPY {staging} (row_order, {names}) FROM STDIN") as copy:
            for row_order, row in enumerate(rows):
                copy.write_row((row_order, *(row[c] for c in columns)))
    finally:
        cursor.close()
    source = sa_table(staging, sa_column("row_order"), *(sa_column(c) for c in columns))
    insert = postgresql.insert(table).from_select(
        columns, select(*(source.c[c] for c in columns)).order_by(source.c.row_order)
    )
    db.execute(_upsert_statement(insert, table, columns, key, newer_only))


def _dialect_insert(db: orm.Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are written for SQLite and PostgreSQL, not {dialect}")


def raise_rank(db: orm.Session, table: Table, changes: Sequence[tuple[int, int, int]]) -> None:
    """Set ``source_rank`` and ``delivery_id`` of rows whose content did not change.

    Args:
        db: the session.
        table: the organismes table.
        changes: ``(id, source_rank, delivery_id)``; applied only where the rank grows.
    """
    if not changes:
        return
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.source_rank < bindparam("b_rank"))
        .values(source_rank=bindparam("b_rank"), delivery_id=bindparam("b_delivery"))
    )
    params = [{"b_id": i, "b_rank": r, "b_delivery": d} for i, r, d in changes]
    for batch in chunks(params, BATCH_SIZE):
        db.execute(statement, list(batch))


def withdraw_rows(
    db: orm.Session, table: Table, ids: Sequence[int], *, now: dt.datetime, delivery_id: int
) -> int:
    """Withdraw rows (soft: ``withdrawn_at``, ``withdrawn_by_delivery_id``; never deleted).

    Returns:
        How many rows were withdrawn.
    """
    withdrawn = 0
    for chunk in chunks(sorted(ids), IN_CHUNK):
        result = db.execute(
            update(table)
            .where(table.c.id.in_(chunk), table.c.withdrawn_at.is_(None))
            .values(withdrawn_at=now, withdrawn_by_delivery_id=delivery_id, updated_at=now)
        )
        withdrawn += result.rowcount  # type: ignore[attr-defined]
    return withdrawn
