"""A PostgreSQL connection dropped in the middle of a run (``pg_terminate_backend``).

The run is paused inside a delivery's transaction (a ``pause`` point of
:mod:`tests.hardening.killpoints`: the marker file says it is there), the test terminates
every backend of the store's database from its own connection, then lets the run go on: its
next statement meets a dead connection. Nothing of the delivery may be written, the run must
fail with a non-zero exit and be recorded as failed, and a rerun (or the Prefect flow's retry
of the delivery task) must then succeed with the same store as an undisturbed run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from pipelines.load.db import normalise_url
from tests.hardening.conftest import Store
from tests.hardening.killpoints import (
    KillPoint,
    canonical,
    dump_database,
    feed_digest,
    run_cli,
    split_runs,
    start_cli,
    wait_for,
)
from tests.hardening.test_faults_kill import ENTRY_A, ENTRY_B, SCENARIOS, prepared

pytestmark = pytest.mark.postgres

#: Inside the first delivery's transaction: formations, actions and sessions merged, the
#: publication rules and the workflow not yet.
PAUSE = KillPoint("merged", "pipelines.load.offer:merge_entries", action="pause")


def terminate_backends(store: Store) -> int:
    """Terminate every other connection to the store's database; return how many."""
    admin = create_engine(
        normalise_url(store.url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with admin.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).all()
    finally:
        admin.dispose()
    return sum(1 for (done,) in rows if done)


def drop_connection_midway(store: Store, args: list[str], tmp_path: Path) -> tuple[int, str]:
    """Run ``catalogue ARGS`` paused at :data:`PAUSE`, drop its connection, let it end."""
    marker, gate = tmp_path / "paused", tmp_path / "go"
    process = start_cli(args, env=store.env, point=PAUSE, marker=marker, gate=gate)
    try:
        wait_for(marker, process)
        assert terminate_backends(store) >= 1
        gate.write_text("go")
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out + err


def test_a_dropped_connection_fails_the_ingest_and_writes_nothing(
    clones: Callable[[str, str], Store], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = clones("postgresql", "frame")
    before, before_runs = split_runs(dump_database(store.url))

    code, output = drop_connection_midway(store, ["ingest", str(ENTRY_A)], tmp_path)

    assert code not in (0, -9), output[-3000:]
    after, runs = split_runs(dump_database(store.url))
    assert after == before  # nothing of the delivery: no row, no reject, no transition
    [new] = [run for i, run in runs.items() if i not in before_runs]
    assert (new["kind"], new["state"]) == ("ingest", "failed")  # recorded on a new connection
    again = run_cli(["ingest", str(ENTRY_A)], env=store.env)
    assert again.returncode == 1, again.stderr[-3000:]  # 3 rows rejected, as without the fault
    reference = clones("postgresql", "frame")
    run_cli(["ingest", str(ENTRY_A)], env=reference.env)
    assert canonical(store.url, mask_codes=True) == canonical(reference.url, mask_codes=True)
    assert code == 2 and "Traceback" not in output
    said = " ".join(output.split())  # as the console wrapped it
    assert "Le store a échoué (AdminShutdown) : base injoignable ou connexion coupée." in said


def test_a_dropped_connection_fails_the_nightly_and_the_next_one_succeeds(
    clones: Callable[[str, str], Store], tmp_path: Path
) -> None:
    scenario = SCENARIOS["nightly"]
    store = prepared(clones, "postgresql", scenario)
    before, before_runs = split_runs(dump_database(store.url))

    code, output = drop_connection_midway(store, ["run", "--json"], tmp_path)

    assert code == 2, output[-3000:]
    assert "erreur inattendue (OperationalError) : voir le journal" in output  # French
    after, runs = split_runs(dump_database(store.url))
    assert after == before
    [new] = [run for i, run in runs.items() if i not in before_runs]
    assert (new["kind"], new["state"]) == ("nightly", "failed")
    inbox = store.output / "inbox"
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [ENTRY_A.name, ENTRY_B.name]
    current = (store.output / "current").resolve()

    again = run_cli(["run"], env=store.env)

    assert again.returncode == 0, again.stderr[-3000:]
    reference = prepared(clones, "postgresql", scenario)
    assert run_cli(["run"], env=reference.env).returncode == 0
    assert canonical(store.url, mask_codes=True) == canonical(reference.url, mask_codes=True)
    assert (store.output / "current").resolve() != current
    # (ids of the store differ from the reference's by the sequences the dropped transaction
    # consumed: the feeds name FAS codes, so they are compared in the SQLite cases)


@pytest.mark.slow
@pytest.mark.flow
def test_the_flows_retry_of_the_delivery_survives_a_dropped_connection(
    clones: Callable[[str, str], Store], tmp_path: Path
) -> None:
    """``catalogue run --flow``: the task ``integrer-livraison`` is retried on the dropped
    connection (``retry_on_io_error``) and the same nightly succeeds, with nothing doubled."""
    scenario = SCENARIOS["nightly"]
    store = prepared(clones, "postgresql", scenario)
    env = {**store.env, "PREFECT_HOME": str(tmp_path / "prefect"),
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"}  # fmt: skip
    marker, gate = tmp_path / "paused", tmp_path / "go"
    process = start_cli(["run", "--flow", "--json"], env=env, point=PAUSE, marker=marker,
                        gate=gate)  # fmt: skip
    try:
        wait_for(marker, process, timeout=300)
        assert terminate_backends(store) >= 1
        gate.write_text("go")
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, (out + err)[-3000:]
    assert '"state": "succeeded"' in out
    reference = prepared(clones, "postgresql", scenario)
    assert run_cli(["run"], env=reference.env).returncode == 0
    assert canonical(store.url, mask_codes=True) == canonical(reference.url, mask_codes=True)
    assert sorted(p.name for p in (store.output / "inbox").iterdir()) == ["traites"]
    assert (
        feed_digest((store.output / "current").resolve()).keys()
        == feed_digest((reference.output / "current").resolve()).keys()
    )
