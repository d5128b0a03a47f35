"""Run history: one row per run of the pipeline (``runs`` table), for ``catalogue runs``.

A run starts ``running`` and ends ``succeeded``, ``partial`` (some files refused), ``failed``
or ``skipped`` (a late nightly). A process killed in the middle leaves its run ``running``;
:func:`mark_interrupted` closes such runs once the run lock proves their process is gone.
The functions take ``db`` and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, orm, select, update

from pipelines.load.deliveries import as_utc
from schemas.store import ActionTransition, Delivery, Run

PARIS = ZoneInfo("Europe/Paris")

logger = logging.getLogger(__name__)

RUNNING, SUCCEEDED, PARTIAL, FAILED, SKIPPED, INTERRUPTED = (
    "running", "succeeded", "partial", "failed", "skipped", "interrupted",
)  # fmt: skip
END_STATES = (SUCCEEDED, PARTIAL, FAILED, SKIPPED)


def start_run(
    db: orm.Session, *, kind: str, now: dt.datetime, params: dict[str, Any] | None = None
) -> Run:
    """Record the start of a run (state ``running``, a new UUID hex id, this process's pid).

    Args:
        db: the session (the caller commits).
        kind: ``nightly``, ``ingest``, ``approve``, ``publish``, ``backfill``.
        now: when it started (also the time its decisions and its release are stamped with).
        params: what a replay needs to do it again (JSON-ready, no personal data).

    Returns:
        The run (flushed).
    """
    run = Run(
        id=uuid.uuid4().hex, kind=kind, started_at=as_utc(now), state=RUNNING,
        pid=os.getpid(), inputs=[], counts={}, params=dict(params or {}),
    )  # fmt: skip
    db.add(run)
    db.flush()
    logger.info("run %s (%s) started", run.id, kind)
    return run


def finish_run(
    db: orm.Session,
    run: Run,
    *,
    state: str,
    inputs: Sequence[dict[str, Any]] = (),
    counts: dict[str, int] | None = None,
    release: str | None = None,
    release_sha256: str | None = None,
    message: str | None = None,
    params: dict[str, Any] | None = None,
    now: dt.datetime,
) -> Run:
    """Record the end of a run.

    Args:
        db: the session (the caller commits).
        run: the run from :func:`start_run` (attached to ``db`` or not).
        state: ``succeeded``, ``partial``, ``failed`` or ``skipped``.
        inputs: the files it took: ``{"file", "sha256", "status"}`` each.
        counts: counts per stage (files ingested, refused, actions approved...).
        release: the release it published (folder name), if any.
        release_sha256: the SHA-256 of that release's ``manifest.json`` (what a replay checks).
        message: why it failed or was skipped, in French.
        params: added to the run's parameters (what it found, e.g. the store's fingerprint).
        now: when it ended.

    Raises:
        ValueError: ``state`` is not an end state.
    """
    if state not in END_STATES:
        raise ValueError(f"state must be one of {END_STATES}, not {state!r}")
    run = db.merge(run)
    run.state, run.ended_at = state, as_utc(now)
    run.inputs, run.counts = [dict(i) for i in inputs], dict(counts or {})
    run.release, run.release_sha256, run.message = release, release_sha256, message
    if params:
        run.params = {**(run.params or {}), **params}
    db.flush()
    logger.info("run %s ended %s", run.id, state)
    return run


def mark_interrupted(db: orm.Session, *, kind: str, now: dt.datetime, keep: str) -> int:
    """Close the runs of ``kind`` left ``running`` by a killed process (state ``interrupted``).

    Only call this while holding the run lock of that kind: no other such run can be alive.

    Args:
        db: the session (the caller commits).
        kind: the kind of run the lock guards.
        now: recorded as their end.
        keep: the id of the current run (left alone).

    Returns:
        How many runs were closed.
    """
    statement = (
        update(Run)
        .where(Run.kind == kind, Run.state == RUNNING, Run.id != keep)
        .values(state=INTERRUPTED, ended_at=as_utc(now), message="processus interrompu")
    )
    outcome = db.execute(statement, execution_options={"synchronize_session": False})
    count = int(getattr(outcome, "rowcount", 0) or 0)
    if count:
        logger.warning("%d %s run(s) left running by a killed process: interrupted", count, kind)
    return count


def list_runs(db: orm.Session, limit: int = 50) -> list[dict[str, Any]]:
    """The last runs, newest first, as JSON-ready documents."""
    runs = db.scalars(select(Run).order_by(Run.started_at.desc(), Run.id).limit(limit))
    return [run_document(run) for run in runs]


def run_document(run: Run) -> dict[str, Any]:
    """One run as a JSON-ready document (times in UTC, ISO 8601)."""
    ended = as_utc(run.ended_at).isoformat() if run.ended_at else None
    return {
        "id": run.id,
        "kind": run.kind,
        "started": as_utc(run.started_at).isoformat(),
        "ended": ended,
        "state": run.state,
        "pid": run.pid,
        "inputs": list(run.inputs or []),
        "counts": dict(run.counts or {}),
        "release": run.release,
        "release_sha256": run.release_sha256,
        "params": dict(run.params or {}),
        "message": run.message,
    }


def store_fingerprint(engine: Engine, now: dt.datetime) -> str:
    """A digest of what a release depends on: the store's deliveries and state changes, and the
    day (Paris time) the feeds are dated.

    Every change the feeds can show comes with a new delivery (ingested or refused: reports
    list both) or a change of an action's state (entries, approvals, refusals); both tables
    only grow. Two equal fingerprints: a release would be the same, byte for byte.
    """
    with orm.Session(engine) as db:
        parts: dict[str, Any] = {
            model.__tablename__: list(db.execute(select(func.count(), func.max(model.id))).one())
            for model in (Delivery, ActionTransition)
        }
    parts["date_export"] = f"{as_utc(now).astimezone(PARIS):%Y-%m-%d}"
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
