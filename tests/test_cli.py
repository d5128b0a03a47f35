"""The ``catalogue`` command line, in-process: exit codes, tables, one JSON document."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.__main__ import app
from pipelines.settings import get_settings
from tests.workbooks import minimal_sheets, write_workbook

runner = CliRunner()


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the CLI at a fresh store (SQLite, then PostgreSQL) and output folder."""
    monkeypatch.setenv("CATALOGUE_DATABASE_URL", db_url)
    monkeypatch.setenv("CATALOGUE_OUTPUT_DIR", str(tmp_path / "out"))
    get_settings.cache_clear()
    yield tmp_path / "out"
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def run_json(*args: str) -> tuple[int, Any]:
    result = runner.invoke(app, [*args, "--json"])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, json.loads(result.stdout)


def test_validate_exit_codes_and_json(store: Path, sample: Callable[[str], Path]) -> None:
    code, document = run_json("validate", str(sample("prf_2025_20250115.xlsx")))
    assert code == 0 and document["errors"] == [] and document["status"] == "valide"
    code, document = run_json("validate", str(sample("messy/prf_2025_20250210.xlsx")))
    assert code == 1
    first = document["errors"][0]
    assert set(first) == {"file", "sheet", "row", "column", "value", "reason", "message"}
    assert document["counts"]["actions"]["rejected"] > 0
    assert not store.exists() or not any(store.rglob("*.db"))  # validate writes nothing


def test_validate_refused_file(store: Path, tmp_path: Path) -> None:
    sheets = minimal_sheets()
    del sheets["Lots"]
    path = write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets)
    code, document = run_json("validate", str(path))
    assert code == 2
    assert document["refusal"]["reason"] == "feuille-manquante"
    code, output = run("validate", str(path))
    assert code == 2 and "Lots" in output


def test_validate_prints_the_rejects_table(store: Path, sample: Callable[[str], Path]) -> None:
    code, output = run("validate", str(sample("messy/prf_2025_20250210.xlsx")))
    assert code == 1
    assert "Lignes rejetées" in output and "cle-dupliquee" in output


def test_ingest_show_and_status(store: Path, sample: Callable[[str], Path]) -> None:
    code, document = run_json("ingest", str(sample("prf_2025_20250115.xlsx")))
    assert code == 0 and document["status"] == "integree"
    code, again = run_json("ingest", str(sample("prf_2025_20250115.xlsx")))
    assert code == 0 and again["status"] == "deja-integree"

    code, lot = run_json("show", "lot", "pss2025_10")
    assert code == 0 and lot["numero_lot"] == "PSS2025_10"
    action_id = str(lot["actions"][0]["id_action_cr"])
    code, action = run_json("show", "action", action_id)
    assert code == 0 and action["id_action_cr"] == int(action_id)
    code, organisme = run_json("show", "organisme", str(lot["of_mandataire_cr"]))
    assert code == 0 and len(organisme["organismes"]) > 1  # several establishments
    boards = organisme["tableaux_de_bord"]
    assert [b["siret"] for b in boards] == sorted(o["siret"] for o in organisme["organismes"])
    assert boards[0]["compteurs"]["sessions_actives"] == 0  # no entry yet
    code, _ = run_json("show", "lot", "XX2025_999")
    assert code == 1
    assert run("show", "action", "abc")[0] == 2
    assert run("show", "organisme", "1234567890123")[0] == 2

    code, status = run_json("status")
    assert code == 0
    assert [d["status"] for d in status["deliveries"]] == ["accepted"]
    code, output = run("status")
    assert code == 0 and "2025" in output


def test_ingest_with_rejects_points_to_the_quarantine(
    store: Path, sample: Callable[[str], Path]
) -> None:
    code, output = run("ingest", str(sample("messy/prf_2025_20250210.xlsx")))
    assert code == 1
    quarantine = next((store / "quarantaine").glob("extraction-2025-20250210-*.csv"))
    assert quarantine.name in output.replace("\n", "")


def test_ingest_mass_withdrawal_flag(
    store: Path, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    run("ingest", str(sample("prf_2025_20250115.xlsx")))
    sheets = minimal_sheets()  # 2025, but none of the sample's lots
    small = write_workbook(tmp_path / "prf_2025_20250601.xlsx", sheets)
    code, document = run_json("ingest", str(small))
    assert code == 2 and document["status"] == "arretee"
    code, document = run_json("ingest", str(small), "--allow-mass-withdrawal")
    assert code == 0 and document["status"] == "integree"


def test_python_dash_m_pipelines_works() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("validate", "ingest", "show", "status"):
        assert command in result.stdout


def test_template_is_written_and_prefilled(
    store: Path, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    code, output = run("template", str(tmp_path / "vide.xlsx"))
    assert code == 0 and (tmp_path / "vide.xlsx").is_file()
    run("ingest", str(sample("prf_2025_20250115.xlsx")))
    code, lot = run_json("show", "lot", "PSS2025_10")
    siret = lot["actions"][0]["siret_formateur"]
    code, output = run("template", str(tmp_path / "pre.xlsx"), "--siret", siret)
    assert code == 0 and "pré-remplie" in output
    assert run("template", str(tmp_path / "x.xlsx"), "--siret", "44123456700017")[0] == 1


def test_entries_and_approve(store: Path, sample: Callable[[str], Path]) -> None:
    entries = sorted(sample("saisies").glob("saisie_*.xlsx"))
    code, document = run_json("ingest", str(sample("prf_2025_20250115.xlsx")), *map(str, entries))
    assert [d["file"] for d in document["deliveries"]][0] == "prf_2025_20250115.xlsx"
    assert code == 1  # some entry rows are rejected (the samples' structural defects)
    code, status = run_json("status")
    waiting = status["offre"]["en_attente_validation"]
    assert waiting > 0 and status["offre"]["en_cours_de_saisie"] > 0
    code, decision = run_json("approve", "--all-valid", "--by", "offre@carif-oref")
    assert code == 0 and len(decision["actions"]) == waiting
    assert run_json("status")[1]["offre"]["validee"] == waiting
    fas = decision["actions"][0]["fas"]
    code, refused = run_json("approve", "--fas", fas, "--refuse", "--reason", "Dates à revoir")
    assert code == 0 and refused["actions"] == [
        {"fas": fas, "avant": "validee", "apres": "refusee"}
    ]
    assert run("approve", "--fas", fas, "--refuse")[0] == 2  # a refusal needs a reason


def test_publish_builds_a_release_of_every_feed_deterministically(
    store: Path, sample: Callable[[str], Path]
) -> None:
    entries = sorted(sample("saisies").glob("saisie_*.xlsx"))
    run("ingest", str(sample("prf_2025_20250115.xlsx")), *map(str, entries))
    run("approve", "--all-valid")
    code, first = run_json("publish")
    assert code == 0
    paths = {f["path"] for f in first["files"]}
    for expected in ("offre-info/lheo.xml", "sites-regionaux/sessions.jsonl",
                     "sites-regionaux/sessions.csv", "kairos-ouiform/sessions.jsonl",
                     "catalogue/index.html", "rapport/index.html", "rapport/quarantaine.csv"):  # fmt: skip
        assert expected in paths
    assert (store / "current").resolve() == Path(first["release"])
    code, second = run_json("publish", "--keep", "1")
    assert code == 0 and second["removed"] == [Path(first["release"]).name]

    def data_feeds(files: list[dict[str, Any]]) -> dict[str, str]:
        # the reports show the run's time; a delta depends on the previous release
        skip = ("rapport/", "offre-info/delta-")
        return {f["path"]: f["sha256"] for f in files if not f["path"].startswith(skip)}

    assert data_feeds(first["files"]) == data_feeds(second["files"])  # same store, same bytes
    code, lheo22 = run_json("publish", "--lheo-version", "2.2")
    assert code == 0
    lheo = Path(lheo22["release"]) / "offre-info" / "lheo.xml"
    assert b'xmlns="http://www.lheo.org/2.2"' in lheo.read_bytes()[:500]


def test_the_nightly_run_and_its_history(
    store: Path, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    import shutil

    inbox = tmp_path / "depot"
    inbox.mkdir()
    for path in [
        sample("prf_2025_20250115.xlsx"),
        *sorted(sample("saisies").glob("saisie_*.xlsx")),
    ]:
        shutil.copy(path, inbox / path.name)
    (inbox / "prf_2025_20250116.xlsx").write_bytes(b"PK\x03\x04 pas un classeur")
    code, document = run_json("run", "--inbox", str(inbox))
    assert code == 1 and document["state"] == "partial"  # one file refused, the rest published
    assert (store / "current" / "offre-info" / "lheo.xml").exists() is False  # nothing validated
    assert sorted(p.name for p in (inbox / "refuses").iterdir() if p.suffix == ".xlsx")[0].endswith(
        "prf_2025_20250116.xlsx"
    )
    assert not any(p.suffix == ".xlsx" for p in inbox.iterdir())  # every file moved aside
    code, history = run_json("runs")
    assert code == 0 and history[0]["state"] == "partial"
    assert {i["status"] for i in history[0]["inputs"]} >= {"refusee"}
