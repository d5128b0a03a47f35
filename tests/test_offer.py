"""Organisations' entries: checks, authorisation, merge into the FASD store (SQLite and
PostgreSQL): FAS codes, history, frame wins, withdrawals, unchanged re-sends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from pipelines.extract.entries import describe_entry, read_entry_workbook
from pipelines.ingest import Limits, ingest_path
from pipelines.load.db import open_session
from pipelines.load.deliveries import open_accepted_delivery
from pipelines.load.frame_index import read_frame_index
from pipelines.load.inspect import plain
from pipelines.load.offer import merge_entries
from pipelines.transform.entries import ValidatedEntries, validate_entries
from schemas import store
from tests.entries import minimal_entries, write_entries
from tests.workbooks import SIRET_A, SIRET_C, minimal_sheets, write_workbook

LIMITS = Limits(50 * 2**20, 2**30)
T0 = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)
OFFER = ("formations", "actions", "dispositifs", "sessions", "informations_collectives",
         "referents", "periodes_inscription", "change_history")  # fmt: skip


@pytest.fixture
def frame(engine: Engine, tmp_path: Path) -> Engine:
    """A store holding the minimal 2025 frame."""
    path = write_workbook(tmp_path / "prf_2025_20250115.xlsx", minimal_sheets())
    result = ingest_path(
        path, engine=engine, output_dir=tmp_path / "out", limits=LIMITS, threshold=0.2
    )
    assert result.status == "integree"
    return engine


def check(engine: Engine, path: Path, organisation: str = SIRET_A) -> ValidatedEntries:
    info = describe_entry(path, LIMITS.max_bytes)
    raw = read_entry_workbook(info, LIMITS.max_uncompressed)
    with open_session(engine) as db:
        return validate_entries(raw, read_frame_index(db), organisation)


def merge(engine: Engine, entries: ValidatedEntries, *, days: int = 0, **options: Any) -> Any:
    with open_session(engine, write=True) as db, db.begin():
        index = read_frame_index(db)
        delivery = open_accepted_delivery(
            db, entries.info, entries.report, year=2025, archive_path=None,
            now=T0 + dt.timedelta(days=days), kind="saisie",
        )  # fmt: skip
        options.setdefault("threshold", 0.2)
        options.setdefault("allow_mass_withdrawal", False)
        return merge_entries(
            db, entries, index, delivery_id=delivery.id, now=T0 + dt.timedelta(days=days),
            **options,
        )  # fmt: skip


def offer(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    tables = {t.name: t for t in store.Base.metadata.sorted_tables}
    with open_session(engine) as db:
        return {
            name: [
                {k: plain(v) for k, v in row.items()}
                for row in db.execute(select(tables[name]).order_by(tables[name].c.id)).mappings()
            ]
            for name in OFFER
        }


def tuples(entries: ValidatedEntries) -> list[tuple[str, int, str | None, str]]:
    return [(e.sheet, e.row, e.column, e.reason) for e in entries.report.errors]


def test_entries_are_merged_with_fas_codes_and_the_frame_wins(
    frame: Engine, tmp_path: Path
) -> None:
    sheets = minimal_entries()
    sheets["Actions"][1][10] = 99  # nb_places_dispositif: the frame says 15
    entries = check(frame, write_entries(tmp_path, sheets))
    assert tuples(entries) == []
    assert entries.flags[(SIRET_A, "A-100001")] == [
        {"rule": "nb-places-dispositif", "field": "nb_places_dispositif", "entry": 99, "frame": 15}
    ]
    result = merge(frame, entries)
    assert result.counts["sessions"]["inserted"] == 4
    assert len(result.new_actions) == 3
    stored = offer(frame)
    assert [d["nb_places_dispositif"] for d in stored["dispositifs"]] == [15, 12, 8]
    assert len(stored["informations_collectives"]) == 4
    assert {r["type"] for r in stored["referents"]} == {"pmr", "mobilite"}
    with open_session(frame) as db:
        mandataire = {
            o.id for o in db.scalars(select(store.Organisme).where(store.Organisme.of_cr == 3012))
        }
    assert {s["organisme_responsable_id"] for s in stored["sessions"]} <= mandataire


def test_an_unchanged_resend_changes_nothing(frame: Engine, tmp_path: Path) -> None:
    merge(frame, check(frame, write_entries(tmp_path, minimal_entries())))
    before = offer(frame)
    again = write_entries(tmp_path / "again", minimal_entries(), day="20250302")
    result = merge(frame, check(frame, again), days=1)
    assert result.changes == {}
    assert {c["updated"] for c in result.counts.values()} == {0}
    assert offer(frame) == before


def test_a_changed_field_is_updated_in_place_with_its_history(
    frame: Engine, tmp_path: Path
) -> None:
    merge(frame, check(frame, write_entries(tmp_path, minimal_entries())))
    ids = {s["ref_session"]: s["id"] for s in offer(frame)["sessions"]}
    sheets = minimal_entries()
    sheets["Sessions"][1][7] = dt.datetime(2025, 6, 30)  # date_fin of S-100001-1
    sheets["Informations collectives"][1][3] = "10:00"  # its information collective
    result = merge(
        frame, check(frame, write_entries(tmp_path / "v2", sheets, day="20250310")), days=9
    )
    stored = offer(frame)
    assert {s["ref_session"]: s["id"] for s in stored["sessions"]} == ids  # FAS codes kept
    history = [(h["entity"], h["entity_id"], h["field"]) for h in stored["change_history"]]
    assert history == [
        ("sessions", ids["S-100001-1"], "date_fin"),
        ("sessions", ids["S-100001-1"], "informations_collectives"),
    ]
    assert stored["change_history"][0]["new"] == "2025-06-30"
    assert list(result.changes.values()) == [
        {"session.date_fin", "session.informations_collectives"}
    ]


def test_a_session_absent_from_a_later_full_file_is_withdrawn(
    frame: Engine, tmp_path: Path
) -> None:
    merge(frame, check(frame, write_entries(tmp_path, minimal_entries())))
    sheets = minimal_entries()
    del sheets["Sessions"][2]  # S-100001-2
    del sheets["Informations collectives"][2]
    entries = check(frame, write_entries(tmp_path / "v2", sheets, day="20250310"))
    result = merge(frame, entries, days=9, threshold=0.5)  # 1 of 4 sessions: 25 %
    assert result.counts["sessions"]["withdrawn"] == 1
    withdrawn = [s for s in offer(frame)["sessions"] if s["withdrawn_at"]]
    assert [s["ref_session"] for s in withdrawn] == ["S-100001-2"]


def test_mass_withdrawal_of_sessions_is_stopped(frame: Engine, tmp_path: Path) -> None:
    from pipelines.errors import MassWithdrawalError

    merge(frame, check(frame, write_entries(tmp_path, minimal_entries())))
    before = offer(frame)
    sheets = minimal_entries()
    sheets["Sessions"] = sheets["Sessions"][:2]
    sheets["Informations collectives"] = sheets["Informations collectives"][:2]
    entries = check(frame, write_entries(tmp_path / "v2", sheets, day="20250310"))
    with pytest.raises(MassWithdrawalError):
        merge(frame, entries, days=9)
    assert offer(frame) == before
    result = merge(frame, entries, days=9, allow_mass_withdrawal=True)
    assert result.counts["sessions"]["withdrawn"] == 3


def test_an_organisation_writes_only_into_its_lots_and_sites(frame: Engine, tmp_path: Path) -> None:
    sheets = minimal_entries()
    for name in ("Formations", "Actions", "Sessions", "Informations collectives"):
        for row in sheets[name][1:]:
            row[0] = SIRET_C  # the formateur of action 100002 only
    entries = check(frame, write_entries(tmp_path, sheets, siret=SIRET_C), organisation=SIRET_C)
    assert tuples(entries)[:3] == [
        ("actions", 2, "id_action_cr", "siret-non-autorise"),
        ("actions", 3, "id_action_cr", "siret-non-autorise"),
        ("actions", 4, "id_action_cr", "siret-non-autorise"),
    ]
    assert {e.reason for e in entries.report.errors[3:]} == {"action-rejetee", "session-rejetee"}
    assert entries.frames["actions"].empty and entries.frames["sessions"].empty


def test_references_and_unknown_actions_of_the_frame(frame: Engine, tmp_path: Path) -> None:
    sheets = minimal_entries()
    sheets["Actions"][3][3] = 999999  # id_action_cr not in the frame
    sheets["Sessions"][1][2] = "A-INCONNUE"
    entries = check(frame, write_entries(tmp_path, sheets))
    assert tuples(entries) == [
        ("actions", 4, "id_action_cr", "action-region-inconnue"),
        ("sessions", 2, "ref_action", "action-inconnue"),
        ("sessions", 5, "ref_action", "action-rejetee"),
        ("informations_collectives", 2, "ref_session", "session-rejetee"),
        ("informations_collectives", 5, "ref_session", "session-rejetee"),
    ]


def test_fas_codes_survive_a_new_delivery_of_the_frame(frame: Engine, tmp_path: Path) -> None:
    merge(frame, check(frame, write_entries(tmp_path, minimal_entries())))
    before = {a["ref_action"]: (a["id"], a["formation_id"]) for a in offer(frame)["actions"]}
    sheets = minimal_sheets()
    sheets["Lots"][1][4] = 40  # more places for PSS2025_1
    path = write_workbook(tmp_path / "prf_2025_20250401.xlsx", sheets)
    assert (
        ingest_path(
            path, engine=frame, output_dir=tmp_path / "out", limits=LIMITS, threshold=0.2
        ).status
        == "integree"
    )
    merge(
        frame,
        check(frame, write_entries(tmp_path / "v2", minimal_entries(), day="20250402")),
        days=30,
    )
    assert {
        a["ref_action"]: (a["id"], a["formation_id"]) for a in offer(frame)["actions"]
    } == before
