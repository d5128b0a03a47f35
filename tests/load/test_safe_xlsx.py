"""A text shaped like xlsxwriter's own rich-string markup is written as text, never as XML."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import xlsxwriter

from pipelines.load.safe_xlsx import is_raw_markup, write_text
from pipelines.load.template import write_entries

#: what xlsxwriter would copy into the workbook as XML: a formula cell
MARKUP = "<r><t>x</t></r><r><f>1+1</f></r>"


def _xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return b"".join(archive.read(n) for n in archive.namelist() if n.startswith("xl/"))


def test_markup_is_told_from_ordinary_texts() -> None:
    assert is_raw_markup(MARKUP) and is_raw_markup("<r></r>")
    assert not is_raw_markup("<r>début seul") and not is_raw_markup("a <r>b</r>")


def test_write_text_keeps_markup_as_text_in_shared_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("a")
    write_text(sheet, 0, 0, MARKUP)
    write_text(sheet, 1, 0, "ordinaire & <b>")
    book.close()
    assert b"<f>" not in _xml(path)
    column = openpyxl.load_workbook(path)["a"]["A"]
    assert [c.value for c in column] == [MARKUP, "ordinaire & <b>"]


def test_an_entry_workbook_prefilled_with_markup_shows_it_as_text(tmp_path: Path) -> None:
    path = write_entries(tmp_path / "saisie.xlsx", {"formations": [{"intitule_formation": MARKUP}]})
    assert b"<f>" not in _xml(path)
    values = [c.value for row in openpyxl.load_workbook(path)["Formations"].iter_rows()
              for c in row]  # fmt: skip
    assert MARKUP in values
