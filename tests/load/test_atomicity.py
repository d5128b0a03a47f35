"""A delivery is one transaction: a failure or a kill half-way leaves the store as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from pipelines.load import frame
from pipelines.load.db import make_engine, open_session, upgrade_store
from pipelines.transform.frame import ValidatedExtraction
from schemas.store import ActionRegion, Lot
from tests.load import factories as f
from tests.load.helpers import at, dump, load

ROOT = Path(__file__).resolve().parents[2]


def changed_delivery() -> ValidatedExtraction:
    """A second delivery that inserts, updates and withdraws (within the threshold)."""
    rows = f.standard_rows()
    rows["lots"] = rows["lots"][:4] + [f.lot("PSS2025_9", 101)]
    rows["actions"] = [a for a in rows["actions"] if a["numero_lot"] != "PSS2025_5"]
    rows["actions"] += [f.action(202500901, "PSS2025_9", 101)]
    rows["actions"][0]["nb_places"] = 15
    rows["organismes"][0]["raison_sociale"] = "Nouveau nom"
    return f.make_extraction(2025, date=f.dt.date(2025, 4, 1), **rows)


class Boom(RuntimeError):
    """The failure injected in the middle of a load."""


def test_a_failure_after_the_upserts_rolls_everything_back(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, f.standard(), now=at(0))
    before = dump(engine)
    seen: dict[str, Any] = {}
    load_actions = frame._load_actions

    def failing(state: Any) -> Any:
        load_actions(state)  # the actions are really sent to the database...
        seen["lots"] = state.db.scalar(select(func.count()).select_from(Lot))
        seen["actions"] = state.db.scalar(select(func.count()).select_from(ActionRegion))
        raise Boom("disk full")  # ...then the load fails before the withdrawals

    monkeypatch.setattr(frame, "_load_actions", failing)

    with pytest.raises(Boom):
        load(engine, changed_delivery(), now=at(30))

    assert seen == {"lots": 6, "actions": 11}  # the writes happened inside the transaction
    assert dump(engine) == before
    monkeypatch.undo()
    result = load(engine, changed_delivery(), now=at(31))  # and the same delivery then loads
    assert (result.counts["lots"].inserted, result.counts["lots"].withdrawn) == (1, 1)


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from sqlalchemy import event
    from pipelines.load import frame
    from pipelines.load.db import make_engine
    from tests.load.helpers import at, load
    from tests.load.test_atomicity import changed_delivery

    url, wal = sys.argv[1], sys.argv[2]
    load_actions = frame._load_actions

    def die(state):
        load_actions(state)  # lots and actions are upserted, not committed: kill -9
        sys.stdout.write(f"upserted, wal {os.path.getsize(wal)}\\n")
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    frame._load_actions = die
    engine = make_engine(url)
    # A tiny page cache spills the uncommitted pages to the WAL file before the kill.
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA cache_size = 1"))
    load(engine, changed_delivery(), now=at(30))
    """
)


def test_a_killed_load_leaves_the_sqlite_store_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "store" / "catalogue.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade_store(engine)
    load(engine, f.standard(), now=at(0))
    before = dump(engine)
    engine.dispose()

    done = subprocess.run(
        [sys.executable, "-c", KILLER, url, f"{path}-wal"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.startswith("upserted, wal ")
    assert int(done.stdout.split()[-1]) > 0  # uncommitted writes did reach the disk
    engine = make_engine(url)
    try:
        assert dump(engine) == before
        result = load(engine, changed_delivery(), now=at(31))
        assert result.counts["actions"].inserted == 1
        with open_session(engine) as db:
            assert db.scalar(select(func.count()).select_from(Lot)) == 6
    finally:
        engine.dispose()


def test_sqlite_ddl_is_transactional(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ddl.db'}")
    try:
        with pytest.raises(Boom), engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            raise Boom
        with engine.connect() as connection:
            tables = connection.exec_driver_sql("SELECT name FROM sqlite_master").all()
        assert tables == []  # pysqlite alone would have committed before the CREATE
    finally:
        engine.dispose()
