"""Entries end to end (read, check, merge, rules, workflow), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from pipelines.ingest import IngestResult, Limits, ingest_path
from pipelines.ingest_entries import ingest_entry_path
from pipelines.load.dashboard import dashboard
from pipelines.load.db import open_session
from pipelines.load.inspect import plain
from pipelines.load.workflow import decide, select_actions
from schemas import store
from schemas.rules import load_rulebook
from tests.entries import minimal_entries, write_entries
from tests.workbooks import SIRET_A, minimal_sheets, write_workbook

LIMITS = Limits(50 * 2**20, 2**30)
T0 = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)
RULES = load_rulebook()
TABLES = ("formations", "actions", "dispositifs", "sessions", "informations_collectives",
          "referents", "change_history", "action_issues", "action_transitions", "deliveries")  # fmt: skip


@pytest.fixture
def frame(engine: Engine, tmp_path: Path) -> Engine:
    path = write_workbook(tmp_path / "prf_2025_20250115.xlsx", minimal_sheets())
    assert ingest_path(path, engine=engine, output_dir=tmp_path / "out", limits=LIMITS,
                       threshold=0.2).status == "integree"  # fmt: skip
    return engine


def ingest(engine: Engine, path: Path, out: Path, days: int = 0, **options: Any) -> IngestResult:
    return ingest_entry_path(
        path, engine=engine, output_dir=out, limits=LIMITS, rulebook=RULES, threshold=0.5,
        now=T0 + dt.timedelta(days=days), **options,
    )  # fmt: skip


def states(engine: Engine) -> dict[str, str]:
    with open_session(engine) as db:
        return {a.ref_action: a.etat for a in db.scalars(select(store.Action))}


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    tables = {t.name: t for t in store.Base.metadata.sorted_tables}
    with open_session(engine) as db:
        return {
            name: [{k: plain(v) for k, v in r.items()}
                   for r in db.execute(select(tables[name]).order_by(tables[name].c.id)).mappings()]
            for name in TABLES
        }  # fmt: skip


def test_complete_entries_wait_for_validation_then_are_validated(
    frame: Engine, tmp_path: Path
) -> None:
    result = ingest(frame, write_entries(tmp_path, minimal_entries()), tmp_path / "out")
    assert (result.status, result.exit_code) == ("integree", 0), result.report.errors
    assert result.load["etats"] == {
        "en_cours_de_saisie": 0, "en_attente_validation": 3, "validee": 0, "refusee": 0,
    }  # fmt: skip
    assert "1E1F 2025" in " ".join(result.report.warnings)  # no specific rule file
    with open_session(frame, write=True) as db, db.begin():
        ids = select_actions(db, all_valid=True)
        decide(db, ids, refuse=False, reason=None, now=T0, who="offre@carif")
    assert set(states(frame).values()) == {"validee"}


def test_unchanged_resend_changes_nothing_at_all(frame: Engine, tmp_path: Path) -> None:
    first = write_entries(tmp_path, minimal_entries())
    ingest(frame, first, tmp_path / "out")
    assert ingest(frame, first, tmp_path / "out", days=1).status == "deja-integree"
    before = {k: v for k, v in dump(frame).items() if k != "deliveries"}
    again = write_entries(tmp_path / "b", minimal_entries(), day="20250302")
    result = ingest(frame, again, tmp_path / "out", days=1)
    assert result.status == "integree" and result.load["etats"] == dict.fromkeys(
        ("en_cours_de_saisie", "en_attente_validation", "validee", "refusee"), 0
    )
    assert {k: v for k, v in dump(frame).items() if k != "deliveries"} == before


def test_a_published_action_goes_back_to_validation_unless_the_change_is_light(
    frame: Engine, tmp_path: Path
) -> None:
    ingest(frame, write_entries(tmp_path, minimal_entries()), tmp_path / "out")
    with open_session(frame, write=True) as db, db.begin():
        decide(db, select_actions(db, all_valid=True), refuse=False, reason=None, now=T0, who="x")
    light = minimal_entries()
    light["Sessions"][1][16] = "suspendu"  # état du recrutement of A-100001's first session
    light["Informations collectives"][1][3] = "10:00"
    ingest(frame, write_entries(tmp_path / "l", light, day="20250305"), tmp_path / "out", days=4)
    assert states(frame)["A-100001"] == "validee"
    heavy = minimal_entries()
    heavy["Sessions"][1][7] = dt.datetime(2025, 6, 30)  # date fin
    ingest(frame, write_entries(tmp_path / "h", heavy, day="20250306"), tmp_path / "out", days=5)
    assert states(frame) == {
        "A-100001": "en_attente_validation", "A-100003": "validee", "A-100004": "validee"
    }  # fmt: skip
    transitions = dump(frame)["action_transitions"]
    assert [(t["from_etat"], t["to_etat"]) for t in transitions][-1] == (
        "validee",
        "en_attente_validation",
    )


def test_a_broken_rule_keeps_the_action_in_entry_and_the_dashboard_says_why(
    frame: Engine, tmp_path: Path
) -> None:
    sheets = minimal_entries()
    sheets["Formations"][1][2] = "Formation aide-soignant - Module préparatoire"  # a hyphen
    del sheets["Informations collectives"][4]  # S-100004-1 loses its information collective
    result = ingest(frame, write_entries(tmp_path, sheets), tmp_path / "out")
    assert result.exit_code == 0  # rules never reject rows
    assert states(frame) == {
        "A-100001": "en_cours_de_saisie", "A-100003": "en_attente_validation",
        "A-100004": "en_cours_de_saisie",
    }  # fmt: skip
    with open_session(frame) as db:
        board = dashboard(db, SIRET_A, dt.date(2025, 3, 1))
    assert board["compteurs"]["actions_en_cours_de_saisie"] == 1
    assert board["compteurs"]["sessions_actives"] == 2
    assert [i["regle"] for i in board["a_corriger"]] == ["PSS:intitule"]
    issue = board["a_corriger"][0]
    assert issue["fiche"] in issue["message"] and issue["etat"] == "en_cours_de_saisie"


def test_the_frame_wins_and_says_so(frame: Engine, tmp_path: Path) -> None:
    sheets = minimal_entries()
    sheets["Actions"][1][10] = 99  # nb places dispositif: the frame says 15
    ingest(frame, write_entries(tmp_path, sheets), tmp_path / "out")
    issues = dump(frame)["action_issues"]
    assert [(i["rule"], i["severity"]) for i in issues] == [
        ("nb-places-dispositif", "avertissement")
    ]
    assert states(frame)["A-100001"] == "en_attente_validation"  # a warning does not block


def test_an_unknown_organisation_is_refused(frame: Engine, tmp_path: Path) -> None:
    path = write_entries(tmp_path, minimal_entries(), siret="44123456700017")
    result = ingest(frame, path, tmp_path / "out")
    assert (result.status, result.report.refusal and result.report.refusal.reason) == (
        "refusee",
        "organisme-inconnu",
    )


def test_a_hostile_lheo_entry_is_refused_recorded_and_archived(
    frame: Engine, tmp_path: Path
) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("SECRET-CANARY")
    path = tmp_path / f"saisie_{SIRET_A}_20250301.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE lheo [<!ENTITY x SYSTEM "file://{canary}">]>\n'
        '<lheo xmlns="http://lheo.gouv.fr/2.3"><offres>&x;</offres></lheo>\n',
        encoding="utf-8",
    )
    before = dump(frame)
    result = ingest(frame, path, tmp_path / "out")
    assert result.status == "refusee" and result.report.refusal is not None
    assert result.report.refusal.reason == "xml-dangereux"
    assert "SECRET-CANARY" not in str(result.as_dict())
    after = dump(frame)
    assert [d["status"] for d in after["deliveries"]][-1] == "refused"
    assert {k: v for k, v in after.items() if k != "deliveries"} == {
        k: v for k, v in before.items() if k != "deliveries"
    }
    assert (tmp_path / "out" / result.archive / "manifest.json").is_file()  # type: ignore[operator]


def test_a_decision_records_the_same_history_in_id_order_or_not(
    frame: Engine, tmp_path: Path
) -> None:
    """``decide`` writes sorted ids set-based (INSERT … SELECT) and others row by row: the
    same states and the same history rows (in the order of the ids given) either way."""
    ingest(frame, write_entries(tmp_path, minimal_entries()), tmp_path / "out")
    with open_session(frame) as db:
        ids = select_actions(db, all_valid=True)
    assert len(ids) == 3
    done: dict[str, list[tuple[Any, ...]]] = {}
    for name, order in (("sorted", ids), ("shuffled", [ids[1], ids[2], ids[0]])):
        with open_session(frame, write=True) as db, db.begin():
            transitions = decide(db, order, refuse=True, reason=" doublon ", now=T0, who="offre")
            assert [t.action_id for t in transitions] == order
            table = store.ActionTransition.__table__
            rows = db.execute(
                select(table.c.action_id, table.c.from_etat, table.c.to_etat, table.c.at,
                       table.c.who, table.c.why)
                .where(table.c.who == "offre").order_by(table.c.id)
            ).all()  # fmt: skip
            done[name] = [(r[0], r[1], r[2], plain(r[3]), r[4], r[5]) for r in rows]
            db.rollback()  # the next order starts from the same states
    assert [r[0] for r in done["sorted"]] == ids
    assert [r[0] for r in done["shuffled"]] == [ids[1], ids[2], ids[0]]
    assert sorted(done["sorted"]) == sorted(done["shuffled"])
    assert {r[1:] for r in done["sorted"]} == {
        ("en_attente_validation", "refusee", plain(T0), "offre", "doublon")
    }
