"""The Kairos/Ouiform feed: exactly the prescribable sessions; the others listed per OF."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import Engine, orm

from pipelines.load.db import open_session
from pipelines.load.feeds import ReleaseContext
from pipelines.load.kairos_feed import write_kairos
from pipelines.load.published import iter_published
from pipelines.load.sites_feed import feed_schema
from pipelines.transform.bundle import ActionBundle, SessionView
from tests.load import contexts

TODAY = dt.date(2025, 6, 1)  # the samples' informations collectives run from 12/2024 to 10/2025


@pytest.fixture
def reader(published: Engine) -> Iterator[orm.Session]:
    """A read session on the published store, open for the whole test."""
    with open_session(published) as db:
        yield db


def to_come(session: SessionView) -> bool:
    return any(info["date"] >= TODAY for info in session.informations_collectives)


def altered(db: orm.Session) -> Iterator[ActionBundle]:
    """The published offer with, in stream order: the first session with an information to come
    suspended, the second one without any information, the third one with no end date."""
    seen = 0
    for bundle in iter_published(db):
        for session in bundle.sessions:
            fields = session.fields
            if fields["etat_recrutement"] != "ouvert" or not to_come(session):
                continue
            if fields["date_fin"] is not None and fields["date_fin"] < TODAY:
                continue
            seen += 1
            if seen == 1:
                fields["etat_recrutement"] = "Suspendu"  # as an entry may write it
            elif seen == 2:
                session.informations_collectives = []
            elif seen == 3:
                fields["date_fin"] = None
        yield bundle


def release(folder: Path, engine: Engine, db: orm.Session) -> ReleaseContext:
    return contexts.release(folder, engine, db, offer=lambda: altered(db))


def expected(db: orm.Session) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """What the feed must hold, worked out from the offer itself."""
    sent: list[str] = []
    held: dict[str, list[tuple[str, str]]] = {}
    for bundle in altered(db):
        for session in sorted(bundle.sessions, key=lambda s: s.fields["id"]):
            fields = session.fields
            state = (fields["etat_recrutement"] or "").lower()
            ended = fields["date_fin"] is not None and fields["date_fin"] < TODAY
            if state not in ("ouvert", "suspendu") or ended:
                continue
            if to_come(session):
                sent.append(session.ref)
            else:
                raison = (
                    "informations-collectives-passees"
                    if session.informations_collectives
                    else "aucune-information-collective"
                )
                held.setdefault(bundle.siret, []).append((session.ref, raison))
    return sent, held


def test_exactly_the_prescribable_sessions_with_their_informations_to_come(
    published: Engine, reader: orm.Session, tmp_path: Path
) -> None:
    files = write_kairos(release(tmp_path, published, reader))

    folder = tmp_path / "kairos-ouiform"
    schema = json.loads((folder / "sessions.schema.json").read_bytes())
    assert schema == json.loads(feed_schema("kairos-ouiform-sessions.schema.json"))
    Draft202012Validator.check_schema(schema)
    check = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    records = [json.loads(line) for line in (folder / "sessions.jsonl").read_text().splitlines()]
    for record in records:
        errors = [f"{e.json_path}: {e.message}" for e in check.iter_errors(record)]
        assert not errors, (record["code_fas"], errors)

    sent, held = expected(reader)
    assert [r["code_fas"] for r in records] == sent
    assert 10 < len(sent) < 49 and held  # the chosen day splits the samples
    assert files[0].records == len(sent)
    states = {r["etat_recrutement"] for r in records}
    assert states == {"ouvert", "suspendu"}
    assert any(r["dates"]["date_fin"] is None for r in records)
    for record in records:
        dates = [dt.date.fromisoformat(i["date"]) for i in record["informations_collectives"]]
        assert dates and min(dates) >= TODAY and dates == sorted(dates)
        assert all(i["nb_places"] is None for i in record["informations_collectives"])
        assert record["codes_externes"]["numero_lot"] and record["codes_externes"]["id_action_cr"]
        assert record["referent_pmr"] and record["referent_pmr"]["nom"]


def test_sessions_without_information_to_come_are_listed_per_organisation(
    published: Engine, reader: orm.Session, tmp_path: Path
) -> None:
    files = write_kairos(release(tmp_path, published, reader))

    folder = tmp_path / "kairos-ouiform"
    report = json.loads((folder / "non-diffusables.json").read_bytes())
    schema = json.loads((folder / "non-diffusables.schema.json").read_bytes())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(report)
    _sent, held = expected(reader)
    assert list(report) == sorted(report)
    assert {
        siret: [(s["fas"], s["raison"]) for s in sessions] for siret, sessions in report.items()
    } == held
    raisons = {s["raison"] for sessions in report.values() for s in sessions}
    assert raisons == {"aucune-information-collective", "informations-collectives-passees"}
    assert all(
        s["intitule"] and "Kairos/Ouiform" in s["message"] for v in report.values() for s in v
    )
    assert files[2].records == sum(len(v) for v in held.values())


def test_same_store_same_bytes(published: Engine, reader: orm.Session, tmp_path: Path) -> None:
    write_kairos(release(tmp_path / "a", published, reader))
    write_kairos(release(tmp_path / "b", published, reader))
    for path in sorted((tmp_path / "a" / "kairos-ouiform").iterdir()):
        twin = tmp_path / "b" / "kairos-ouiform" / path.name
        assert path.read_bytes() == twin.read_bytes(), path.name
