"""Load a validated extraction into the store: the Région's frame (programmes, organismes, lots,
actions) of one year, in the caller's transaction.

Order of work: the mass-withdrawal guard reads the store and decides before anything is written;
then the delivery row and its rejects, the four tables by natural key (surrogate ids never
change, unchanged rows are not written at all), and last the soft withdrawal of the year's lots
and actions that the delivery no longer has. Rows the delivery has but rejected keep their
stored version: they are neither updated nor withdrawn.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, orm, select

from pipelines.load.deliveries import (
    ACCEPTED,
    KIND_EXTRACTION,
    as_utc,
    find_delivery,
    open_accepted_delivery,
)
from pipelines.load.guard import WITHDRAWABLE, active_count, check_mass_withdrawal, withdrawals
from pipelines.load.rows import RowHasher, frame_records
from pipelines.load.upsert import (
    Existing,
    Key,
    TableCounts,
    plan_writes,
    raise_rank,
    read_existing,
    read_existing_keys,
    upsert_rows,
    withdraw_rows,
)
from pipelines.transform.frame import ValidatedExtraction
from schemas.extraction import ACTIONS, LOTS, ORGANISMES, PROGRAMMES, Sheet
from schemas.store import ActionRegion, Lot, Organisme, Programme

logger = logging.getLogger(__name__)

PROGRAMMES_T = cast(Table, Programme.__table__)
ORGANISMES_T = cast(Table, Organisme.__table__)
LOTS_T = cast(Table, Lot.__table__)
ACTIONS_T = cast(Table, ActionRegion.__table__)
#: Sheets loaded, in the order rows depend on each other.
LOADED_SHEETS = ("programmes", "organismes", "lots", "actions")
_SPECS = {"programmes": PROGRAMMES, "organismes": ORGANISMES, "lots": LOTS, "actions": ACTIONS}
_ADVISORY_LOCK_NAMESPACE = 0x434154  # PostgreSQL: one load per year at a time


@dataclass
class LoadResult:
    """What loading one delivery did.

    Attributes:
        delivery_id: the delivery's row in the store.
        year: the frame's year.
        counts: per sheet (``programmes``, ``organismes``, ``lots``, ``actions``), the rows
            inserted, updated, unchanged, withdrawn and reactivated.
    """

    delivery_id: int
    year: int
    counts: dict[str, TableCounts]

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        counts = {sheet: c.as_dict() for sheet, c in self.counts.items()}
        return {"delivery_id": self.delivery_id, "year": self.year, "counts": counts}


@dataclass
class _Load:
    """The state shared by the steps of one load."""

    db: orm.Session
    year: int
    now: dt.datetime
    delivery_id: int
    source_rank: int
    rows: dict[str, list[dict[str, Any]]]
    stored: dict[str, dict[Key, Existing]]


def load_extraction(
    db: orm.Session,
    validated: ValidatedExtraction,
    *,
    archive_path: str | None,
    threshold: float,
    allow_mass_withdrawal: bool,
    now: dt.datetime,
) -> LoadResult:
    """Load one validated extraction (one year) into the store. Never commits.

    Args:
        db: a session in the transaction the caller owns (``with db.begin():``); on SQLite
            open it with ``open_session(engine, write=True)``.
        validated: the accepted rows of the delivery, its report and rejected keys.
        archive_path: where the delivery is archived, relative to the output folder.
        threshold: share (0..1) of the year's stored lots or actions the delivery may withdraw.
        allow_mass_withdrawal: load even above the threshold.
        now: the time of the load (naive = UTC).

    Returns:
        The delivery's id and the per-table counts.

    Raises:
        MassWithdrawalError: the delivery would withdraw more than ``threshold`` of the year's
            lots or actions; nothing was written.
        ValueError: this content is already accepted, or the validated frames are inconsistent
            (a sheet or column missing, a lot of an unknown programme...).
    """
    now, year, info = as_utc(now), validated.year, validated.info
    rows = {sheet: business_rows(validated, sheet) for sheet in LOADED_SHEETS}
    if db.get_bind().dialect.name == "postgresql":  # SQLite: the write session's BEGIN IMMEDIATE
        db.execute(select(func.pg_advisory_xact_lock(_ADVISORY_LOCK_NAMESPACE, year)))
    previous = find_delivery(db, KIND_EXTRACTION, info.sha256)
    if previous is not None and previous.status == ACCEPTED:
        raise ValueError(f"{info.file_name}: already accepted as delivery {previous.id}")

    stored = {
        "lots": read_existing(db, LOTS_T, ("numero_lot",), LOTS_T.c.annee == year),
        "actions": read_existing(db, ACTIONS_T, ("id_action_cr",), ACTIONS_T.c.annee == year),
    }
    gone = {
        sheet: withdrawals(
            sheet, rows[sheet], stored[sheet], validated.rejected_keys.get(sheet, ())
        )
        for sheet in WITHDRAWABLE
    }
    if not allow_mass_withdrawal:
        for sheet, ids in gone.items():
            active = active_count(stored[sheet])
            check_mass_withdrawal(info.file_name, year, sheet, len(ids), active, threshold)

    delivery = open_accepted_delivery(
        db, info, validated.report, year=year, archive_path=archive_path, now=now
    )
    rank = source_rank(year, info.delivery_date or delivery.received_at.date())
    load = _Load(db, year, now, delivery.id, rank, rows, stored)
    counts = {
        "programmes": _load_programmes(load),
        "organismes": _load_organismes(load),
        "lots": _load_lots(load),
        "actions": _load_actions(load),
    }
    for sheet, table in (("actions", ACTIONS_T), ("lots", LOTS_T)):
        counts[sheet].withdrawn = withdraw_rows(
            db, table, gone[sheet], now=now, delivery_id=delivery.id
        )
    delivery.counts = {
        sheet: {**delivery.counts.get(sheet, {}), **c.as_dict()} for sheet, c in counts.items()
    }
    db.flush()
    for sheet, c in counts.items():
        logger.info(
            "%s %d: %d inserted, %d updated, %d unchanged, %d withdrawn, %d reactivated",
            sheet, year, c.inserted, c.updated, c.unchanged, c.withdrawn, c.reactivated,
        )  # fmt: skip
    return LoadResult(delivery_id=delivery.id, year=year, counts=counts)


def business_rows(validated: ValidatedExtraction, sheet: str) -> list[dict[str, Any]]:
    """Return a sheet's accepted rows as plain dicts with their ``row_hash``.

    The business columns are the sheet's canonical columns (``schemas.extraction``), with the
    frame's year as ``annee``; references stay natural keys (``code_programme``, ``numero_lot``)
    so that the hash does not depend on surrogate ids.
    """
    spec: Sheet = _SPECS[sheet]
    if sheet not in validated.frames:
        raise ValueError(f"the validated extraction has no {sheet!r} frame")
    columns = [c.name for c in spec.columns if c.name != "annee"]
    optional = [c.name for c in spec.columns if not c.required]
    defaults = {"forfait_recrutement": False}
    rows = frame_records(validated.frames[sheet], columns, optional=optional, defaults=defaults)
    keys = [tuple(row[k] for k in spec.keys) for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError(f"the validated {sheet!r} frame has duplicated keys {spec.keys}")
    extra = {} if sheet == "organismes" else {"annee": validated.year}
    hasher = RowHasher([*extra, *columns])
    for row in rows:
        row.update(extra)
        row["row_hash"] = hasher(row)
    return rows


def source_rank(year: int, date: dt.date) -> int:
    """Rank of a delivery for the organismes: its year, then its date (``yyyy*10^8 + yyyymmdd``)."""
    return year * 10**8 + int(date.strftime("%Y%m%d"))


def _lifecycle(load: _Load, *, withdrawable: bool) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "delivery_id": load.delivery_id,
        "created_at": load.now,
        "updated_at": load.now,
        "withdrawn_at": None,
    }
    if withdrawable:
        columns["withdrawn_by_delivery_id"] = None
    return columns


def _by_key(rows: list[dict[str, Any]], *key: str) -> list[dict[str, Any]]:
    # Sorted by natural key: new rows get their ids in the same order whatever the file's order.
    return sorted(rows, key=lambda row: tuple(row[k] for k in key))


def _load_programmes(load: _Load) -> TableCounts:
    key = ("annee", "code_programme")
    existing = read_existing(load.db, PROGRAMMES_T, key, PROGRAMMES_T.c.annee == load.year)
    rows = [{**row, **_lifecycle(load, withdrawable=False)} for row in load.rows["programmes"]]
    plan = plan_writes(_by_key(rows, *key), key, existing)
    upsert_rows(load.db, PROGRAMMES_T, plan.rows, key=key)
    return plan.counts


def _load_organismes(load: _Load) -> TableCounts:
    key = ("of_cr", "siret")
    existing = read_existing(load.db, ORGANISMES_T, key)
    rank = {"source_rank": load.source_rank}
    rows = [{**r, **rank, **_lifecycle(load, withdrawable=False)} for r in load.rows["organismes"]]
    plan = plan_writes(_by_key(rows, *key), key, existing, outranked=_outranked)
    upsert_rows(load.db, ORGANISMES_T, plan.rows, key=key, newer_only=True)
    same_content, held = [], 0
    for row in rows:
        stored = existing.get((row["of_cr"], row["siret"]))
        if stored is None:
            continue
        if stored.row_hash == row["row_hash"] and _rank(stored) < load.source_rank:
            same_content.append((stored.id, load.source_rank, load.delivery_id))
        elif stored.row_hash != row["row_hash"] and _outranked(row, stored):
            held += 1
    # Same content from a more recent delivery: now attributed to it (not an update).
    raise_rank(load.db, ORGANISMES_T, same_content)
    if held:
        logger.info("%d organismes kept as they are: a more recent delivery has them", held)
    return plan.counts


def _rank(stored: Existing) -> int:
    return stored.source_rank or 0


def _outranked(row: dict[str, Any], stored: Existing) -> bool:
    return bool(row["source_rank"] < _rank(stored))


def _id_map(load: _Load, table: Table, key: str) -> dict[Any, int]:
    """Natural key -> id of a table's rows of the year."""
    statement = select(table.c[key], table.c.id).where(table.c.annee == load.year)
    return {k: i for k, i in load.db.execute(statement).tuples()}


def _load_lots(load: _Load) -> TableCounts:
    return _load_children(
        load, "lots", LOTS_T, "numero_lot", (PROGRAMMES_T, "code_programme", "programme_id")
    )


def _load_actions(load: _Load) -> TableCounts:
    return _load_children(
        load, "actions", ACTIONS_T, "id_action_cr", (LOTS_T, "numero_lot", "lot_id")
    )


def _load_children(
    load: _Load, sheet: str, table: Table, key: str, parent: tuple[Table, str, str]
) -> TableCounts:
    """Upsert rows that name their parent by natural key (``parent``: table, key, foreign key)."""
    parent_table, parent_key, foreign_key = parent
    ids = _id_map(load, parent_table, parent_key)
    lifecycle = _lifecycle(load, withdrawable=True)
    rows = []
    for row in load.rows[sheet]:
        if row[parent_key] not in ids:
            raise ValueError(f"{sheet} {row[key]}: unknown {parent_key} {row[parent_key]}")
        child = {**row, foreign_key: ids[row[parent_key]], **lifecycle}
        del child[parent_key]
        rows.append(child)
    return _upsert_withdrawable(load, sheet, table, key, rows)


def _upsert_withdrawable(
    load: _Load, sheet: str, table: Table, key: str, rows: list[dict[str, Any]]
) -> TableCounts:
    existing = dict(load.stored[sheet])
    elsewhere = [row[key] for row in rows if (row[key],) not in existing]
    existing.update(read_existing_keys(load.db, table, key, elsewhere))  # another year's row
    plan = plan_writes(_by_key(rows, key), (key,), existing)
    upsert_rows(load.db, table, plan.rows, key=(key,))
    return plan.counts
