"""Ingesting one extraction of the Région: the plain steps the CLI and the Prefect flow share.

``validate_path`` reads and validates without writing anything. ``ingest_path`` adds the
writes: the delivery archived as received, the frame loaded in one transaction, the rejected
rows written to the quarantine. A file already ingested (same SHA-256) changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pipelines.errors import ExtractionFileError, MassWithdrawalError
from pipelines.extract.extraction import describe, read_extraction
from pipelines.extract.source import DeliveryInfo
from pipelines.load.archive import archive_delivery
from pipelines.load.db import open_session
from pipelines.load.deliveries import find_delivery, record_refused_delivery
from pipelines.load.frame import load_extraction
from pipelines.load.quarantine import write_quarantine
from pipelines.settings import Settings
from pipelines.transform.frame import ValidatedExtraction
from pipelines.transform.report import Refusal, Report
from pipelines.transform.validate import validate_extraction

logger = logging.getLogger(__name__)

KIND = "extraction"


@dataclass(frozen=True)
class Limits:
    """Size bounds of a delivery, in bytes."""

    max_bytes: int
    max_uncompressed: int


def limits_of(settings: Settings) -> Limits:
    """The size bounds of a delivery, from the settings (in bytes)."""
    return Limits(settings.max_file_mb * 2**20, settings.max_uncompressed_mb * 2**20)


@dataclass
class IngestResult:
    """What ingesting one delivery did.

    Attributes:
        report: the validation report.
        status: ``integree``, ``deja-integree``, ``refusee`` or ``arretee`` (guard).
        delivery_id: the delivery's id in the store, when recorded.
        quarantine: the CSV of rejected rows, when there are some.
        archive: where the delivery is archived, relative to the output folder.
        load: per table, how many rows were inserted, updated, withdrawn...
    """

    report: Report
    status: str
    delivery_id: int | None = None
    quarantine: Path | None = None
    archive: str | None = None
    load: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 accepted as a whole, 1 accepted with rejected rows, 2 refused or stopped."""
        if self.status in ("refusee", "arretee"):
            return 2
        return 1 if self.report.errors else 0

    def as_dict(self) -> dict[str, Any]:
        """Return the result as one JSON-ready document (the report's fields, then the load's)."""
        document = self.report.as_dict()
        document.update(
            status=self.status,
            delivery_id=self.delivery_id,
            quarantine=str(self.quarantine) if self.quarantine else None,
            archive=self.archive,
            load=self.load,
        )
        return document


def refused_report(error: ExtractionFileError) -> Report:
    """Build the report of a delivery refused as a whole (with the rows checked so far)."""
    report = error.report or Report(file=error.file)
    report.refusal = Refusal(error.file, error.reason, error.message, error.sheet, error.column)
    return report


def validate_path(
    path: Path, limits: Limits, info: DeliveryInfo | None = None
) -> tuple[Report, ValidatedExtraction | None]:
    """Read and validate a delivery; write nothing.

    Returns:
        The report, and the validated extraction unless the delivery is refused.
    """
    try:
        raw = read_extraction(
            path, max_bytes=limits.max_bytes, max_uncompressed=limits.max_uncompressed, info=info
        )
        validated = validate_extraction(raw)
    except ExtractionFileError as error:
        logger.info("%s refusé : %s", error.file, error.reason)
        return refused_report(error), None
    return validated.report, validated


def ingest_path(
    path: Path,
    *,
    engine: Engine,
    output_dir: Path,
    limits: Limits,
    threshold: float,
    allow_mass_withdrawal: bool = False,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Validate a delivery and merge it into the store as one transaction.

    Args:
        path: the workbook or CSV folder.
        engine: the store.
        output_dir: where the archive and the quarantine live.
        limits: size bounds.
        threshold: share of a year's lots or actions a delivery may withdraw.
        allow_mass_withdrawal: go through even above ``threshold``.
        now: the time recorded for this delivery (default: now, UTC).
    """
    prepared = prepare(path, engine, limits)
    if isinstance(prepared, IngestResult):
        return prepared
    info = prepared
    report, validated = validate_path(path, limits, info)
    return store_delivery(
        info,
        report,
        validated,
        engine=engine,
        output_dir=output_dir,
        threshold=threshold,
        allow_mass_withdrawal=allow_mass_withdrawal,
        now=now,
    )


def prepare(path: Path, engine: Engine, limits: Limits) -> DeliveryInfo | IngestResult:
    """Identify a delivery; return the final result instead when there is nothing to do.

    Returns:
        The delivery's identity, or the result of a refused delivery (too large, unsupported)
        or of one already ingested (same SHA-256: nothing changes).
    """
    try:
        info = describe(path, limits.max_bytes)
    except ExtractionFileError as error:
        return IngestResult(refused_report(error), "refusee")
    return already_ingested(engine, info) or info


def already_ingested(engine: Engine, info: DeliveryInfo, kind: str = KIND) -> IngestResult | None:
    """Return the result of a delivery of ``kind`` already accepted with the same SHA-256."""
    with open_session(engine) as db:
        existing = find_delivery(db, kind, info.sha256)
        if existing is None or existing.status != "accepted":
            return None
        logger.info("%s déjà intégrée (livraison %d)", info.file_name, existing.id)
        report = Report(file=info.file_name, year=existing.year, counts=dict(existing.counts))
        return IngestResult(report, "deja-integree", existing.id, archive=existing.archive_path)


def store_delivery(
    info: DeliveryInfo,
    report: Report,
    validated: ValidatedExtraction | None,
    *,
    engine: Engine,
    output_dir: Path,
    threshold: float,
    allow_mass_withdrawal: bool = False,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Write a validated delivery: archive, frame (one transaction), quarantine.

    A refused delivery (``validated`` None) is archived and recorded as refused, with its
    quarantine; the frame is not touched.
    """
    now = now or dt.datetime.now(dt.UTC)
    quarantine_dir = output_dir / "quarantaine"
    # every delivery that could be read is archived as received, refused ones too (replay)
    archive_rel = (Path("archive") / archive_delivery(info, output_dir / "archive")).as_posix()
    if validated is None:
        with open_session(engine, write=True) as db, db.begin():
            refused = record_refused_delivery(
                db, info, report, "refused", now, archive_path=archive_rel
            )
        quarantine = _quarantine(report, quarantine_dir, info)
        return IngestResult(report, "refusee", refused.id, quarantine, archive_rel)
    try:
        with open_session(engine, write=True) as db, db.begin():
            loaded = load_extraction(
                db,
                validated,
                archive_path=archive_rel,
                threshold=threshold,
                allow_mass_withdrawal=allow_mass_withdrawal,
                now=now,
            )
            # before the commit: a delivery recorded as ingested always has its quarantine
            # (a kill in between leaves a file that the next attempt writes again)
            quarantine = _quarantine(report, quarantine_dir, info)
    except MassWithdrawalError as error:
        logger.info("%s arrêtée : %s", info.file_name, error.reason)
        report.refusal = Refusal(info.file_name, error.reason, error.message)
        with open_session(engine, write=True) as db, db.begin():
            stopped = record_refused_delivery(
                db, info, report, "stopped", now, archive_path=archive_rel
            )
        return IngestResult(report, "arretee", stopped.id, archive=archive_rel)
    return IngestResult(
        report,
        "integree",
        loaded.delivery_id,
        quarantine,
        archive_rel,
        loaded.as_dict(),
    )


def quarantine_name(kind: str, what: object, info: DeliveryInfo) -> str:
    """The quarantine file of a delivery: kind, year or SIRET, date and checksum (no file name)."""
    stamp = info.delivery_date.strftime("%Y%m%d") if info.delivery_date else "sans-date"
    return f"{kind}-{what}-{stamp}-{info.sha256[:12]}.csv"


def _quarantine(report: Report, folder: Path, info: DeliveryInfo) -> Path | None:
    """Write the rejected rows of a delivery, named after its year, date and checksum."""
    if not report.errors:
        return None
    name = quarantine_name("extraction", report.year or "annee-inconnue", info)
    return write_quarantine(report, folder / name)
