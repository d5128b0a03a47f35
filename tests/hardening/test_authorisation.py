"""Authorisation: an organisation's entry file that touches what is not its own.

Each test loads the frame of ``tests.hardening.frames`` (two mandataires sharing a formateur
site), lets the rightful organisations describe their actions, takes a dump of every table,
then ingests a hostile file of mandataire 3012 (named ``saisie_<SIRET_A>_…``). The hostile rows
must be rejected with their reason (report, quarantine CSV, ``rejects`` table) or overridden by
the frame with a flag, and nothing else may change: the dump after equals the dump before, but
for the delivery's own rows (``deliveries``, ``rejects``) and the bookkeeping column
``delivery_id`` of the sender's unchanged records (claimed by its newest delivery).
On SQLite and PostgreSQL (``db_url``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from pipelines.ingest import IngestResult
from tests.entries import minimal_entries
from tests.hardening.frames import (
    SIRET_A,
    SIRET_C,
    SIRET_D,
    dump,
    entries_of,
    ingest_entries,
    ingest_frame,
    merged,
    two_mandataires,
)

BOOKKEEPING = ("deliveries", "rejects")


@pytest.fixture
def frame(engine: Engine, tmp_path: Path) -> Engine:
    """The frame, A's entries (actions 100001, 100003, 100004), C's (100005), D's (100006)."""
    assert ingest_frame(engine, tmp_path, two_mandataires(), "20250115").status == "integree"
    for sheets, siret in (
        (minimal_entries(), SIRET_A),
        (entries_of(SIRET_C, 100005, "PSS2025_4", 5000, "C5"), SIRET_C),
        (entries_of(SIRET_D, 100006, "PSS2025_4", 5000, "D6"), SIRET_D),
    ):
        result = ingest_entries(engine, tmp_path, sheets, siret, "20250301")
        assert (result.status, result.report.errors) == ("integree", [])
    return engine


def comparable(store: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The dump without the delivery's own rows and the ``delivery_id`` bookkeeping."""
    return {
        name: [{k: v for k, v in row.items() if k != "delivery_id"} for row in rows]
        for name, rows in store.items()
        if name not in BOOKKEEPING
    }


def rejected(result: IngestResult) -> list[tuple[str, int, str | None, str]]:
    return [(e.sheet, e.row, e.column, e.reason) for e in result.report.errors]


def check_recorded(result: IngestResult, engine: Engine, out: Path) -> None:
    """The rejects are in the quarantine CSV and in the store's ``rejects`` table."""
    assert result.quarantine is not None
    text = result.quarantine.read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert sorted((r["sheet"], r["row"], r["reason"]) for r in rows) == sorted(
        (e.sheet, str(e.row), e.reason) for e in result.report.errors
    )
    assert result.quarantine.resolve().is_relative_to((out / "out").resolve())
    stored = dump(engine)["rejects"]
    mine = [r for r in stored if r["delivery_id"] == result.delivery_id]
    assert sorted((r["sheet"], r["row"], r["reason"]) for r in mine) == sorted(
        (e.sheet, e.row, e.reason) for e in result.report.errors
    )


def hostile(*extra: dict[str, Any]) -> dict[str, Any]:
    """A's own entries, unchanged, plus hostile rows (so that nothing of A is withdrawn)."""
    return merged(minimal_entries(), *extra)


def test_rows_under_another_organisations_siret_are_rejected(frame: Engine, tmp_path: Path) -> None:
    """D's formation, action and session rewritten under D's SIRET by A: each row rejected."""
    forged = entries_of(SIRET_D, 100006, "PSS2025_4", 5000, "D6")
    forged["Formations"][1][2] = "Intitulé réécrit par un autre organisme"
    forged["Sessions"][1][6] = dt.datetime(2026, 1, 5)
    before = dump(frame)
    result = ingest_entries(frame, tmp_path, hostile(forged), SIRET_A, "20250302")
    assert result.status == "integree"
    assert rejected(result) == [
        ("formations", 5, "siret", "siret-non-autorise"),
        ("actions", 5, "id_action_cr", "siret-non-autorise"),
        ("sessions", 6, "siret", "siret-non-autorise"),
        ("informations_collectives", 6, "ref_session", "session-rejetee"),
    ]
    assert "pas un établissement de l'organisme" in result.report.errors[0].message
    check_recorded(result, frame, tmp_path)
    assert comparable(dump(frame)) == comparable(before)


def test_an_action_of_another_lot_is_rejected(frame: Engine, tmp_path: Path) -> None:
    """A describes action 100006 of lot PSS2025_4 (mandataire 5000) under its own SIRET."""
    forged = entries_of(SIRET_A, 100006, "PSS2025_4", 5000, "A6")
    before = dump(frame)
    result = ingest_entries(frame, tmp_path, hostile(forged), SIRET_A, "20250302")
    assert rejected(result) == [
        ("actions", 5, "id_action_cr", "siret-non-autorise"),
        ("sessions", 6, "ref_action", "action-rejetee"),
        ("informations_collectives", 6, "ref_session", "session-rejetee"),
    ]
    assert "n'appartient pas à un lot" in result.report.errors[0].message
    check_recorded(result, frame, tmp_path)
    after = comparable(dump(frame))
    # the formation F-A6 has no action of A's lots but is A's own record: it is the only change
    new = [f for f in after["formations"] if f not in comparable(before)["formations"]]
    assert [(f["siret"], f["ref_formation"]) for f in new] == [(SIRET_A, "F-A6")]
    after["formations"] = [f for f in after["formations"] if f not in new]
    assert after == comparable(before)


def test_another_lot_cannot_be_reached_through_a_shared_formateur_site(
    frame: Engine, tmp_path: Path
) -> None:
    """C is formateur of 100002 (A's lot) and of 100005 (D's lot): A may describe 100002 at
    C's site, but not touch C's records of 100005."""
    forged = entries_of(SIRET_C, 100002, "PSS2025_1", 3012, "C5")  # C's own references
    forged["Formations"][1][2] = "Intitulé réécrit par le mandataire d'un autre lot"
    forged["Sessions"][1][6] = dt.datetime(2026, 1, 5)
    before = dump(frame)
    result = ingest_entries(frame, tmp_path, hostile(forged), SIRET_A, "20250302")
    assert {reason for *_, reason in rejected(result)} <= {
        "siret-non-autorise", "action-rejetee", "session-rejetee", "formation-rejetee",
    }  # fmt: skip
    assert ("actions", 5, "id_action_cr", "siret-non-autorise") in rejected(result) or (
        "actions", 5, "siret", "siret-non-autorise") in rejected(result)  # fmt: skip
    assert comparable(dump(frame)) == comparable(before)


def _withdraw_100004(engine: Engine, folder: Path) -> None:
    sheets = two_mandataires()
    sheets["Actions"] = [row for row in sheets["Actions"] if row[0] != 100004]
    result = ingest_frame(engine, folder, sheets, "20250201")
    assert result.status == "integree" and result.load["counts"]["actions"]["withdrawn"] == 1


def test_a_withdrawn_action_of_the_region_is_rejected(frame: Engine, tmp_path: Path) -> None:
    """The Région withdraws 100004; A sends its entries again with a new session date."""
    _withdraw_100004(frame, tmp_path)
    sheets = minimal_entries()
    sheets["Sessions"][4][6] = dt.datetime(2025, 9, 1)
    sheets["Sessions"][4][7] = dt.datetime(2025, 12, 1)
    before = dump(frame)
    result = ingest_entries(frame, tmp_path, sheets, SIRET_A, "20250302")
    assert rejected(result) == [
        ("actions", 4, "id_action_cr", "action-region-retiree"),
        ("sessions", 5, "ref_action", "action-rejetee"),
        ("informations_collectives", 5, "ref_session", "session-rejetee"),
    ]
    assert "retirée par la Région" in result.report.errors[0].message
    check_recorded(result, frame, tmp_path)
    assert comparable(dump(frame)) == comparable(before)


def test_a_session_of_a_withdrawn_action_of_the_region_is_rejected(
    frame: Engine, tmp_path: Path
) -> None:
    _withdraw_100004(frame, tmp_path)
    sheets = minimal_entries()
    sheets["Formations"] = sheets["Formations"][:1]
    sheets["Actions"] = sheets["Actions"][:1]
    sheets["Sessions"] = [sheets["Sessions"][0], sheets["Sessions"][4]]
    sheets["Sessions"][1][6] = dt.datetime(2025, 10, 1)
    sheets["Informations collectives"] = [sheets["Informations collectives"][i] for i in (0, 4)]
    before = dump(frame)
    result = ingest_entries(frame, tmp_path, sheets, SIRET_A, "20250302")
    assert ("sessions", 2, "ref_action", "action-region-retiree") in rejected(result) or (
        "sessions", 2, "ref_action", "action-rejetee") in rejected(result)  # fmt: skip
    assert comparable(dump(frame)) == comparable(before)


FLAGS = [
    ("codes-externes", "avertissement"),
    ("codes-externes", "avertissement"),
    ("nb-places-dispositif", "avertissement"),
    ("organisme-responsable-mandataire", "avertissement"),
]


def contradicting(sheets: dict[str, Any], ref_session: str, at: int = 1) -> dict[str, Any]:
    """Entries whose action row ``at`` says lot PE2025_2, mandataire 5000 and 99 places, and whose
    session ``ref_session`` names C as organisme responsable."""
    action = sheets["Actions"][at]
    action[4], action[5], action[10] = "PE2025_2", 5000, 99
    sheets["Sessions"][0] = [*sheets["Sessions"][0], "organisme_responsable"]  # a copy
    for row in sheets["Sessions"][1:]:
        row.append(SIRET_C if row[1] == ref_session else None)
    return sheets


def flags_of(store: dict[str, Any], ref_action: str) -> list[tuple[str, str]]:
    ids = {a["ref_action"]: a["id"] for a in store["actions"]}
    return sorted(
        (i["rule"], i["severity"]) for i in store["action_issues"]
        if i["action_id"] == ids[ref_action] and i["severity"] == "avertissement"
    )  # fmt: skip


def test_the_regions_codes_places_and_responsable_win_and_are_flagged(
    frame: Engine, tmp_path: Path
) -> None:
    """A describes action 100002 of its lot saying another lot, another mandataire, 99 places
    and C as organisme responsable: the store keeps the frame's, each difference is a warning
    of the action's to-fix list, and no stored row changes (the new records are added)."""
    new = contradicting(hostile(entries_of(SIRET_A, 100002, "PSS2025_1", 3012, "A2")), "S-A2", 4)
    before = dump(frame)
    result = ingest_entries(frame, tmp_path, new, SIRET_A, "20250302")
    assert (result.status, rejected(result)) == ("integree", []), result.report.refusal
    after = dump(frame)
    ids = {a["ref_action"]: a["id"] for a in after["actions"]}
    region = {a["id_action_cr"]: a for a in after["actions_region"]}
    lots = {lot["numero_lot"]: lot["id"] for lot in after["lots"]}
    dispositif = next(d for d in after["dispositifs"] if d["action_id"] == ids["A-A2"])
    assert dispositif["lot_id"] == lots["PSS2025_1"]
    assert dispositif["action_region_id"] == region[100002]["id"]
    assert dispositif["nb_places_dispositif"] == 15
    organismes = {(o["of_cr"], o["siret"]): o["id"] for o in after["organismes"]}
    session = next(s for s in after["sessions"] if s["ref_session"] == "S-A2")
    assert session["organisme_responsable_id"] == organismes[(3012, SIRET_A)]
    assert flags_of(after, "A-A2") == FLAGS
    mine, theirs = comparable(after), comparable(before)
    for name, rows in theirs.items():
        kept = {row["id"]: row for row in mine[name]} if rows and "id" in rows[0] else None
        if kept is None:
            assert all(row in mine[name] for row in rows), name
        else:
            assert [kept.get(row["id"]) for row in rows] == rows, name  # no stored row changed


def test_a_resent_entry_contradicting_the_frame_is_flagged(frame: Engine, tmp_path: Path) -> None:
    before = dump(frame)
    sheets = contradicting(minimal_entries(), "S-100001-1")
    result = ingest_entries(frame, tmp_path, sheets, SIRET_A, "20250302")
    assert (result.status, rejected(result)) == ("integree", [])
    after = dump(frame)
    assert comparable(after)["dispositifs"] == comparable(before)["dispositifs"]  # frame wins
    assert flags_of(after, "A-100001") == FLAGS
