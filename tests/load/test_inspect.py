"""Reading the store back: show a lot, an action, an organisme; the store's status."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine

from pipelines.load.db import open_session
from pipelines.load.inspect import (
    dump_store,
    show_action,
    show_lot,
    show_organisme,
    store_status,
)
from tests.load import factories as f
from tests.load.helpers import at, load


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    """2024 loaded, then 2025 twice: the second 2025 delivery withdraws lot PE2025_4."""
    load(engine, f.standard(2024, n_lots=2, actions_per_lot=1), now=at(0))
    load(engine, f.standard(2025), now=at(1))
    rows = f.standard_rows(2025)
    rows["lots"] = [lot for lot in rows["lots"] if lot["numero_lot"] != "PE2025_4"]
    rows["actions"] = [a for a in rows["actions"] if a["numero_lot"] != "PE2025_4"]
    load(engine, f.make_extraction(2025, date=dt.date(2025, 2, 1), **rows), now=at(2))
    return engine


def test_show_lot(loaded: Engine) -> None:
    with open_session(loaded) as db:
        lot = show_lot(db, " pe2025_4 ")
        assert show_lot(db, "PSS2099_1") is None

    assert lot is not None
    assert (lot["numero_lot"], lot["status"]) == ("PE2025_4", "withdrawn")
    assert lot["delivery"] == "prf_2025_20250115.xlsx"
    assert lot["withdrawn_by"] == "prf_2025_20250201.xlsx"
    assert lot["programme"] == {
        "code_programme": "PE", "libelle_programme": "PROGRAMME REGION - PE",
        "code_dispositif": None,
    }  # fmt: skip
    assert [o["of_cr"] for o in lot["mandataire"]] == [102]
    assert [(a["id_action_cr"], a["status"]) for a in lot["actions"]] == [
        (202500401, "withdrawn"),
        (202500402, "withdrawn"),
    ]
    json.dumps(lot)  # JSON-ready


def test_show_action(loaded: Engine) -> None:
    with open_session(loaded) as db:
        action = show_action(db, 202500101)
        assert show_action(db, 1) is None

    assert action is not None
    assert (action["numero_lot"], action["status"], action["annee"]) == (
        "PSS2025_1",
        "active",
        2025,
    )
    assert action["date_debut_prevue"] == "2025-02-03"
    assert [o["siret"] for o in action["formateur"]] == [f.siret(102)]
    assert [o["of_cr"] for o in action["mandataire"]] == [102]
    json.dumps(action)


@pytest.mark.parametrize(
    ("key", "found"),
    [
        ("102", [(102, f.siret(102))]),
        (f.siret(102), [(102, f.siret(102))]),
        (f"102:{f.siret(102)}", [(102, f.siret(102))]),
        ("000 000 102 00013", [(102, f.siret(102))]),
        (f"103:{f.siret(102)}", []),
        ("77", []),
    ],
)
def test_show_organisme(loaded: Engine, key: str, found: list[tuple[int, str]]) -> None:
    with open_session(loaded) as db:
        organismes = show_organisme(db, key)

    assert [(o["of_cr"], o["siret"]) for o in organismes] == found
    if found:
        assert organismes[0]["lots"] == ["PE2025_4", "PSS2024_1", "PSS2025_1"]  # withdrawn too
        assert organismes[0]["actions"] == [202400101, 202500101, 202500102, 202500401, 202500402]
        json.dumps(organismes)


@pytest.mark.parametrize("key", ["", "abc", "12:34", "1234567890123456", "1:2:3", "-5"])
def test_show_organisme_refuses_other_keys(engine: Engine, key: str) -> None:
    with open_session(engine) as db, pytest.raises(ValueError, match="organisme key"):
        show_organisme(db, key)


def test_store_status(loaded: Engine) -> None:
    with open_session(loaded) as db:
        status = store_status(db)

    assert [
        (d["file_name"], d["status"], d["year"], d["rejects"]) for d in status["deliveries"]
    ] == [
        ("prf_2024_20240115.xlsx", "accepted", 2024, 0),
        ("prf_2025_20250115.xlsx", "accepted", 2025, 0),
        ("prf_2025_20250201.xlsx", "accepted", 2025, 0),
    ]
    assert status["deliveries"][2]["counts"]["lots"]["withdrawn"] == 1
    assert status["years"] == [
        {"annee": 2024, "programmes": 2, "lots": {"active": 2, "withdrawn": 0},
         "actions": {"active": 2, "withdrawn": 0}, "organismes": 2},
        {"annee": 2025, "programmes": 2, "lots": {"active": 4, "withdrawn": 1},
         "actions": {"active": 8, "withdrawn": 2}, "organismes": 3},
    ]  # fmt: skip
    assert status["organismes"] == 4
    json.dumps(status)


def test_empty_store(engine: Engine) -> None:
    with open_session(engine) as db:
        assert store_status(db) == {"deliveries": [], "years": [], "organismes": 0}
        assert all(rows == [] for rows in dump_store(db).values())


def test_dump_is_deterministic_and_json_ready(loaded: Engine) -> None:
    with open_session(loaded) as db:
        first, second = dump_store(db), dump_store(db)

    assert first == second
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert [lot["id"] for lot in first["lots"]] == sorted(lot["id"] for lot in first["lots"])
    assert first["lots"][0]["created_at"] == "2025-01-20T02:00:00+00:00"
