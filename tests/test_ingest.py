"""End to end on the samples, on SQLite and PostgreSQL: idempotence, re-delivery, guard,
refusal, quarantine, and a process killed in the middle of a load."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from pipelines.ingest import IngestResult, Limits, ingest_path
from pipelines.load.db import open_session
from pipelines.load.inspect import dump_store
from tests.workbooks import copy_workbook

LIMITS = Limits(200 * 2**20, 2**30)
T0 = dt.datetime(2025, 1, 20, 2, 0, tzinfo=dt.UTC)
FRAME = ("programmes", "organismes", "lots", "actions_region")
ROOT = Path(__file__).resolve().parent.parent


def ingest(engine: Engine, path: Path, out: Path, *, days: int = 0, **options: Any) -> IngestResult:
    return ingest_path(
        path,
        engine=engine,
        output_dir=out,
        limits=LIMITS,
        threshold=0.2,
        now=T0 + dt.timedelta(days=days),
        **options,
    )


def dump(engine: Engine, tables: tuple[str, ...] | None = None) -> dict[str, list[dict[str, Any]]]:
    with open_session(engine) as db:
        everything = dump_store(db)
    return {t: rows for t, rows in everything.items() if tables is None or t in tables}


def test_same_file_twice_changes_nothing(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    first = ingest(engine, sample("prf_2025_20250115.xlsx"), tmp_path)
    assert (first.status, first.exit_code) == ("integree", 0)
    assert first.load["counts"]["actions"]["inserted"] >= 150
    before = dump(engine)
    second = ingest(engine, sample("prf_2025_20250115.xlsx"), tmp_path, days=1)
    assert (second.status, second.delivery_id) == ("deja-integree", first.delivery_id)
    assert dump(engine) == before
    archived = tmp_path / first.archive  # type: ignore[operator]
    assert (archived / "manifest.json").is_file()


def test_the_same_content_as_csv_changes_no_row(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    ingest(engine, sample("prf_2025_20250115.xlsx"), tmp_path)
    before = dump(engine, FRAME)
    result = ingest(engine, sample("prf_2025_20250115"), tmp_path, days=1)
    assert result.status == "integree"  # another file (another SHA-256), same frame
    assert {c["updated"] for c in result.load["counts"].values()} == {0}
    after = dump(engine, FRAME)
    for table in ("lots", "actions_region", "programmes"):
        assert after[table] == before[table]


def test_later_delivery_updates_withdraws_and_keeps_ids(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    ingest(engine, sample("prf_2025_20250115.xlsx"), tmp_path)
    ids = {r["numero_lot"]: r["id"] for r in dump(engine)["lots"]}
    later = ingest(engine, sample("prf_2025_20250301.xlsx"), tmp_path, days=40)
    assert later.status == "integree"
    lots = dump(engine)["lots"]
    assert {r["numero_lot"]: r["id"] for r in lots} == ids  # nothing deleted, ids unchanged
    withdrawn = [r for r in lots if r["withdrawn_at"]]
    assert len(withdrawn) == 1
    assert withdrawn[0]["withdrawn_by_delivery_id"] == later.delivery_id
    counts = later.load["counts"]
    assert counts["lots"]["withdrawn"] == 1 and counts["actions"]["inserted"] == 2
    assert counts["actions"]["updated"] >= 3


def test_mass_withdrawal_is_stopped_and_nothing_changes(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    ingest(engine, sample("prf_2025_20250115.xlsx"), tmp_path)
    before = dump(engine, FRAME)
    half = copy_workbook(
        sample("prf_2025_20250115.xlsx"),
        tmp_path / "prf_2025_20250401.xlsx",
        keep={"Actions PRF": lambda number, row: number % 2 == 0 or not isinstance(row[0], float)},
    )
    stopped = ingest(engine, half, tmp_path, days=70)
    assert (stopped.status, stopped.exit_code) == ("arretee", 2)
    assert stopped.report.refusal is not None
    assert stopped.report.refusal.reason == "retrait-massif"
    assert "--allow-mass-withdrawal" in stopped.report.refusal.message
    assert dump(engine, FRAME) == before
    forced = ingest(engine, half, tmp_path, days=71, allow_mass_withdrawal=True)
    assert forced.status == "integree"
    assert forced.delivery_id == stopped.delivery_id  # the same delivery, now accepted
    assert forced.load["counts"]["actions"]["withdrawn"] > 0.4 * len(before["actions_region"])


def test_refused_delivery_is_recorded_and_the_frame_kept(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    ingest(engine, sample("prf_2025_20250115.xlsx"), tmp_path)
    before = dump(engine, FRAME)
    wrong_year = tmp_path / "prf_2024_20240115.xlsx"
    wrong_year.write_bytes(sample("prf_2025_20250301.xlsx").read_bytes())
    result = ingest(engine, wrong_year, tmp_path, days=1)
    assert (result.status, result.exit_code) == ("refusee", 2)
    assert result.report.refusal is not None
    assert result.report.refusal.reason == "annee-incoherente"
    assert dump(engine, FRAME) == before
    deliveries = dump(engine)["deliveries"]
    assert [d["status"] for d in deliveries] == ["accepted", "refused"]
    assert result.archive == deliveries[1]["archive_path"]  # kept as received, for replay
    assert (tmp_path / deliveries[1]["archive_path"] / "manifest.json").is_file()


def test_messy_delivery_goes_through_with_its_quarantine(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    result = ingest(engine, sample("messy/prf_2025_20250210.xlsx"), tmp_path)
    assert (result.status, result.exit_code) == ("integree", 1)
    assert result.quarantine is not None
    lines = result.quarantine.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "file;sheet;row;column;value;reason;message"
    assert len(lines) == 1 + len(result.report.errors)
    rejects = dump(engine)["rejects"]
    assert sorted((r["sheet"], r["row"], r["column"], r["reason"]) for r in rejects) == sorted(
        (e.sheet, e.row, e.column, e.reason) for e in result.report.errors
    )
    lots = dump(engine, ("lots",))["lots"]
    assert len(lots) == result.report.counts["lots"]["accepted"]


KILLER = """
import os, signal, sys
from pipelines.load import frame
original = frame.withdraw_rows
def withdraw_then_die(*args, **kwargs):
    original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
frame.withdraw_rows = withdraw_then_die
from pipelines.__main__ import app
app(["ingest", sys.argv[1]])
"""


def test_a_process_killed_mid_load_leaves_the_store_as_it_was(
    engine: Engine, db_url: str, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    ingest(engine, sample("prf_2025_20250115.xlsx"), tmp_path)
    before = dump(engine)
    env = dict(os.environ, CATALOGUE_DATABASE_URL=db_url, CATALOGUE_OUTPUT_DIR=str(tmp_path))
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLER), str(sample("prf_2025_20250301.xlsx"))],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    engine.dispose()
    assert dump(engine) == before
    rerun = ingest(engine, sample("prf_2025_20250301.xlsx"), tmp_path, days=40)
    assert rerun.status == "integree"
    assert rerun.load["counts"]["lots"]["withdrawn"] == 1


@pytest.mark.parametrize("name", ["../../etc/passwd.xlsx", "prf_2025_20250115.xlsx"])
def test_file_names_are_never_used_as_paths(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path], name: str
) -> None:
    folder = tmp_path / "in" / "a" / "b"
    folder.mkdir(parents=True)
    hostile = folder / Path(name).name
    hostile.write_bytes(sample("prf_2025_20250115.xlsx").read_bytes())
    out = tmp_path / "out"
    result = ingest(engine, hostile, out)
    assert result.status == "integree"
    written = {p.relative_to(out).parts[0] for p in out.rglob("*") if p.is_file()}
    assert written <= {"archive", "quarantaine"}
    assert not any(p.name == hostile.name for p in out.rglob("*"))
