"""Ingesting an organisation's entries: read, check, merge into the FASD store, evaluate the
publication rules and move each touched action through the workflow, in one transaction.

The plain steps the CLI and the Prefect flow share, as ``pipelines.ingest`` for the extraction.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, orm, select

from pipelines.errors import ExtractionFileError, MassWithdrawalError
from pipelines.extract.entries import describe_entry, parse_entry_name, read_entry_workbook
from pipelines.extract.extraction import RawDelivery
from pipelines.extract.source import DeliveryInfo
from pipelines.ingest import (
    IngestResult,
    Limits,
    already_ingested,
    quarantine_name,
    refused_report,
)
from pipelines.load.archive import archive_delivery
from pipelines.load.bundles import build_bundles
from pipelines.load.db import open_session
from pipelines.load.deliveries import open_accepted_delivery, record_refused_delivery
from pipelines.load.frame_index import FrameIndex, read_frame_index
from pipelines.load.offer import merge_entries
from pipelines.load.offer_rows import ids_of
from pipelines.load.quarantine import write_quarantine
from pipelines.load.workflow import same_issues, settle
from pipelines.transform.bundle import Issue
from pipelines.transform.entries import ValidatedEntries, entry_scope, validate_entries
from pipelines.transform.report import Refusal
from pipelines.transform.rules import evaluate
from schemas.rules import RuleBook
from schemas.store import Action, Organisme

logger = logging.getLogger(__name__)

KIND = "saisie"
T_ACTIONS: Table = Action.__table__  # type: ignore[assignment]


def read_entries(info: DeliveryInfo, limits: Limits) -> RawDelivery:
    """Read an entry file (workbook or LHEO) into located entry tables."""
    if info.kind == "lheo":
        from pipelines.extract.lheo import read_lheo_entries

        return read_lheo_entries(info.path, max_bytes=limits.max_bytes, info=info)
    return read_entry_workbook(info, limits.max_uncompressed)


def ingest_entry_path(
    path: Path,
    *,
    engine: Engine,
    output_dir: Path,
    limits: Limits,
    rulebook: RuleBook,
    threshold: float,
    allow_mass_withdrawal: bool = False,
    now: dt.datetime | None = None,
    who: str = "import",
) -> IngestResult:
    """Validate an entry file and merge it into the store (one transaction).

    Args:
        path: the workbook or LHEO file.
        engine: the store.
        output_dir: where the archive and the quarantine live.
        limits: size bounds.
        rulebook: the publication rules.
        threshold: share of an organisation's sessions a file may withdraw.
        allow_mass_withdrawal: go through even above ``threshold``.
        now: the time recorded for this delivery (default: now, UTC).
        who: who the workflow transitions are recorded for.
    """
    now = now or dt.datetime.now(dt.UTC)
    try:
        info = describe_entry(path, limits.max_bytes)
    except ExtractionFileError as error:  # missing, unsupported or too large: not archived
        return IngestResult(refused_report(error), "refusee")
    if (done := already_ingested(engine, info, KIND)) is not None:
        return done
    archive = (Path("archive") / archive_delivery(info, output_dir / "archive")).as_posix()
    organisation, _ = parse_entry_name(info.file_name)
    try:
        if organisation is None:
            raise ExtractionFileError(info.file_name, "organisme-inconnu", detail="nom du fichier")
        with open_session(engine) as db:
            known = db.scalar(select(Organisme.id).where(Organisme.siret == organisation).limit(1))
        if known is None:
            raise ExtractionFileError(info.file_name, "organisme-inconnu", detail=organisation)
        raw = read_entries(info, limits)
    except ExtractionFileError as error:  # refused as a whole: recorded and archived, as received
        report = refused_report(error)
        with open_session(engine, write=True) as db, db.begin():
            refused = record_refused_delivery(
                db, info, report, "refused", now, archive_path=archive, kind=KIND
            )
        return IngestResult(report, "refusee", refused.id, archive=archive)
    assert organisation is not None
    try:
        with open_session(engine, write=True) as db, db.begin():
            index = read_frame_index(db, entry_scope(raw, organisation))
            entries = validate_entries(raw, index, organisation)
            delivery = open_accepted_delivery(
                db, info, entries.report, year=min(entries.years, default=None),
                archive_path=archive, now=now, kind=KIND,
            )  # fmt: skip
            load = _merge_and_settle(
                db,
                entries,
                index,
                rulebook,
                delivery.id,
                now,
                threshold,
                allow_mass_withdrawal,
                who,
            )
            # before the commit: a delivery recorded as ingested always has its quarantine
            quarantine = None
            if entries.report.errors:
                name = quarantine_name("saisie", organisation, info)
                quarantine = write_quarantine(entries.report, output_dir / "quarantaine" / name)
    except MassWithdrawalError as error:
        report = entries.report
        report.refusal = Refusal(info.file_name, error.reason, error.message)
        with open_session(engine, write=True) as db, db.begin():
            stopped = record_refused_delivery(
                db, info, report, "stopped", now, archive_path=archive, kind=KIND
            )
        return IngestResult(report, "arretee", stopped.id, archive=archive)
    return IngestResult(entries.report, "integree", delivery.id, quarantine, archive, load)


def _merge_and_settle(
    db: orm.Session,
    entries: ValidatedEntries,
    index: FrameIndex,
    rulebook: RuleBook,
    delivery_id: int,
    now: dt.datetime,
    threshold: float,
    allow_mass_withdrawal: bool,
    who: str,
) -> dict[str, Any]:
    merged = merge_entries(
        db, entries, index, delivery_id=delivery_id, now=now, threshold=threshold,
        allow_mass_withdrawal=allow_mass_withdrawal,
    )  # fmt: skip
    actions = entries.frames["actions"]
    described = set(zip(actions["siret"], actions["ref_action"], strict=True))
    ids = ids_of(db, T_ACTIONS, "ref_action", described, {})
    flags = {ids[k]: v for k, v in entries.flags.items() if k in ids}
    # Every action the file describes is evaluated again, changed or not: what the frame
    # overrides (flags) leaves the stored records as they were, and must still be reported.
    touched = set(merged.changes) | set(ids.values())
    issues: dict[int, list[Issue]] = {}
    generic: set[str] = set()
    for bundle in build_bundles(db, touched, index, flags):
        rules, specific = rulebook.rules_for(bundle.programme, bundle.annee)
        if not specific:
            generic.add(f"{bundle.programme} {bundle.annee}")
        issues[int(bundle.ref.split("-")[1])] = evaluate(bundle, rules)
    unchanged = {i for i in issues if i not in merged.changes and i not in merged.new_actions}
    for action_id in same_issues(db, {i: issues[i] for i in unchanged}):
        del issues[action_id]  # evaluated as before: nothing to write, no transition
    states = settle(db, issues, merged.changes, merged.new_actions, now=now, who=who)
    if generic:
        entries.report.warnings.append(
            "Pas de règles spécifiques pour "
            + ", ".join(sorted(generic))
            + " : seules les règles communes du PRF s'appliquent."
        )
    return {"counts": merged.counts, "etats": states, "regles_communes_seules": sorted(generic)}
