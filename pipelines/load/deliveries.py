"""Deliveries in the store: one row per file received (by kind and SHA-256), with its rejects.

A delivery is ``accepted`` (loaded), ``refused`` (file-level problem) or ``stopped`` (the
mass-withdrawal guard). The same content is one row: a refused or stopped delivery that comes
again (e.g. with ``--allow-mass-withdrawal``) updates its row instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, delete, insert, orm, select

from pipelines.extract.source import DeliveryInfo
from pipelines.transform.report import Report, RowError
from schemas.store import Delivery, Reject

logger = logging.getLogger(__name__)

KIND_EXTRACTION = "extraction"
ACCEPTED, REFUSED, STOPPED = "accepted", "refused", "stopped"
_MAX_FILE_NAME = Delivery.__table__.c.file_name.type.length or 255  # type: ignore[attr-defined]


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Return ``moment`` in UTC (a naive datetime is taken as UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def find_delivery(db: orm.Session, kind: str, sha256: str) -> Delivery | None:
    """Return the delivery of that kind and content, if the store has it.

    Args:
        db: the session.
        kind: ``"extraction"`` (later ``"saisie"``).
        sha256: the content's digest.

    Returns:
        The delivery, or None.
    """
    return db.scalars(
        select(Delivery).where(Delivery.kind == kind, Delivery.sha256 == sha256)
    ).one_or_none()


def record_refused_delivery(
    db: orm.Session,
    info: DeliveryInfo,
    report_or_error: Report | Exception,
    status: str,
    now: dt.datetime,
    *,
    archive_path: str | None = None,
    kind: str = KIND_EXTRACTION,
) -> Delivery:
    """Record a delivery that was not loaded: refused as a whole, or stopped by the guard.

    If the store already has this content (same kind and SHA-256), its row is updated (status,
    message, counts, rejects) instead of adding a second one. Never writes frame rows.

    Args:
        db: the session (the caller commits).
        info: the delivery's identity.
        report_or_error: the validation report (its refusal, counts and rejected rows are kept),
            or the error that stopped it (``ExtractionFileError``, ``MassWithdrawalError``...).
        status: ``"refused"`` or ``"stopped"``.
        now: when it was received (kept from the first time on an existing row).
        archive_path: where it is archived, relative to the output folder, if it is.
        kind: the kind of delivery.

    Returns:
        The delivery row (flushed: its ``id`` is set).

    Raises:
        ValueError: ``status`` is not refused/stopped, or that content is already accepted.
    """
    if status not in (REFUSED, STOPPED):
        raise ValueError(f"status must be {REFUSED!r} or {STOPPED!r}, not {status!r}")
    if isinstance(report_or_error, Report):
        report: Report | None = report_or_error
        message = report_or_error.refusal.message if report_or_error.refusal else None
        year = report_or_error.year
    else:
        report = None
        message = getattr(report_or_error, "message", None) or str(report_or_error)
        year = getattr(report_or_error, "year", None)
    delivery = _delivery_row(db, info, kind=kind, now=now)
    delivery.status = status
    delivery.message = message
    delivery.year = year if year is not None else info.name_year
    delivery.loaded_at = None
    delivery.archive_path = archive_path or delivery.archive_path
    delivery.counts = dict(report.counts) if report else {}
    db.flush()
    replace_rejects(db, delivery.id, report.errors if report else [])
    logger.info("delivery %d recorded as %s", delivery.id, status)
    return delivery


def open_accepted_delivery(
    db: orm.Session,
    info: DeliveryInfo,
    report: Report,
    *,
    year: int | None,
    archive_path: str | None,
    now: dt.datetime,
    kind: str = KIND_EXTRACTION,
) -> Delivery:
    """Write the row of a delivery being loaded (status ``accepted``) and its rejects.

    Args:
        db: the session (in the load's transaction).
        info: the delivery's identity.
        report: its validation report (counts and rejected rows).
        year: the frame's year (an entry file may cover several: the first, or None).
        archive_path: where it is archived, relative to the output folder.
        now: the time of the load.
        kind: the kind of delivery.

    Returns:
        The delivery row (flushed: its ``id`` is set).

    Raises:
        ValueError: this content is already accepted (an identical file changes nothing: the
            caller skips it).
    """
    delivery = _delivery_row(db, info, kind=kind, now=now)
    delivery.status = ACCEPTED
    delivery.message = None
    delivery.year = year
    delivery.loaded_at = as_utc(now)
    delivery.archive_path = archive_path or delivery.archive_path
    delivery.counts = {sheet: dict(counts) for sheet, counts in report.counts.items()}
    db.flush()
    replace_rejects(db, delivery.id, report.errors)
    return delivery


def _delivery_row(db: orm.Session, info: DeliveryInfo, *, kind: str, now: dt.datetime) -> Delivery:
    delivery = find_delivery(db, kind, info.sha256)
    if delivery is None:
        delivery = Delivery(kind=kind, sha256=info.sha256, received_at=as_utc(now))
        db.add(delivery)
    elif delivery.status == ACCEPTED:
        raise ValueError(
            f"delivery {delivery.id} ({kind}, sha256 {info.sha256[:12]}…) is already accepted"
        )
    delivery.file_name = info.file_name[:_MAX_FILE_NAME]
    delivery.delivery_date = info.delivery_date
    delivery.size_bytes = info.size_bytes
    return delivery


def replace_rejects(db: orm.Session, delivery_id: int, errors: Sequence[RowError]) -> int:
    """Replace the rejected rows stored for a delivery.

    Returns:
        How many reject rows were written.
    """
    table = cast(Table, Reject.__table__)
    db.execute(delete(table).where(table.c.delivery_id == delivery_id))
    if not errors:
        return 0
    rows = [
        {
            "delivery_id": delivery_id,
            "sheet": e.sheet,
            "row": e.row,
            "column": e.column,
            "value": e.value,
            "reason": e.reason,
            "message": e.message,
        }
        for e in errors
    ]
    db.execute(insert(table), rows)
    return len(rows)
