"""The run journal: every command that changes the store, or publishes, is recorded as a run.

``catalogue ingest``, ``approve`` and ``publish`` (and their flows) go through these functions;
the nightly and the backfill record their own runs the same way. A run keeps what is needed to
do it again (:mod:`pipelines.replay`): each delivery's SHA-256 (its archived content) and the
time it was ingested at, an approval's selection and decision, a publication's time and id, and
the checksum of the release it produced. No cell values, no personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, orm

from pipelines.extract.source import sha256_file
from pipelines.load import runs
from pipelines.load.db import open_session
from pipelines.load.release import PublishResult, publish
from pipelines.load.workflow import EN_ATTENTE, VALIDEE, Transition, decide, select_actions
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

#: Ingests one delivery: ``(path, engine, settings, allow_mass_withdrawal, now) -> document``.
Ingest = Callable[[Path, Engine, Settings, bool, dt.datetime], dict[str, Any]]
_REFUSED = ("refusee", "arretee")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ingest_files(
    engine: Engine,
    settings: Settings,
    paths: Sequence[Path],
    *,
    allow_mass_withdrawal: bool = False,
    ingest: Ingest | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Ingest deliveries in the given order as one run (kind ``ingest``).

    Args:
        engine: the store (migrated).
        settings: output folder and limits.
        paths: the deliveries, already in order.
        allow_mass_withdrawal: go through the mass-withdrawal guard (recorded in the run).
        ingest: ingests one delivery (the Prefect flow passes a task retried on I/O errors;
            default :func:`pipelines.dispatch.ingest_one`, imported here only: a publication
            or an approval does not load the readers, pandas and pandera).

    Returns:
        One document per delivery (with its ``exit_code``), and the run's id.
    """
    from pipelines.dispatch import ingest_one
    from pipelines.inbox import checksum

    ingest_path = ingest or ingest_one
    started = _now()
    with open_session(engine, write=True) as db, db.begin():
        run = runs.start_run(
            db, kind="ingest", now=started,
            params={"allow_mass_withdrawal": allow_mass_withdrawal},
        )  # fmt: skip
    documents: list[dict[str, Any]] = []
    inputs: list[dict[str, Any]] = []
    state, message = runs.FAILED, cast(str | None, "erreur inattendue : voir le journal")
    try:
        for path in paths:
            sha256 = checksum(path, settings.max_file_mb * 2**20)
            at = _now()
            document = ingest_path(path, engine, settings, allow_mass_withdrawal, at)
            documents.append(document)
            inputs.append(
                {"file": path.name, "sha256": sha256, "status": document["status"],
                 "at": at.isoformat()}
            )  # fmt: skip
        refused = any(d["status"] in _REFUSED for d in documents)
        state, message = (runs.PARTIAL if refused else runs.SUCCEEDED), None
    finally:
        counts: dict[str, int] = {}
        for item in inputs:
            counts[item["status"]] = counts.get(item["status"], 0) + 1
        with open_session(engine, write=True) as db, db.begin():
            runs.finish_run(
                db, run, state=state, inputs=inputs, counts=counts, message=message, now=_now()
            )
    return documents, run.id


@dataclass(frozen=True)
class Selection:
    """Which actions an approval applies to (as ``catalogue approve`` takes them)."""

    all_valid: bool = False
    lot: str | None = None
    siret: str | None = None
    fas: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (recorded in the run)."""
        return {"all_valid": self.all_valid, "lot": self.lot, "siret": self.siret,
                "fas": self.fas}  # fmt: skip


def approve(
    engine: Engine,
    selection: Selection,
    *,
    refuse: bool,
    reason: str | None,
    who: str,
    now: dt.datetime | None = None,
) -> tuple[list[Transition], str]:
    """Validate (or refuse) the selected actions, and record the decision as a run (``approve``).

    The decisions and the run are written in one transaction: both or neither.

    Raises:
        ValueError: no selection, a FAS code that is not one, a refusal without a reason.

    Returns:
        The transitions made, and the run's id.
    """
    now = now or _now()
    with open_session(engine, write=True) as db, db.begin():
        params = {"selection": selection.as_dict(), "refuse": refuse, "reason": reason,
                  "who": who}  # fmt: skip
        run = runs.start_run(db, kind="approve", now=now, params=params)
        transitions = decide_selected(
            db, selection.as_dict(), refuse=refuse, reason=reason, who=who, now=now
        )
        runs.finish_run(
            db, run, state=runs.SUCCEEDED, counts={"actions": len(transitions)}, now=_now()
        )
    return transitions, run.id


def decide_selected(
    db: orm.Session,
    selection: dict[str, Any],
    *,
    refuse: bool,
    reason: str | None,
    who: str,
    now: dt.datetime,
) -> list[Transition]:
    """Select the actions (waiting; validated ones too for a refusal) and decide on them."""
    states = (EN_ATTENTE, VALIDEE) if refuse else (EN_ATTENTE,)
    ids = select_actions(db, **selection, states=states)
    return decide(db, ids, refuse=refuse, reason=reason, now=now, who=who)


def publish_release(
    engine: Engine,
    *,
    output_dir: Path,
    keep: int,
    lheo_version: str = "2.3",
    now: dt.datetime | None = None,
) -> PublishResult:
    """Publish a release as a run (``publish``): the release carries the run's id and time.

    Raises:
        ExportError: a feed could not be published (the run is recorded as failed).
    """
    started = now or _now()
    with open_session(engine, write=True) as db, db.begin():
        run = runs.start_run(
            db, kind="publish", now=started, params={"lheo_version": lheo_version, "keep": keep}
        )
    fingerprint = runs.store_fingerprint(engine, started)  # what the nightly compares with
    state, message = runs.FAILED, cast(str | None, "erreur inattendue : voir le journal")
    result: PublishResult | None = None
    try:
        result = publish(
            engine, output_dir=output_dir, keep=keep, lheo_version=lheo_version, now=started,
            run_id=run.id,
        )  # fmt: skip
        state, message = runs.SUCCEEDED, None
        return result
    except Exception as error:
        message = f"Publication refusée : {error}"
        raise
    finally:
        with open_session(engine, write=True) as db, db.begin():
            runs.finish_run(
                db, run, state=state, message=message, now=_now(),
                release=result.release.name if result else None,
                release_sha256=sha256_file(result.release / "manifest.json") if result else None,
                counts={"fichiers": len(result.manifest["files"])} if result else {},
                params={"fingerprint": fingerprint} if result else None,
            )  # fmt: skip
