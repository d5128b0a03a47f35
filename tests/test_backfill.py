"""Backfills: years side by side give the store that ingesting the files one by one gives."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from pipelines.backfill import (
    YearPlan,
    backfill_year,
    chronological,
    is_write_conflict,
    plan_backfill,
    progress,
    run_backfill,
    sequential,
)
from pipelines.dispatch import ingest_one
from pipelines.load.db import make_engine, open_session, upgrade_store
from pipelines.load.inspect import canonical_store
from pipelines.load.runs import list_runs
from pipelines.settings import Settings
from schemas.store import Action, Formation, Session
from tests.conftest import _clean_store
from tests.test_nightly import store_dump
from tests.years import write_year

YEARS = (2023, 2024, 2025)
NOW = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)


def settings_for(folder: Path, db_url: str) -> Settings:
    return Settings(_env_file=None, output_dir=folder, database_url=db_url)  # type: ignore[call-arg]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Three years of deliveries: 2023 and 2024 in year folders, 2025 side by side."""
    folder = tmp_path / "source"
    write_year(folder / "2023", 2023)
    write_year(folder / "2024", 2024)
    write_year(folder, 2025)
    (folder / "notes.txt").write_text("pas une livraison")
    write_year(folder / "2019", 2019)  # outside the years asked for
    return folder


def canonical(engine: Engine) -> dict[str, list[str]]:
    with open_session(engine) as db:
        return canonical_store(db)


def threads(settings: Settings, workers: int) -> Any:
    """Years on a thread pool: concurrent transactions on one store, as Dask workers make."""

    def run(years: Sequence[YearPlan]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(workers) as pool:
            jobs = [
                pool.submit(backfill_year, y.year, y.paths, settings=settings) for y in years
            ]  # fmt: skip
            return [job.result() for job in jobs]

    return run


def ingest_one_by_one(engine: Engine, settings: Settings, source: Path) -> None:
    """The reference: every file of every year, one after the other, as nightlies did."""
    for year in plan_backfill(source, YEARS[0], YEARS[-1]).years:
        for path in year.paths:
            assert ingest_one(Path(path), engine, settings)["status"] == "integree"


def test_the_plan_groups_deliveries_by_year_in_the_nightlies_order(source: Path) -> None:
    plan = plan_backfill(source, 2023, 2025)

    assert [y.year for y in plan.years] == [2023, 2024, 2025]
    assert [[Path(p).name for p in y.paths] for y in plan.years] == [
        [f"prf_{y}_{y}0115.xlsx", f"saisie_13000511900032_{y}0301.xlsx", f"prf_{y}_{y}0601.xlsx"]
        for y in YEARS
    ]
    assert plan.files == 9
    assert sorted((i["file"], i["reason"]) for i in plan.ignored) == [
        ("notes.txt", "année inconnue (nom non conforme)"),
        ("prf_2019_20190115.xlsx", "année 2019 hors de 2023-2025"),
        ("prf_2019_20190601.xlsx", "année 2019 hors de 2023-2025"),
        ("saisie_13000511900032_20190301.xlsx", "année 2019 hors de 2023-2025"),
    ]


def test_the_plan_refuses_a_missing_folder_and_inverted_years(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n'existe pas"):
        plan_backfill(tmp_path / "absent", 2019, 2025)
    with pytest.raises(ValueError, match="inversées"):
        plan_backfill(tmp_path, 2025, 2019)


def test_chronological_puts_the_extraction_before_entries_of_the_same_day(
    tmp_path: Path,
) -> None:
    names = ["saisie_13000511900032_20250115.xlsx", "prf_2025_20250601.xlsx",
             "prf_2025_20250115.xlsx", "prf_2025_extraction.xlsx"]  # fmt: skip
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in chronological([tmp_path / n for n in names])] == [
        "prf_2025_extraction.xlsx", "prf_2025_20250115.xlsx",
        "saisie_13000511900032_20250115.xlsx", "prf_2025_20250601.xlsx",
    ]  # fmt: skip


def test_write_conflicts_are_told_apart_from_other_errors() -> None:
    locked = OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
    other = OperationalError("SELECT", {}, Exception("no such table: lots"))
    assert is_write_conflict(locked) and not is_write_conflict(other)
    assert not is_write_conflict(ValueError("database is locked"))


@pytest.mark.postgres
def test_years_in_parallel_give_the_store_of_one_by_one_ingestion(
    db_url: str, tmp_path: Path, source: Path
) -> None:
    """On PostgreSQL the years' transactions really overlap; on SQLite they queue."""
    reference = make_engine(db_url)
    upgrade_store(reference)
    ingest_one_by_one(reference, settings_for(tmp_path / "one-by-one", db_url), source)
    expected = canonical(reference)
    reference.dispose()
    if db_url.startswith("postgresql"):
        _clean_store(make_url(db_url))
    else:
        db_url = f"sqlite:///{tmp_path / 'backfill.db'}"
    settings = settings_for(tmp_path / "backfill", db_url)
    engine = make_engine(db_url)
    upgrade_store(engine)
    plan = plan_backfill(source, 2023, 2025)

    result = run_backfill(engine, plan, map_years=threads(settings, 3), now=NOW)

    assert (result.state, result.exit_code) == ("partial", 1)  # files of the source ignored
    assert result.counts == {"annees": 3, "ignores": 4, "integree": 9, "lignes_rejetees": 0}
    got = canonical(engine)
    assert got == expected
    with open_session(engine) as db:  # the offer of every year is there
        assert len(db.scalars(select(Action)).all()) == 9
        assert len(db.scalars(select(Session)).all()) == 12
        assert len(db.scalars(select(Formation)).all()) == 3  # shared by the three years
        (run,) = list_runs(db)
    assert (run["id"], run["kind"], run["state"]) == (result.run_id, "backfill", "partial")
    assert [(i["year"], i["status"]) for i in run["inputs"]] == [
        (y, "integree") for y in YEARS for _ in range(3)
    ]
    assert progress(engine, {y: [i["sha256"] for i in run["inputs"] if i["year"] == y]
                             for y in YEARS}) == {2023: 3, 2024: 3, 2025: 3}  # fmt: skip

    # again: every file is already there, nothing changes
    before = store_dump(engine)
    again = run_backfill(engine, plan, map_years=threads(settings, 3), now=NOW)
    assert again.counts["deja-integree"] == 9 and "integree" not in again.counts
    assert store_dump(engine) == before
    engine.dispose()


def test_a_sequential_backfill_is_the_one_by_one_store_ids_included(
    tmp_path: Path, source: Path
) -> None:
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("one-by-one", "backfill")]
    engines = [make_engine(url) for url in urls]
    for engine in engines:
        upgrade_store(engine)
    ingest_one_by_one(engines[0], settings_for(tmp_path / "a", urls[0]), source)
    settings = settings_for(tmp_path / "b", urls[1])
    plan = plan_backfill(source, 2023, 2025)
    run_backfill(engines[1], plan, map_years=sequential(settings), now=NOW)

    first, second = (store_dump(e) for e in engines)
    for table in ("deliveries", "formations", "actions", "sessions", "organismes", "lots"):
        assert _without_times(first[table]) == _without_times(second[table]), table
    for engine in engines:
        engine.dispose()


def _without_times(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(v for v in row if not isinstance(v, dt.datetime)) for row in rows]


@pytest.mark.flow
def test_catalogue_backfill_runs_the_years_on_a_local_dask_cluster(
    tmp_path: Path, source: Path
) -> None:
    out = tmp_path / "out"
    env = {
        **os.environ,
        "CATALOGUE_OUTPUT_DIR": str(out),
        "CATALOGUE_DATABASE_URL": f"sqlite:///{out / 'catalogue.db'}",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    env.pop("PREFECT_API_URL", None)
    (tmp_path / "prefect").mkdir()
    command = [sys.executable, "-m", "pipelines", "backfill", "--from", "2023", "--to", "2025",
               "--source", str(source), "--workers", "2", "--json"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)

    assert done.returncode == 1, done.stderr[-3000:]  # files ignored: partial
    document = json.loads(done.stdout)
    assert document["state"] == "partial" and document["counts"]["integree"] == 9
    assert [y["year"] for y in document["years"]] == list(YEARS)
    reference = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    upgrade_store(reference)
    ingest_one_by_one(reference, settings_for(tmp_path / "ref", str(reference.url)), source)
    engine = make_engine(env["CATALOGUE_DATABASE_URL"])
    assert canonical(engine) == canonical(reference)
    engine.dispose()
    reference.dispose()
