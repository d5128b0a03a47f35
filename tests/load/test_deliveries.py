"""Deliveries refused or stopped are recorded once, by content."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from pipelines.errors import ExtractionFileError
from pipelines.load.db import open_session
from pipelines.load.deliveries import record_refused_delivery
from pipelines.transform.report import Refusal, Report, RowError
from tests.load import factories as f
from tests.load.helpers import at, dump, load


def refused_report(file: str) -> Report:
    return Report(
        file=file,
        year=2025,
        errors=[RowError(file, "actions", 4, "siret_formateur", "1.3E+13", "siret-format", "m")],
        counts={"actions": {"accepted": 0, "rejected": 1}},
        refusal=Refusal(file, "aucune-action", "Aucune action n'est acceptée."),
    )


def record(engine: Engine, info: object, what: object, status: str, days: int) -> int:
    with open_session(engine, write=True) as db, db.begin():
        return record_refused_delivery(db, info, what, status, at(days)).id  # type: ignore[arg-type]


def test_a_refused_delivery_is_recorded_once_by_content(engine: Engine) -> None:
    info = f.standard().info
    first = record(engine, info, refused_report(info.file_name), "refused", 0)
    error = ExtractionFileError(info.file_name, "feuille-manquante", sheet="Lots")
    again = record(engine, info, error, "refused", 1)

    store = dump(engine)
    assert first == again
    [delivery] = store["deliveries"]
    assert (delivery["status"], delivery["loaded_at"]) == ("refused", None)
    assert delivery["message"] == "La feuille « Lots » est absente du fichier."
    assert delivery["received_at"] == "2025-01-20T02:00:00+00:00"  # the first time
    assert store["rejects"] == []  # replaced by the second record (an error, no rows)
    assert store["lots"] == []


def test_rejects_of_a_refused_report_are_kept(engine: Engine) -> None:
    info = f.standard().info
    record(engine, info, refused_report(info.file_name), "refused", 0)

    store = dump(engine)
    assert [(r["sheet"], r["row"], r["reason"]) for r in store["rejects"]] == [
        ("actions", 4, "siret-format")
    ]
    assert store["deliveries"][0]["counts"] == {"actions": {"accepted": 0, "rejected": 1}}
    assert store["deliveries"][0]["message"] == "Aucune action n'est acceptée."


def test_an_accepted_delivery_cannot_be_marked_refused(engine: Engine) -> None:
    validated = f.standard()
    load(engine, validated)

    with pytest.raises(ValueError, match="already accepted"):
        record(engine, validated.info, refused_report("x"), "refused", 1)
    with pytest.raises(ValueError, match="status"):
        record(engine, validated.info, refused_report("x"), "accepted", 1)
    assert [d["status"] for d in dump(engine)["deliveries"]] == ["accepted"]


def test_a_refused_delivery_keeps_its_archive_path(engine: Engine) -> None:
    info = f.standard().info
    with open_session(engine, write=True) as db, db.begin():
        record_refused_delivery(
            db, info, refused_report(info.file_name), "refused", at(0), archive_path="archive/ab/x"
        )

    assert dump(engine)["deliveries"][0]["archive_path"] == "archive/ab/x"
