"""The data generator of the benchmarks: valid, ingestible, deterministic, one file per year."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine, func, select

from benchmarks.entries import describe_action
from benchmarks.generate import (
    MANIFEST,
    entry_name,
    extraction_name,
    generate,
    generate_years,
    main,
    parse_years,
)
from benchmarks.lots import build_lot
from benchmarks.organisations import Pool
from benchmarks.plan import plan_year
from benchmarks.reference import communes
from pipelines.extract.entries import parse_entry_name
from pipelines.extract.source import parse_name
from pipelines.ingest import Limits, ingest_path, validate_path
from pipelines.ingest_entries import ingest_entry_path
from pipelines.load.db import open_session
from schemas import store
from schemas.extraction import is_valid_siret
from schemas.rules import load_rulebook

LIMITS = Limits(200 * 2**20, 2**30)
NOW = dt.datetime(2025, 3, 2, 2, 0, tzinfo=dt.UTC)
SESSIONS = 240
SEED = 7
XSD = Path(__file__).resolve().parents[2] / "schemas" / "lheo" / "lheo.xsd"


def sha256(path: Path) -> str:
    """The file's SHA-256."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {p.relative_to(folder).as_posix(): sha256(p) for p in sorted(folder.rglob("*.*"))}


@pytest.fixture(scope="module")
def year_2025(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One year of 240 sessions with its entries (5 % of the actions left incomplete)."""
    out = tmp_path_factory.mktemp("generated")
    generate(out, sessions=SESSIONS, years=[2025], seed=SEED, entries=True, incomplete_share=0.05)
    return out


def manifest(out: Path) -> dict:
    """The generator's ``generation.json``."""
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))


def test_the_extraction_validates_with_no_rejected_row(year_2025: Path) -> None:
    path = year_2025 / "2025" / extraction_name(2025)
    report, validated = validate_path(path, LIMITS)
    plan = plan_year(Pool.for_sessions(SESSIONS, SEED), 2025, SESSIONS)
    assert validated is not None and report.refusal is None
    assert report.errors == []
    assert report.year == 2025
    assert report.counts["programmes"] == {"accepted": 5, "rejected": 0}
    assert report.counts["lots"] == {"accepted": len(plan.lots), "rejected": 0}
    assert report.counts["actions"] == {"accepted": plan.n_actions, "rejected": 0}
    assert plan.n_sessions == SESSIONS
    assert {lot.programme for lot in plan.lots} == {"PSS", "PE", "PAS", "PCA", "1E1F"}
    # several actions per lot, several sessions per action (at 240 sessions)
    assert len(plan.lots) < plan.n_actions < SESSIONS
    assert max(lot.n_actions for lot in plan.lots) >= 3
    assert all(is_valid_siret(s) for s in validated.frames["organismes"]["siret"])
    places = {(c.code_postal, c.name) for c in communes()}
    actions = validated.frames["actions"]
    assert set(zip(actions["code_postal"], actions["commune"], strict=True)) <= places


def test_ingesting_the_year_then_its_entries_gives_the_planned_store(
    year_2025: Path, engine: Engine, tmp_path: Path
) -> None:
    folder = year_2025 / "2025"
    plan = plan_year(Pool.for_sessions(SESSIONS, SEED), 2025, SESSIONS)
    counts = manifest(year_2025)["years"]["2025"]["entry_counts"]
    extraction = ingest_path(
        folder / extraction_name(2025),
        engine=engine,
        output_dir=tmp_path,
        limits=LIMITS,
        threshold=0.2,
        now=NOW,
    )
    assert (extraction.status, extraction.report.errors) == ("integree", [])
    rulebook = load_rulebook()
    entries = sorted(folder.glob("saisie_*.xlsx"))
    assert len(entries) == len(plan.by_mandataire)
    for path in entries:
        result = ingest_entry_path(
            path,
            engine=engine,
            output_dir=tmp_path,
            limits=LIMITS,
            rulebook=rulebook,
            threshold=0.2,
            now=NOW,
        )
        assert (path.name, result.status, result.report.errors) == (path.name, "integree", [])
    with open_session(engine) as db:

        def count(model: type[store.Base]) -> int:
            return db.scalar(select(func.count()).select_from(model)) or 0

        assert count(store.Lot) == len(plan.lots)
        assert count(store.ActionRegion) == plan.n_actions
        assert count(store.Action) == plan.n_actions
        assert count(store.Dispositif) == plan.n_actions
        assert count(store.Session) == SESSIONS
        assert count(store.Formation) == counts["formations"]
        assert count(store.InformationCollective) == counts["informations_collectives"]
        assert count(store.Reject) == 0
        etats = Counter(db.scalars(select(store.Action.etat)))
    assert counts["sessions"] == SESSIONS and counts["actions"] == plan.n_actions
    assert 0 < counts["incomplete"] < plan.n_actions // 5
    assert etats == {
        "en_attente_validation": plan.n_actions - counts["incomplete"],
        "en_cours_de_saisie": counts["incomplete"],
    }


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((first, 3), (second, 3), (other, 4)):
        generate(out, sessions=80, years=[2025], seed=seed, entries=True)
    same = digests(first)
    assert same == digests(second)
    assert len([name for name in same if "saisie_" in name]) >= 2
    extraction = f"2025/{extraction_name(2025)}"
    assert digests(other)[extraction] != same[extraction]


def test_a_year_does_not_depend_on_the_years_generated_with_it(tmp_path: Path) -> None:
    generate(tmp_path / "alone", sessions=60, years=[2024], seed=1, entries=True)
    generate(tmp_path / "backfill", sessions=60, years=[2023, 2024], seed=1, entries=True)
    alone = digests(tmp_path / "alone" / "2024")
    assert alone == digests(tmp_path / "backfill" / "2024")


def test_several_years_give_one_extraction_each_of_its_year(tmp_path: Path) -> None:
    results = generate_years(tmp_path, sessions=60, years=parse_years("2023-2025"), seed=2)
    assert [r.year for r in results] == [2023, 2024, 2025]
    for result in results:
        year = result.year
        files = sorted((tmp_path / str(year)).iterdir())
        assert [p.name for p in files] == [f"prf_{year}_{year}0115.xlsx"]
        assert parse_name(files[0].name) == (year, dt.date(year, 1, 15))
        report, validated = validate_path(files[0], LIMITS)
        assert validated is not None and report.errors == [] and report.year == year
        assert report.counts["actions"]["accepted"] == result.extraction_counts.actions
        assert result.sessions == 60
    ids = [plan_year(Pool.for_sessions(60, 2), y, 60).lots[0].first_id for y in (2023, 2024)]
    assert ids[0] < ids[1]  # id_action_cr never collide between years
    assert manifest(tmp_path)["parameters"]["years"] == [2023, 2024, 2025]


def test_entry_files_are_named_after_their_mandataire(year_2025: Path) -> None:
    plan = plan_year(Pool.for_sessions(SESSIONS, SEED), 2025, SESSIONS)
    expected = sorted(entry_name(plan.pool.organisation(m).siret, 2025) for m in plan.by_mandataire)
    found = sorted(p.name for p in (year_2025 / "2025").glob("saisie_*"))
    assert found == expected
    for name in found:
        siret, date = parse_entry_name(name)
        assert siret is not None and is_valid_siret(siret) and date == dt.date(2025, 3, 1)


def test_the_plan_holds_exactly_the_sessions_asked_for() -> None:
    pool = Pool.for_sessions(5_000, 42)
    for sessions in (5, 6, 59, 5_000):
        plan = plan_year(pool, 2025, sessions)
        assert plan.n_sessions == sessions
        assert all(1 <= s <= 3 for lot in plan.lots for s in lot.sessions)
        assert all(lot.sessions == b"\x01" * lot.n_actions for lot in plan.lots if lot.forfait)
        assert len({plan.numero_lot(lot) for lot in plan.lots}) == len(plan.lots)
    sirens = {pool.siren(i) for i in range(pool.size)}
    assert len(sirens) == pool.size
    assert len({pool.of_cr(i) for i in range(pool.size)}) == pool.size


def test_years_are_read_from_the_command_line_forms() -> None:
    assert parse_years("2025") == [2025]
    assert parse_years("2019-2021") == [2019, 2020, 2021]
    assert parse_years("2019,2021-2022, 2019") == [2019, 2021, 2022]
    for wrong in ("25", "2025-2019", "2025..2026", "1999"):
        with pytest.raises(ValueError):
            parse_years(wrong)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--sessions", "50", "--years", "2025", "--entries", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "2025 : prf_2025_20250115.xlsx (5 programmes" in out and "50 sessions" in out
    assert (tmp_path / "2025" / extraction_name(2025)).is_file()
    assert manifest(tmp_path)["years"]["2025"]["entry_counts"]["sessions"] == 50
    assert main(["--sessions", "4", "--out", str(tmp_path)]) == 2
    assert "Au moins 5 sessions" in capsys.readouterr().err
    assert main(["--sessions", "50", "--years", "20-25", "--out", str(tmp_path)]) == 2


def test_lheo_entries_are_valid_lheo_and_ingest_like_the_workbooks(
    engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "lheo"
    generate(
        out, sessions=120, years=[2025], seed=SEED, entries=True, lheo=True, incomplete_share=0.05
    )
    folder = out / "2025"
    plan = plan_year(Pool.for_sessions(120, SEED), 2025, 120)
    counts = manifest(out)["years"]["2025"]["entry_counts"]
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    entries = sorted(folder.glob("saisie_*.xml"))
    assert len(entries) == len(plan.by_mandataire)
    for path in entries:
        assert schema.validate(etree.parse(str(path))), (path.name, schema.error_log)
    assert (
        ingest_path(
            folder / extraction_name(2025),
            engine=engine,
            output_dir=tmp_path,
            limits=LIMITS,
            threshold=0.2,
            now=NOW,
        ).status
        == "integree"
    )
    rulebook = load_rulebook()
    for path in entries:
        result = ingest_entry_path(
            path,
            engine=engine,
            output_dir=tmp_path,
            limits=LIMITS,
            rulebook=rulebook,
            threshold=0.2,
            now=NOW,
        )
        assert (path.name, result.status, result.report.errors) == (path.name, "integree", [])
    with open_session(engine) as db:
        assert db.scalar(select(func.count()).select_from(store.Session)) == 120
        assert db.scalar(select(func.count()).select_from(store.Formation)) == counts["formations"]
        assert (
            db.scalar(select(func.count()).select_from(store.InformationCollective))
            == counts["informations_collectives"]
        )
        etats = Counter(db.scalars(select(store.Action.etat)))
    assert etats == {
        "en_attente_validation": plan.n_actions - counts["incomplete"],
        "en_cours_de_saisie": counts["incomplete"],
    }


def _peak_rss_kib(out: Path, sessions: int) -> int:
    """Peak RSS (KiB) of a generator process writing ``sessions`` sessions and their entries."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from benchmarks.generate import generate\n"
        f"generate(Path(sys.argv[1]), sessions={sessions}, years=[2025], entries=True)\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, from the test process
        "status = Path('/proc/self/status').read_text().splitlines()\n"
        "print(next(int(l.split()[1]) for l in status if l.startswith('VmHWM:')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return int(done.stdout.split()[-1])


@pytest.mark.slow
def test_memory_stays_flat_as_the_sessions_grow(tmp_path: Path) -> None:
    small = _peak_rss_kib(tmp_path / "small", 2_000)
    large = _peak_rss_kib(tmp_path / "large", 40_000)
    assert large - small < 32 * 1024, (small, large)  # 20 times the sessions, < 32 MiB more


def test_a_backfill_of_two_years_keeps_both_years(engine: Engine, tmp_path: Path) -> None:
    files = generate(tmp_path / "gen", sessions=60, years=[2024, 2025], seed=5, entries=True)
    assert [parse_name(p.name)[0] for p in files if p.name.startswith("prf_")] == [2024, 2025]
    rulebook = load_rulebook()
    for path in files:
        if path.name.startswith("prf_"):
            result = ingest_path(
                path, engine=engine, output_dir=tmp_path, limits=LIMITS, threshold=0.2, now=NOW
            )
        else:
            result = ingest_entry_path(
                path,
                engine=engine,
                output_dir=tmp_path,
                limits=LIMITS,
                rulebook=rulebook,
                threshold=0.2,
                now=NOW,
            )
        assert (path.name, result.status, result.report.errors) == (path.name, "integree", [])
    pool = Pool.for_sessions(60, 5)
    with open_session(engine) as db:
        per_year = dict(
            db.execute(
                select(store.ActionRegion.annee, func.count()).group_by(store.ActionRegion.annee)
            ).all()
        )
        active = select(func.count()).select_from(store.Session)
        sessions = db.scalar(active.where(store.Session.withdrawn_at.is_(None)))
    assert per_year == {y: plan_year(pool, y, 60).n_actions for y in (2024, 2025)}
    assert sessions == 120  # the 2025 entries withdraw none of 2024's sessions


def test_entries_hold_french_texts_of_realistic_lengths() -> None:
    plan = plan_year(Pool.for_sessions(300, SEED), 2025, 300)
    described = [
        describe_action(plan, lot, action, 0.0)
        for lot in (build_lot(plan, plan.lots[i]) for i in range(len(plan.lots)))
        for action in lot.actions
    ]
    assert len(described) == plan.n_actions
    for d in described:
        assert 200 <= len(d.formation["contenu_formation"]) <= 900
        assert 200 <= len(d.action["objectifs"]) <= 800
        assert 50 <= len(d.action["resultats_attendus"]) <= 250
        assert len(d.action["plus_formation"]) <= 250
        assert d.informations_collectives and d.incomplete is None
        assert all(s["date_debut"].year == 2025 for s in d.sessions)
    assert max(len(d.sessions) for d in described) == 3
