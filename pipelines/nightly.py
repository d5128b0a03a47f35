"""The nightly run: every new delivery of the inbox ingested, then a release published.

Plain orchestration (no Prefect): the CLI's ``catalogue run`` and the Prefect flow both call
:func:`run_nightly`. Steps, under the run lock (``<output_dir>/.nightly.lock``):

1. a late start (after ``nightly_latest_start``, Paris time) is skipped, unless forced;
2. the inbox's top level is listed (files and CSV folders; hidden entries, symbolic links and
   the ``refuses/`` and ``traites/`` folders are left alone), then ordered with
   :func:`~pipelines.dispatch.order_deliveries` (extractions by year and date, then entries);
3. each delivery is ingested in its own transaction; it then moves to ``traites/`` (ingested,
   or already ingested: same SHA-256) or to ``refuses/`` with ``<name>.rapport.json`` (refused,
   or stopped by the mass-withdrawal guard), as ``<yyyymmddThhmmss>-<n>-<sanitised name>``;
4. with ``auto_approve``, every action waiting for validation is validated (``who="nightly"``);
5. a release is published, unless nothing changed since the current one: same store (no
   delivery recorded, no action changing state since: :func:`~pipelines.load.runs.store_fingerprint`) and same
   day (the feeds depend on the date); the current release then stays;
6. the run is recorded (``runs`` table and ``<output_dir>/runs/<run_id>.json``), and a failed,
   partial or skipped run is notified (:mod:`pipelines.notify`).

Exit codes (:attr:`NightlyResult.exit_code`): **0** every delivery ingested (rows may have been
rejected) and published; **1** some deliveries refused or stopped, the rest ingested and
published; **2** the run failed (publication, store, unexpected error) or was skipped as late;
**3** another nightly holds the lock: nothing was done, nothing recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from pipelines.dispatch import ingest_one, order_deliveries
from pipelines.errors import AlreadyRunning, ExportError, message
from pipelines.extract.source import sha256_file
from pipelines.inbox import DONE_DIR, REFUSED_DIR, aside_report, checksum, list_inbox, move_aside
from pipelines.load import runs
from pipelines.load.db import open_session
from pipelines.load.deliveries import as_utc
from pipelines.load.release import CURRENT, publish
from pipelines.load.workflow import decide, select_actions
from pipelines.notify import notify
from pipelines.runlock import run_lock
from pipelines.settings import Settings
from schemas.store import Run

logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
LOCK_NAME = ".nightly.lock"
ALREADY_RUNNING = "already-running"
EXIT_CODES = {runs.SUCCEEDED: 0, runs.PARTIAL: 1, runs.FAILED: 2, runs.SKIPPED: 2,
              ALREADY_RUNNING: 3}  # fmt: skip
NOTIFIED = (runs.FAILED, runs.PARTIAL, runs.SKIPPED)
_DONE = {"integree": "ingested", "deja-integree": "already_ingested"}
_ASIDE = {"refusee": "refused", "arretee": "stopped"}


@dataclass
class NightlyResult:
    """What a nightly did.

    Attributes:
        state: ``succeeded``, ``partial``, ``failed``, ``skipped`` or ``already-running``.
        run_id: the run's id (None when already running: nothing was recorded).
        message: why it failed, was skipped or did not start (French), if so.
        inputs: per delivery: ``file``, ``sha256``, ``status``, ``moved_to``.
        counts: files ingested, already ingested, refused, stopped, ignored; rows rejected;
            actions approved.
        release: the release published (folder name under ``releases/``), if any.
        fingerprint: the store's fingerprint when it published (:func:`~pipelines.load.runs.store_fingerprint`).
        artefact: the run's JSON document under ``<output_dir>/runs/``.
    """

    state: str
    run_id: str | None = None
    message: str | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    release: str | None = None
    release_sha256: str | None = None
    fingerprint: str | None = None
    artefact: Path | None = None
    started: dt.datetime | None = None
    ended: dt.datetime | None = None

    @property
    def exit_code(self) -> int:
        """0 succeeded, 1 partial, 2 failed or skipped, 3 already running."""
        return EXIT_CODES[self.state]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no personal data: file names, checksums, counts)."""
        return {
            "run_id": self.run_id, "kind": "nightly", "state": self.state,
            "exit_code": self.exit_code, "message": self.message,
            "started": self.started.isoformat() if self.started else None,
            "ended": self.ended.isoformat() if self.ended else None,
            "counts": self.counts, "release": self.release, "inputs": self.inputs,
            "artefact": str(self.artefact) if self.artefact else None,
        }  # fmt: skip


#: Ingests one delivery: ``(path, engine, settings, allow_mass_withdrawal, now) -> document``
#: (see :func:`~pipelines.dispatch.ingest_one`).
Ingest = Callable[[Path, Engine, Settings, bool, dt.datetime], dict[str, Any]]


def run_nightly(
    engine: Engine,
    settings: Settings,
    *,
    inbox: Path,
    now: dt.datetime,
    force: bool = False,
    ingest: Ingest = ingest_one,
) -> NightlyResult:
    """Run the nightly once (see the module's docstring).

    Args:
        engine: the store, migrated to the latest schema.
        settings: output folder, limits, ``nightly_latest_start``, ``auto_approve``, notify.
        inbox: the folder of new deliveries (``settings.inbox_path`` by default in the CLI).
        now: the run's start (a naive datetime is taken as UTC).
        force: run even after ``nightly_latest_start``.
        ingest: ingests one delivery (default :func:`~pipelines.dispatch.ingest_one`; the
            Prefect flow passes a task retried on I/O errors).

    Returns:
        The outcome; never raises for a delivery, the store or the publication.
    """
    try:
        with run_lock(settings.output_dir / LOCK_NAME):
            return _run_locked(engine, settings, inbox, as_utc(now), force, ingest)
    except AlreadyRunning as error:
        logger.warning("nightly not started: %s", error.message)
        return NightlyResult(ALREADY_RUNNING, message=error.message, started=as_utc(now))


def is_late(latest_start: str | None, now: dt.datetime) -> bool:
    """True when ``now`` (Paris time) is at or after ``latest_start`` (HH:MM) and before 24:00."""
    if not latest_start:
        return False
    hours, minutes = (int(part) for part in latest_start.split(":"))
    return as_utc(now).astimezone(PARIS).time() >= dt.time(hours, minutes)


def _run_locked(
    engine: Engine,
    settings: Settings,
    inbox: Path,
    now: dt.datetime,
    force: bool,
    ingest: Ingest,
) -> NightlyResult:
    clock = time.monotonic()
    result = NightlyResult(runs.RUNNING, started=now)
    run = None
    try:
        with open_session(engine, write=True) as db, db.begin():
            run = runs.start_run(
                db, kind="nightly", now=now,
                params={"auto_approve": settings.auto_approve, "force": force,
                        "keep": settings.releases_keep},
            )  # fmt: skip
            runs.mark_interrupted(db, kind="nightly", now=now, keep=run.id)
        result.run_id = run.id
        if not force and is_late(settings.nightly_latest_start, now):
            result.state = runs.SKIPPED
            result.message = message(
                "nightly-en-retard", latest=settings.nightly_latest_start,
                started=f"{now.astimezone(PARIS):%H:%M}",
            )  # fmt: skip
        else:
            _ingest_inbox(engine, settings, inbox, now, result, ingest)
            _approve_and_publish(engine, settings, now, result)
    except Exception as error:  # the run fails; its record, artefact and alert still go out
        logger.exception("nightly failed")
        result.state = runs.FAILED
        result.message = f"erreur inattendue ({type(error).__name__}) : voir le journal"
    result.run_id = result.run_id or _fallback_id()
    result.ended = now + dt.timedelta(seconds=time.monotonic() - clock)
    _record_end(engine, run, result)
    try:
        result.artefact = _write_artefact(settings.output_dir, result)
    except OSError:  # a full disk: the run is recorded in the store, the alert still goes out
        logger.exception("the run's artefact could not be written")
        result.artefact = None
    if result.state in NOTIFIED and (settings.notify_url or settings.notify_command):
        notify(_event(result), command=settings.notify_command, url=settings.notify_url)
    logger.info("nightly %s: %s", result.run_id, result.state)
    return result


def _ingest_inbox(
    engine: Engine,
    settings: Settings,
    inbox: Path,
    now: dt.datetime,
    result: NightlyResult,
    ingest: Ingest,
) -> None:
    counts = dict.fromkeys(
        ("ingested", "already_ingested", "refused", "stopped", "ignored", "rows_rejected"), 0
    )
    result.counts = counts
    paths, counts["ignored"] = list_inbox(inbox)
    stamp = f"{now.astimezone(PARIS):%Y%m%dT%H%M%S}"
    for path in order_deliveries(paths):
        sha256 = checksum(path, settings.max_file_mb * 2**20)
        at = dt.datetime.now(dt.UTC)
        document = _ingest(path, engine, settings, ingest, at)
        status = document["status"]
        outcome = _DONE.get(status) or _ASIDE.get(status, "refused")
        counts[outcome] += 1
        counts["rows_rejected"] += len(document.get("errors") or [])
        aside = outcome in ("refused", "stopped")
        moved = move_aside(path, inbox / (REFUSED_DIR if aside else DONE_DIR), stamp)
        if aside:
            report = aside_report(document, sha256, result.run_id)
            moved.with_name(f"{moved.name}.rapport.json").write_text(
                json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                encoding="utf-8",
            )
        result.inputs.append(
            {"file": path.name, "sha256": sha256, "status": status, "at": at.isoformat(),
             "moved_to": f"{moved.parent.name}/{moved.name}"}
        )  # fmt: skip
    if counts["refused"] or counts["stopped"]:
        result.state = runs.PARTIAL


def _ingest(
    path: Path, engine: Engine, settings: Settings, ingest: Ingest, at: dt.datetime
) -> dict[str, Any]:
    """Ingest one delivery; a bug on one file refuses it, the store being down fails the run."""
    if path.is_dir() and any(p.is_symlink() for p in path.iterdir()):
        return _refusal(path, "le dossier contient un lien symbolique")
    try:
        return ingest(path, engine, settings, False, at)
    except (SQLAlchemyError, OSError):
        raise  # the store or the disk: the run fails and the file stays for the next night
    except Exception as error:
        logger.exception("unexpected error while ingesting a delivery")
        return _refusal(path, f"erreur inattendue ({type(error).__name__})")


def _refusal(path: Path, detail: str) -> dict[str, Any]:
    text = message("fichier-illisible", detail=detail)
    refusal = {"file": path.name, "reason": "fichier-illisible", "message": text}
    return {"file": path.name, "status": "refusee", "refusal": refusal, "errors": []}


def _approve_and_publish(
    engine: Engine, settings: Settings, now: dt.datetime, result: NightlyResult
) -> None:
    result.counts["actions_approved"] = 0
    result.counts["published"] = 0
    if settings.auto_approve:
        with open_session(engine, write=True) as db, db.begin():
            done = decide(
                db, select_actions(db, all_valid=True), refuse=False, now=now, who="nightly",
                reason="validée automatiquement par le nightly (CATALOGUE_AUTO_APPROVE)",
            )  # fmt: skip
        result.counts["actions_approved"] = len(done)
    result.fingerprint = runs.store_fingerprint(engine, now)
    kept = unchanged_release(engine, settings.output_dir, result.fingerprint)
    if kept is not None:
        result.message = message("rien-de-nouveau", release=kept)
        logger.info("nothing new since release %s: it stays current", kept)
        if result.state == runs.RUNNING:
            result.state = runs.SUCCEEDED
        return
    try:
        published = publish(
            engine, output_dir=settings.output_dir, keep=settings.releases_keep, now=now,
            run_id=result.run_id,
        )  # fmt: skip
    except ExportError as error:
        result.state, result.message = runs.FAILED, f"Publication refusée : {error}"
        return
    result.release = published.release.name
    result.release_sha256 = sha256_file(published.release / "manifest.json")
    result.counts["published"] = 1
    if result.state == runs.RUNNING:
        result.state = runs.SUCCEEDED


def unchanged_release(engine: Engine, output_dir: Path, fingerprint: str) -> str | None:
    """The current release, when the nightly that published it saw the same ``fingerprint``."""
    current = output_dir / CURRENT
    if not current.is_symlink() or not (current.resolve() / "manifest.json").is_file():
        return None
    name = current.resolve().name
    with open_session(engine) as db:
        params = db.scalars(
            select(Run.params).where(Run.release == name).order_by(Run.started_at.desc()).limit(1)
        ).first()
    return name if (params or {}).get("fingerprint") == fingerprint else None


def _record_end(engine: Engine, run: Any, result: NightlyResult) -> None:
    if run is None:
        return
    try:
        with open_session(engine, write=True) as db, db.begin():
            runs.finish_run(
                db, run, state=result.state, inputs=result.inputs, counts=result.counts,
                release=result.release, release_sha256=result.release_sha256,
                message=result.message, now=result.ended or run.started_at,
                params={"fingerprint": result.fingerprint} if result.release else None,
            )  # fmt: skip
    except SQLAlchemyError:
        logger.exception("the end of run %s could not be recorded", result.run_id)


def _write_artefact(output_dir: Path, result: NightlyResult) -> Path:
    folder = output_dir / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.run_id}.json"
    result.artefact = path
    partial = folder / f".{result.run_id}.json.tmp"
    partial.write_text(
        json.dumps(result.as_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    os.replace(partial, path)
    return path


def _event(result: NightlyResult) -> dict[str, Any]:
    """The notification: the run's id, state, counts and message (no file names, no contacts)."""
    document = result.as_dict()
    keep = ("run_id", "kind", "state", "exit_code", "message", "started", "ended", "counts",
            "release")  # fmt: skip
    return {"event": "catalogue-nightly", **{k: document[k] for k in keep}}


def _fallback_id() -> str:
    import uuid

    return uuid.uuid4().hex
