"""Load and concurrency: a night of 50 organisations, overlapping runs, a release during a load.

Everything runs for real: the pipeline's own functions or its command line in subprocesses,
on SQLite (WAL, one file) and on PostgreSQL (real concurrent transactions, one database per
test cloned from a base, see ``conftest``). The stores are compared with
:func:`~pipelines.load.inspect.canonical_store` (every table, ids replaced by what they point
to, times by whether they are set), releases by the checksums of their feeds
(:func:`~tests.hardening.killpoints.feed_digest`: every file but the manifest and the reports,
which name the run).

1. **One night, 50 organisations** (:mod:`tests.hardening.load_inputs`): the extraction, 50
   entry workbooks written by the benchmarks' generator and two files to refuse, in one inbox;
   one nightly processes them all, each with the counts the generator wrote, into the same
   store as one ``ingest`` per file; the same files again the next night change nothing.
2. **Overlapping runs**: two nightlies released at the same instant on the same store and
   inbox (two ``catalogue run``, or one and the Prefect flow's path, ``run_nightly`` without
   the command line's lock): one runs, the other exits 3 at once (the run lock) and records
   nothing; the store is the one of a single run. Two ``catalogue ingest`` of different files
   at once both land, as ingested one after the other (PostgreSQL: two transactions at once,
   one even committing while the other is paused inside its own; SQLite: queued by ``BEGIN
   IMMEDIATE``), also when two years insert the same organismes (a strict xfail: on
   PostgreSQL the older year keeps them).
3. **A release during a load** (PostgreSQL): a publication while an ingest is paused inside
   its transaction shows the store before it, the next one the store after it; a publication
   paused inside its read transaction (offer ids read; offer feeds written) while an ingest
   commits shows the store before it in every file and in its manifest (``release._snapshot``;
   without it the manifest counts the store after). On SQLite a reader waits for the ingest
   (strict xfail).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.pool import NullPool

from pipelines.dispatch import order_deliveries
from pipelines.inbox import DONE_DIR, REFUSED_DIR
from pipelines.journal import ingest_files
from pipelines.load.db import make_engine, open_session, upgrade_store
from pipelines.load.inspect import canonical_store
from pipelines.nightly import run_nightly
from pipelines.settings import Settings
from schemas import store
from tests.hardening.conftest import BACKENDS, Store
from tests.hardening.killpoints import (
    ROOT,
    KillPoint,
    dump_database,
    feed_digest,
    split_runs,
    start_cli,
    wait_for,
)
from tests.hardening.load_inputs import ORGANISATIONS, SESSIONS, Night, write_night

Clones = Callable[[str, str], Store]


# --------------------------------------------------------------------------- helpers


def settings_of(target: Store) -> Settings:
    """The settings the command line would read from ``target.env``."""
    return Settings(output_dir=target.output, database_url=target.url, releases_keep=5)


@pytest.fixture
def engines() -> Iterator[Callable[[Store], Engine]]:
    """``engines(store)``: an engine on the store, migrated (disposed after the test)."""
    made: list[Engine] = []

    def make(target: Store) -> Engine:
        engine = make_engine(target.url, poolclass=NullPool)
        upgrade_store(engine)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


def canonical(engine: Engine) -> dict[str, list[str]]:
    """The store without ids and times (see the module's docstring)."""
    with open_session(engine) as db:
        return canonical_store(db)


def fas_names(engine: Engine) -> dict[str, str]:
    """FAS code (``F-A-S`` and ``F-A``) -> the records' own keys (siret and references)."""
    f, a, s = store.Formation, store.Action, store.Session
    names: dict[str, str] = {}
    with open_session(engine) as db:
        for fid, aid, sid, *keys in db.execute(
            select(f.id, a.id, s.id, f.siret, f.ref_formation, a.siret, a.ref_action,
                   s.siret, s.ref_session)
            .join(a, a.formation_id == f.id).outerjoin(s, s.action_id == a.id)
        ):  # fmt: skip
            names[f"{fid}-{aid}"] = "<{}/{}|{}/{}>".format(*keys[:4])
            if sid is not None:
                names[f"{fid}-{aid}-{sid}"] = "<{}/{}|{}/{}|{}/{}>".format(*keys)
    return names


def canonical_without_ids(engine: Engine) -> dict[str, list[str]]:
    """:func:`canonical`, with the FAS codes quoted in texts (an action's to-fix list) replaced
    by the records' keys: two stores that gave ids in another order (two loads at once)
    compare equal when they hold the same data."""
    names = fas_names(engine)
    pattern = re.compile(r"(?<![\d-])\d+-\d+(?:-\d+)?(?![\d-])")

    def name(match: re.Match[str]) -> str:
        return names.get(match[0], match[0])

    return {
        table: sorted(pattern.sub(name, row) for row in rows)
        for table, rows in canonical(engine).items()
    }


def fill_inbox(inbox: Path, files: list[Path]) -> None:
    """Copy the files into the inbox (a night's arrivals)."""
    inbox.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy2(path, inbox / path.name)


def deliveries(engine: Engine) -> dict[str, tuple[str, dict[str, Any]]]:
    """File name -> (status, counts accepted/rejected per sheet) of every delivery."""
    with open_session(engine) as db:
        rows = db.execute(
            select(store.Delivery.file_name, store.Delivery.status, store.Delivery.counts)
        ).all()
    assert len({name for name, _, _ in rows}) == len(rows), "a file recorded twice"
    return {
        name: (status, {sheet: {k: c[k] for k in ("accepted", "rejected")}
                        for sheet, c in (counts or {}).items()})
        for name, status, counts in rows
    }  # fmt: skip


def count(engine: Engine, model: type[store.Base], *where: Any) -> int:
    """Rows of ``model`` (matching ``where``)."""
    with open_session(engine) as db:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --------------------------------------------------------------------------- 1. one night


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    """The night's 53 files (written once for the module)."""
    return write_night(tmp_path_factory.mktemp("night"))


@pytest.fixture(scope="module")
def one_by_one(night: Night, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The store of the same files ingested one by one, one run each, as ``catalogue ingest
    FILE`` does, on SQLite, in the nightly's order (the FAS codes in the entries' to-fix lists
    are ids given in the order of insertion)."""
    output = tmp_path_factory.mktemp("one-by-one")
    url = f"sqlite:///{output / 'catalogue.db'}"
    engine = make_engine(url, poolclass=NullPool)
    try:
        upgrade_store(engine)
        settings = Settings(output_dir=output, database_url=url)
        for path in order_deliveries(night.files):
            ingest_files(engine, settings, [path])
        return canonical(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_night_of_50_organisations_is_processed_whole_and_once(
    backend: str,
    night: Night,
    one_by_one: dict[str, list[str]],
    clones: Clones,
    engines: Callable[[Store], Engine],
) -> None:
    target = clones(backend, "empty")
    inbox = target.output / "inbox"
    fill_inbox(inbox, night.files)
    engine = engines(target)
    settings = settings_of(target)

    result = run_nightly(engine, settings, inbox=inbox, now=dt.datetime.now(dt.UTC))

    # every file processed once: 51 ingested, the 2 others refused for their reason
    assert (result.state, result.exit_code) == ("partial", 1), result.message
    assert len(night.entries) == ORGANISATIONS
    assert {k: result.counts[k] for k in ("ingested", "already_ingested", "refused",
                                          "stopped", "rows_rejected", "published")} == {
        "ingested": 1 + ORGANISATIONS, "already_ingested": 0, "refused": 2, "stopped": 0,
        "rows_rejected": 0, "published": 1,
    }  # fmt: skip
    assert sorted(i["file"] for i in result.inputs) == sorted(p.name for p in night.files)
    assert [i["file"] for i in result.inputs] == [p.name for p in order_deliveries(night.files)]
    assert {p.name for p in inbox.iterdir()} == {DONE_DIR, REFUSED_DIR}
    assert len(list((inbox / DONE_DIR).iterdir())) == 1 + ORGANISATIONS
    reasons = {}
    for report in (inbox / REFUSED_DIR).glob("*.rapport.json"):
        document = json.loads(report.read_text(encoding="utf-8"))
        reasons[document["file"]] = document["refusal"]["reason"]
        assert document["refusal"]["message"]  # in French, for the organisation
    assert reasons == {path.name: reason for path, reason in night.refused.items()}

    # per file: the counts the generator wrote, every row accepted
    recorded = deliveries(engine)
    for path in [night.extraction, *night.entries]:
        assert recorded[path.name] == ("accepted", night.expected_counts(path)), path.name
    for path in night.refused:
        assert recorded[path.name] == ("refused", {}), path.name
    total = night.total()
    assert count(engine, store.Reject) == 0
    assert count(engine, store.Session) == total.sessions == SESSIONS
    assert count(engine, store.Action) == total.actions == night.extraction_counts.actions
    assert count(engine, store.Formation) == total.formations
    assert count(engine, store.InformationCollective) == total.informations_collectives
    with open_session(engine) as db:
        states = Counter(db.scalars(select(store.Action.etat)))
    assert states == {"en_attente_validation": total.actions - total.incomplete,
                      "en_cours_de_saisie": total.incomplete}  # fmt: skip

    # the same store as one ingestion per file (on SQLite)
    after = canonical(engine)
    assert after == one_by_one

    # the same files again the next night: nothing changes, no new release
    current = os.readlink(target.output / "current")
    before = split_runs(dump_database(target.url))[0]
    fill_inbox(inbox, night.files)
    again = run_nightly(engine, settings, inbox=inbox, now=dt.datetime.now(dt.UTC))
    assert (again.state, again.release) == ("partial", None), again.message
    assert {k: again.counts[k] for k in ("ingested", "already_ingested", "refused")} == {
        "ingested": 0,
        "already_ingested": 1 + ORGANISATIONS,
        "refused": 2,
    }
    assert canonical(engine) == after
    assert os.readlink(target.output / "current") == current
    now_dump = split_runs(dump_database(target.url))[0]
    changed = {name for name in before if before[name] != now_dump[name]}
    assert changed <= {"deliveries"}, changed
    # only the refused files' rows may change (sent again: their row is updated, not added)
    refused = {path.name for path in night.refused}
    kept = [
        [row for row in dump["deliveries"]["rows"] if json.loads(row)["file_name"] not in refused]
        for dump in (before, now_dump)
    ]
    assert kept[0] == kept[1] and len(kept[0]) == 1 + ORGANISATIONS


# ------------------------------------------------------------------------ 2. overlapping runs

SAMPLES = ROOT / "data" / "samples"
SAMPLE_ENTRIES = sorted((SAMPLES / "saisies").glob("saisie_*.xlsx")) + sorted(
    (SAMPLES / "saisies" / "lheo").glob("saisie_*.xml")
)
ENTRY_A = SAMPLES / "saisies" / "saisie_55477415800014_20250301.xlsx"  # 3 rows rejected
ENTRY_B = SAMPLES / "saisies" / "saisie_96274521200010_20250301.xlsx"

#: Started as ``python -c LAUNCHER READY GO MODE ARGS...``: imports the pipeline, says it is
#: ready, waits for the GO file, then runs ``catalogue ARGS`` (``cli``) or, for ``function``,
#: what the Prefect flow ``nightly`` does (``run_nightly`` on the settings' store and inbox,
#: without the command line's own lock); prints the run's JSON and exits with its code.
LAUNCHER = """
import datetime as dt, json, sys, time
from pathlib import Path
ready, go, mode, *arguments = sys.argv[1:]
import pipelines.cli
Path(ready).write_text("ready")
while not Path(go).exists():
    time.sleep(0.002)
if mode == "cli":
    sys.argv = ["catalogue", *arguments]
    pipelines.cli.app()
else:
    from pipelines.nightly import run_nightly
    from pipelines.settings import get_settings
    settings = get_settings()
    with pipelines.cli.store(settings) as engine:
        result = run_nightly(engine, settings, inbox=settings.inbox_path,
                             now=dt.datetime.now(dt.UTC))
    print(json.dumps(result.as_dict(), default=str))
    sys.exit(result.exit_code)
"""


def at_once(
    commands: list[tuple[str, list[str]]], *, env: dict[str, str], folder: Path
) -> list[tuple[int, int, str, str]]:
    """Start the commands (``(mode, arguments)``, see :data:`LAUNCHER`) in processes, wait
    until each is ready, release them at the same instant; ``(pid, code, stdout, stderr)``."""
    folder.mkdir(parents=True, exist_ok=True)
    go = folder / "go"
    processes = []
    for n, (mode, arguments) in enumerate(commands):
        ready = folder / f"ready-{n}"
        processes.append((ready, subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(ready), str(go), mode, *arguments],
            cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )))  # fmt: skip
    deadline = time.monotonic() + 120
    for ready, process in processes:
        while not ready.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "a process never got ready"
            time.sleep(0.01)
    go.write_text("go")
    outcomes = []
    for _, process in processes:
        out, err = process.communicate(timeout=300)
        outcomes.append((process.pid, process.returncode, out, err))
    return outcomes


def nightly_runs(engine: Engine) -> list[store.Run]:
    """The nightly runs recorded."""
    with open_session(engine) as db:
        return list(db.scalars(select(store.Run).where(store.Run.kind == "nightly")))


@pytest.mark.parametrize(
    "second",
    ["cli", pytest.param("function", id="cli-and-flow-path")],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_nightlies_started_at_once_run_once(
    backend: str, second: str, clones: Clones, engines: Callable[[Store], Engine], tmp_path: Path
) -> None:
    target, single = clones(backend, "frame"), clones(backend, "frame")
    for each in (target, single):
        fill_inbox(each.output / "inbox", SAMPLE_ENTRIES)
    releases_before = sorted((target.output / "releases").iterdir())

    outcomes = at_once(
        [("cli", ["run", "--json"]), (second, ["run", "--json"])],
        env=target.env, folder=tmp_path / "launch",
    )  # fmt: skip

    # one ran (exit 0: every file ingested, rows rejected included), the other stopped at once
    assert sorted(code for _, code, _, _ in outcomes) == [0, 3], outcomes
    (winner,) = [o for o in outcomes if o[1] == 0]
    (loser,) = [o for o in outcomes if o[1] == 3]
    assert f"Un nightly est déjà en cours (processus {winner[0]})" in loser[2] + loser[3]
    engine = engines(target)
    (run,) = nightly_runs(engine)  # the loser recorded nothing
    assert (run.state, run.pid) == ("succeeded", winner[0])
    assert [p.name for p in (target.output / "runs").glob("*.json")] == [f"{run.id}.json"]

    # every file ingested once, moved once; one new release
    inbox = target.output / "inbox"
    assert {p.name for p in inbox.iterdir()} == {DONE_DIR}
    moved = sorted(p.name.split("-", 2)[2] for p in (inbox / DONE_DIR).iterdir())
    assert moved == sorted(p.name for p in SAMPLE_ENTRIES)
    recorded = deliveries(engine)
    assert len(recorded) == 1 + len(SAMPLE_ENTRIES)
    assert all(status == "accepted" for status, _ in recorded.values())
    releases = sorted((target.output / "releases").iterdir())
    assert len(releases) == len(releases_before) + 1
    assert os.readlink(target.output / "current") == f"releases/{run.release}"

    # the same store as one nightly alone
    alone = run_nightly(
        engines(single), settings_of(single), inbox=single.output / "inbox",
        now=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    assert alone.state == "succeeded"
    assert canonical(engine) == canonical(engines(single))


def ingest_runs(engine: Engine) -> list[tuple[dt.datetime, dt.datetime]]:
    """(start, end) of the ingest runs, in order of start."""
    with open_session(engine) as db:
        rows = db.execute(
            select(store.Run.started_at, store.Run.ended_at)
            .where(store.Run.kind == "ingest")
            .order_by(store.Run.started_at)
        ).all()
    return [(start, end) for start, end in rows]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_ingests_started_at_once_both_land(
    backend: str, clones: Clones, engines: Callable[[Store], Engine], tmp_path: Path
) -> None:
    target, sequential = clones(backend, "frame"), clones(backend, "frame")

    outcomes = at_once(
        [("cli", ["ingest", "--json", str(ENTRY_A)]), ("cli", ["ingest", "--json", str(ENTRY_B)])],
        env=target.env, folder=tmp_path / "launch",
    )  # fmt: skip

    assert [code for _, code, _, _ in outcomes] == [1, 0], outcomes  # A has 3 rows rejected
    documents = [json.loads(out) for _, _, out, _ in outcomes]
    assert [d["status"] for d in documents] == ["integree", "integree"]
    engine = engines(target)
    if backend == "postgresql":  # SQLite queues the writers (BEGIN IMMEDIATE): one waits
        (a_start, a_end), (b_start, b_end) = ingest_runs(engine)[-2:]  # the base's first
        assert b_start < a_end and a_start < b_end  # the two runs overlapped
    reference = engines(sequential)
    for path in (ENTRY_A, ENTRY_B):
        ingest_files(reference, settings_of(sequential), [path])
    assert deliveries(engine) == deliveries(reference)
    assert canonical_without_ids(engine) == canonical_without_ids(reference)


def paused(
    arguments: list[str], target: Store, point: KillPoint, folder: Path
) -> tuple[subprocess.Popen[str], Path]:
    """``catalogue ARGUMENTS`` started and paused at ``point`` (it waits for the gate file
    returned: see :mod:`tests.hardening.killpoints`)."""
    folder.mkdir(parents=True, exist_ok=True)
    marker, gate = folder / f"{point.id}.reached", folder / f"{point.id}.gate"
    process = start_cli(arguments, env=target.env, point=point, marker=marker, gate=gate)
    wait_for(marker, process)
    return process, gate


@pytest.mark.postgres
def test_an_ingest_commits_while_another_is_inside_its_transaction(
    clones: Clones, engines: Callable[[Store], Engine], tmp_path: Path
) -> None:
    target, sequential = clones("postgresql", "frame"), clones("postgresql", "frame")
    # A stops inside its transaction: formations and actions merged, not committed
    point = KillPoint("a-merged", "pipelines.load.offer:_merge_actions", action="pause")
    first, gate = paused(["ingest", "--json", str(ENTRY_A)], target, point, tmp_path)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "pipelines", "ingest", "--json", str(ENTRY_B)],
            cwd=ROOT, env={**os.environ, **target.env, "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        assert first.poll() is None  # A still inside its transaction
        assert second.returncode == 0, second.stderr  # B did not wait for A
        engine = engines(target)
        entries = [name for name in deliveries(engine) if name.startswith("saisie_")]
        assert entries == [ENTRY_B.name]  # B committed, A not yet
    finally:
        gate.write_text("go")
    out, err = first.communicate(timeout=120)
    assert first.returncode == 1, err  # A: 3 rows rejected, the rest ingested
    assert json.loads(out)["status"] == "integree"
    reference = engines(sequential)
    for path in (ENTRY_A, ENTRY_B):
        ingest_files(reference, settings_of(sequential), [path])
    assert deliveries(engine) == deliveries(reference)
    assert canonical_without_ids(engine) == canonical_without_ids(reference)


def blocked_on_a_lock(url: str, timeout: float = 60) -> bool:
    """True once a session of the PostgreSQL database waits for a lock (within ``timeout``)."""
    engine = make_engine(url, poolclass=NullPool)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                waiting = connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )).scalar()  # fmt: skip
            if waiting:
                return True
            time.sleep(0.1)
        return False
    finally:
        engine.dispose()


def race_two_years(
    backend: str, clones: Clones, engines: Callable[[Store], Engine], folder: Path
) -> tuple[Engine, Engine]:
    """Two extractions of 2024 and 2026 sharing their organismes (the store keeps one row
    each), ingested so that they collide: the first stops inside its transaction with the new
    organismes inserted; the second, started then, must insert the same rows (on PostgreSQL it
    waits for the first's row locks, on SQLite for the write lock); then the first commits.

    Returns:
        The store raced, and a store of the same two files ingested one after the other.
    """
    from tests.years import write_year

    first_year, second_year = (write_year(folder / str(y), y)[0] for y in (2024, 2026))
    target, sequential = clones(backend, "empty"), clones(backend, "empty")
    point = KillPoint("organismes-inserted", "pipelines.load.frame:_load_organismes",
                      action="pause")  # fmt: skip
    first, gate = paused(["ingest", "--json", str(first_year)], target, point, folder)
    try:
        second = subprocess.Popen(
            [sys.executable, "-m", "pipelines", "ingest", "--json", str(second_year)],
            cwd=ROOT, env={**os.environ, **target.env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        if backend == "postgresql":
            assert blocked_on_a_lock(target.url), "the second never met the first's rows"
        else:
            time.sleep(3)
        assert first.poll() is None and second.poll() is None
    finally:
        gate.write_text("go")
    for process in (first, second):
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        assert json.loads(out)["status"] == "integree"
    engine, reference = engines(target), engines(sequential)
    for path in (first_year, second_year):
        ingest_files(reference, settings_of(sequential), [path])
    return engine, reference


def without_provenance(tables: dict[str, list[str]]) -> dict[str, list[str]]:
    """The canonical store without which delivery an organisme's row is attributed to."""
    rows = [json.loads(row) for row in tables["organismes"]]
    for row in rows:
        del row["delivery_id"], row["source_rank"]
    return tables | {"organismes": sorted(json.dumps(row, sort_keys=True) for row in rows)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_years_inserting_the_same_organismes_at_once_both_land(
    backend: str, clones: Clones, engines: Callable[[Store], Engine], tmp_path: Path
) -> None:
    engine, reference = race_two_years(backend, clones, engines, tmp_path)
    assert deliveries(engine) == deliveries(reference)
    assert without_provenance(canonical_without_ids(engine)) == without_provenance(
        canonical_without_ids(reference)
    )


@pytest.mark.postgres
def test_after_two_years_raced_the_most_recent_year_still_wins(
    clones: Clones, engines: Callable[[Store], Engine], tmp_path: Path
) -> None:
    """As one by one, a 2025 extraction renaming an organisme, loaded after 2024 and 2026
    (raced), must not override 2026's name (organismes: the most recent year wins)."""
    from tests.workbooks import SIRET_A, minimal_sheets, write_workbook

    engine, reference = race_two_years("postgresql", clones, engines, tmp_path)
    sheets = minimal_sheets()
    (row,) = [r for r in sheets["Organismes"] if r[1] == SIRET_A]
    row[2] = "GRETA-CFA Loire-Atlantique (ancien nom)"
    renamed = write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets)
    names = []
    for each in (engine, reference):
        settings = Settings(output_dir=tmp_path / f"out-{len(names)}", database_url="sqlite://")
        (document,), _ = ingest_files(each, settings, [renamed])
        assert document["status"] == "integree"
        with open_session(each) as db:
            names.append(db.scalar(
                select(store.Organisme.raison_sociale).where(store.Organisme.siret == SIRET_A)
            ))  # fmt: skip
    assert names[1] == "GRETA-CFA Loire-Atlantique"  # one by one: 2026's name stays
    assert names[0] == names[1]


# ------------------------------------------------------------------ 3. a release during a load

LHEO = "{http://lheo.gouv.fr/2.3}"
EXTRACTION = SAMPLES / "prf_2025_20250115.xlsx"
#: Lots of the sample whose actions are published in the base ``published`` (withdrawn below).
WITHDRAWN_LOTS = 2


def published_lots(engine: Engine) -> list[str]:
    """The lots holding a published action, sorted."""
    from pipelines.load.published import published_action_ids

    with open_session(engine) as db:
        ids = published_action_ids(db)
        return sorted(set(db.scalars(
            select(store.Lot.numero_lot)
            .join(store.ActionRegion, store.ActionRegion.lot_id == store.Lot.id)
            .join(store.Action, store.Action.action_region_id == store.ActionRegion.id)
            .where(store.Action.id.in_(ids))
        )))  # fmt: skip


def withdrawing_extraction(folder: Path, lots: list[str]) -> Path:
    """A later extraction of 2025: the sample's rows without ``lots`` and their actions (so
    the load withdraws them, and the actions published in them leave the offer)."""
    from tests.workbooks import copy_workbook

    def keep(_: int, cells: list[Any]) -> bool:
        return not any(cell in lots for cell in cells)

    folder.mkdir(parents=True, exist_ok=True)
    return copy_workbook(
        EXTRACTION, folder / "prf_2025_20250401.xlsx",
        keep={"Lots 2025": keep, "Actions PRF": keep},
    )  # fmt: skip


def release_counts(release: Path) -> dict[str, dict[str, int]]:
    """Actions and sessions as each file of ``release`` shows them."""
    from lxml import etree

    lheo = Counter(
        element.tag
        for _, element in etree.iterparse(str(release / "offre-info" / "lheo.xml"))
        if element.tag in (f"{LHEO}action", f"{LHEO}session")
    )
    lines = (release / "sites-regionaux" / "sessions.jsonl").read_text("utf-8").splitlines()
    jsonl = [json.loads(line) for line in lines]
    with (release / "sites-regionaux" / "sessions.csv").open(encoding="utf-8-sig") as fh:
        table = list(csv.DictReader(fh, delimiter=";"))
    manifest = json.loads((release / "manifest.json").read_text("utf-8"))
    records = {f["path"]: f["records"] for f in manifest["files"]}
    return {
        "actions": {
            "lheo.xml": lheo[f"{LHEO}action"],
            "sessions.jsonl": len({row["code_fas_action"] for row in jsonl}),
            "sessions.csv": len({row["Code FAS action"] for row in table}),
            "manifest": manifest["store"]["actions_published"],
            "lheo-index.tsv": records["offre-info/lheo-index.tsv"],
        },
        "sessions": {
            "lheo.xml": lheo[f"{LHEO}session"],
            "sessions.jsonl": len(jsonl),
            "sessions.csv": len(table),
            "manifest": manifest["store"]["sessions_published"],
            "catalogue/offre.js": records["catalogue/offre.js"],
        },
    }


def one_value(counts: dict[str, int]) -> int:
    """The value every file agrees on (fails, naming the files, if they do not)."""
    assert len(set(counts.values())) == 1, counts
    return next(iter(counts.values()))


def publish_cli(target: Store) -> Path:
    """``catalogue publish --json`` on ``target``: the release it made."""
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "publish", "--json"],
        cwd=ROOT, env={**os.environ, **target.env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return Path(json.loads(done.stdout)["release"])


def ingest_cli(target: Store, path: Path) -> dict[str, Any]:
    """``catalogue ingest --allow-mass-withdrawal --json PATH`` on ``target``."""
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "ingest", "--allow-mass-withdrawal", "--json",
         str(path)],
        cwd=ROOT, env={**os.environ, **target.env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def same_release(one: Path, other: Path, *, deltas: bool = True) -> None:
    """Two releases of the same store state: the same feeds, inputs and store counts.

    ``deltas=False`` leaves out the LHEO delta, for two releases published after different
    previous ones (a delta is what changed since the previous release, dated sessions too).
    """
    digests = [feed_digest(r) for r in (one, other)]
    if not deltas:
        digests = [{p: d for p, d in g.items() if "/delta-" not in p} for g in digests]
    assert digests[0] == digests[1]
    manifests = [json.loads((r / "manifest.json").read_text("utf-8")) for r in (one, other)]
    for key in ("inputs", "store", "export_date"):
        assert manifests[0][key] == manifests[1][key], key
    records = [{f["path"]: f["records"] for f in m["files"]} for m in manifests]
    assert records[0] == records[1]


@pytest.fixture
def before_and_after(
    clones: Clones, engines: Callable[[Store], Engine], tmp_path: Path
) -> tuple[Path, Path, Path]:
    """The withdrawing extraction, and the releases of the store before and after it (each
    published on its own clone of ``published``)."""
    before, after = clones("postgresql", "published"), clones("postgresql", "published")
    lots = published_lots(engines(before))[:WITHDRAWN_LOTS]
    assert len(lots) == WITHDRAWN_LOTS
    extraction = withdrawing_extraction(tmp_path / "delivery", lots)
    assert ingest_cli(after, extraction)["status"] == "integree"
    return extraction, publish_cli(before), publish_cli(after)


@pytest.mark.postgres
def test_a_release_while_an_ingest_is_inside_its_transaction_shows_the_store_before_it(
    before_and_after: tuple[Path, Path, Path], clones: Clones, tmp_path: Path
) -> None:
    extraction, release_before, release_after = before_and_after
    counts_before, counts_after = release_counts(release_before), release_counts(release_after)
    assert one_value(counts_after["actions"]) < one_value(counts_before["actions"])
    target = clones("postgresql", "published")
    # the ingest stops inside its transaction: actions of the Région withdrawn, lots not yet
    point = KillPoint("actions-withdrawn", "pipelines.load.upsert:withdraw_rows", action="pause")
    ingest, gate = paused(
        ["ingest", "--allow-mass-withdrawal", "--json", str(extraction)], target, point, tmp_path
    )
    try:
        during = publish_cli(target)  # does not wait for the ingest
        assert ingest.poll() is None
    finally:
        gate.write_text("go")
    out, err = ingest.communicate(timeout=180)
    assert json.loads(out)["status"] == "integree", err
    later = publish_cli(target)

    same_release(during, release_before)
    assert release_counts(during) == counts_before
    same_release(later, release_after, deltas=False)  # `later` follows `during`
    assert release_counts(later) == counts_after


#: Where the publication stops while the ingest commits: the offer's action ids read, its
#: actions not yet (every offer feed is written in one pass over it); or the offer's feeds
#: (LHEO, regional sites, Kairos, catalogue) written, the reports and the manifest not yet.
PUBLICATION_PAUSES = {
    "offer-ids-read": KillPoint("offer-ids-read", "pipelines.load.published:published_action_ids",
                                action="pause"),
    "offer-feeds-written": KillPoint("offer-feeds-written",
                                     "pipelines.load.release:write_offer_feeds", action="pause"),
}  # fmt: skip


@pytest.mark.postgres
@pytest.mark.parametrize("pause", list(PUBLICATION_PAUSES))
def test_a_release_paused_while_an_ingest_commits_shows_one_state_in_every_file(
    pause: str, before_and_after: tuple[Path, Path, Path], clones: Clones, tmp_path: Path
) -> None:
    extraction, release_before, release_after = before_and_after
    counts_before, counts_after = release_counts(release_before), release_counts(release_after)
    assert one_value(counts_after["actions"]) < one_value(counts_before["actions"])
    assert one_value(counts_after["sessions"]) < one_value(counts_before["sessions"])
    target = clones("postgresql", "published")
    # the publication stops inside its read transaction
    publication, gate = paused(["publish", "--json"], target, PUBLICATION_PAUSES[pause], tmp_path)
    try:
        assert ingest_cli(target, extraction)["status"] == "integree"  # committed meanwhile
        assert publication.poll() is None
    finally:
        gate.write_text("go")
    out, err = publication.communicate(timeout=180)
    assert publication.returncode == 0, err
    release = Path(json.loads(out)["release"])

    counts = release_counts(release)
    assert one_value(counts["actions"]) == one_value(counts_before["actions"])
    assert one_value(counts["sessions"]) == one_value(counts_before["sessions"])
    same_release(release, release_before)


def test_a_reader_answers_while_an_ingest_is_inside_its_transaction_on_sqlite(
    clones: Clones, tmp_path: Path
) -> None:
    target = clones("sqlite", "frame")
    point = KillPoint("actions-withdrawn", "pipelines.load.upsert:withdraw_rows", action="pause")
    later = SAMPLES / "prf_2025_20250301.xlsx"
    ingest, gate = paused(["ingest", "--json", str(later)], target, point, tmp_path)
    try:
        status = subprocess.run(
            [sys.executable, "-m", "pipelines", "status", "--json"],
            cwd=ROOT, env={**os.environ, **target.env, "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True, timeout=15,
        )  # fmt: skip
        assert ingest.poll() is None
    finally:
        gate.write_text("go")
        ingest.communicate(timeout=180)
    assert status.returncode == 0, status.stderr
    assert len(json.loads(status.stdout)["deliveries"]) == 1  # the store before the ingest
