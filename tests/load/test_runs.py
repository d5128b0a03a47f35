"""Run history (``runs`` table): start, finish, interrupted runs, listing."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from sqlalchemy import Engine

from pipelines.load.db import open_session
from pipelines.load.runs import finish_run, list_runs, mark_interrupted, start_run

T0 = dt.datetime(2025, 3, 2, 1, 0, tzinfo=dt.UTC)


def test_a_run_is_recorded_from_start_to_end(engine: Engine) -> None:
    with open_session(engine, write=True) as db, db.begin():
        run = start_run(db, kind="nightly", now=T0, params={"auto_approve": False})
    assert len(run.id) == 32 and int(run.id, 16) >= 0
    with open_session(engine) as db:
        assert [(r["id"], r["state"], r["ended"], r["pid"]) for r in list_runs(db)] == [
            (run.id, "running", None, os.getpid())
        ]
    inputs = [{"file": "prf_2025_20250115.xlsx", "sha256": "ab" * 32, "status": "integree"}]
    with open_session(engine, write=True) as db, db.begin():
        finish_run(
            db, run, state="partial", inputs=inputs, counts={"ingested": 1, "refused": 1},
            release="20250302T020000000000-abcd", release_sha256="f" * 64, message=None,
            now=T0 + dt.timedelta(minutes=3),
        )  # fmt: skip
    with open_session(engine) as db:
        (document,) = list_runs(db)
    assert document == {
        "id": run.id, "kind": "nightly", "started": "2025-03-02T01:00:00+00:00",
        "ended": "2025-03-02T01:03:00+00:00", "state": "partial", "pid": os.getpid(),
        "inputs": inputs, "counts": {"ingested": 1, "refused": 1},
        "release": "20250302T020000000000-abcd", "release_sha256": "f" * 64,
        "params": {"auto_approve": False}, "message": None,
    }  # fmt: skip
    assert json.loads(json.dumps(document)) == document


def test_runs_are_listed_newest_first_and_limited(engine: Engine) -> None:
    with open_session(engine, write=True) as db, db.begin():
        ids = [
            start_run(db, kind=kind, now=T0 + dt.timedelta(hours=n)).id
            for n, kind in enumerate(["nightly", "ingest", "publish"])
        ]
    with open_session(engine) as db:
        assert [r["id"] for r in list_runs(db)] == ids[::-1]
        assert [r["kind"] for r in list_runs(db, limit=2)] == ["publish", "ingest"]


def test_only_end_states_finish_a_run(engine: Engine) -> None:
    with open_session(engine, write=True) as db, db.begin():
        run = start_run(db, kind="nightly", now=T0)
        with pytest.raises(ValueError, match="state must be one of"):
            finish_run(db, run, state="running", now=T0)


def test_runs_left_running_become_interrupted_except_the_current_one(engine: Engine) -> None:
    with open_session(engine, write=True) as db, db.begin():
        killed = start_run(db, kind="nightly", now=T0)
        other_kind = start_run(db, kind="publish", now=T0)
        done = start_run(db, kind="nightly", now=T0)
        finish_run(db, done, state="succeeded", now=T0)
        current = start_run(db, kind="nightly", now=T0 + dt.timedelta(days=1))
        assert (
            mark_interrupted(db, kind="nightly", now=T0 + dt.timedelta(days=1), keep=current.id)
            == 1
        )
    with open_session(engine) as db:
        states = {r["id"]: (r["state"], r["message"]) for r in list_runs(db)}
    assert states == {
        killed.id: ("interrupted", "processus interrompu"),
        other_kind.id: ("running", None),
        done.id: ("succeeded", None),
        current.id: ("running", None),
    }
