"""The quarantine CSV: for Excel, and safe to open in it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from pipelines.load.quarantine import write_quarantine
from pipelines.load.safe_csv import escape_cell
from pipelines.transform.report import Report, RowError

FILE = "prf_2025_20250115.xlsx"


def error(value: str | None, column: str | None = "intitule", row: int = 5) -> RowError:
    return RowError(
        FILE, "actions", row, column, value, "longueur-max", "« intitule » : trop long."
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x.example","clic")', '\'=HYPERLINK("http://x.example","clic")'),
        ("+33 2 40 00 00 00", "'+33 2 40 00 00 00"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Prépa – sanitaire ; social", "Prépa – sanitaire ; social"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_escape_cell(value: object, expected: str) -> None:
    assert escape_cell(value) == expected


def test_quarantine_csv_is_excel_ready_and_escaped(tmp_path: Path) -> None:
    report = Report(
        file=FILE,
        errors=[error('=HYPERLINK("http://x.example","clic")'), error(None, None, 7)],
    )

    path = write_quarantine(report, tmp_path / "quarantaine" / "run.csv")

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0] == "file;sheet;row;column;value;reason;message"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[1:] == [
        [FILE, "actions", "5", "intitule", "'=HYPERLINK(\"http://x.example\",\"clic\")",
         "longueur-max", "« intitule » : trop long."],
        [FILE, "actions", "7", "", "", "longueur-max", "« intitule » : trop long."],
    ]  # fmt: skip
    assert [p.name for p in path.parent.iterdir()] == ["run.csv"]  # no temporary file left


def test_an_empty_report_gives_the_header_only(tmp_path: Path) -> None:
    path = write_quarantine(Report(file=FILE), tmp_path / "q.csv")

    assert path.read_bytes() == b"\xef\xbb\xbffile;sheet;row;column;value;reason;message\r\n"
