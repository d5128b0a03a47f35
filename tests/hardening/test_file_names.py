"""Hostile file names and hostile texts shown on the console.

A delivery's name is data: it is shown and recorded, never used to build a path. The nightly
takes files named with ``..``, backslashes (a Windows absolute path), control characters,
terminal escapes and 250 characters from its inbox; afterwards nothing was written outside the
output folder, and everything inside it has a safe name. The console (``catalogue validate``)
prints names, sheet names and headers from the file: they must not be read as rich markup nor
reach the terminal as escape sequences.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.__main__ import app
from pipelines.load.db import make_engine, upgrade_store
from pipelines.nightly import run_nightly
from pipelines.settings import Settings, get_settings
from tests.hardening.mutate import ENTRY_WORKBOOKS, EXTRACTION
from tests.workbooks import minimal_sheets, write_workbook

SAFE = re.compile(r"^[A-Za-z0-9._-]+$")
HOSTILE_NAMES = (
    "..prf_2025_20250115.xlsx",
    "..\\..\\..\\etc\\prf_2025_20250115.xlsx",
    "C:\\Windows\\Temp\\prf_2025_20250115.xlsx",
    "\\\\serveur\\partage\\prf_2025_20250115.xlsx",
    "prf_2025_20250115\n.xlsx",
    "prf_2025_20250115\x1b]0;pwn\x07\x1b[2J.xlsx",
    "prf_2025_20250115\r\t\x7f.xlsx",
    "prf_" + "x" * 240 + ".xlsx",
    "saisie_65494103800048_20250301\x00.xlsx".replace("\x00", "\x01"),
    "saisie_../../65494103800048_20250301.xml".replace("/", "\u2215"),  # division slash
    "[bold red]saisie_96274521200010_20250301.xlsx",
)


def tree(root: Path, skip: Path | None = None) -> set[str]:
    """Every path under ``root`` (relative), but those under ``skip``."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if skip is not None and (here == skip or skip in here.parents):
            continue
        for name in dirnames + filenames:
            found.add(str((here / name).relative_to(root)))
    return found


def test_hostile_names_in_the_inbox_are_never_used_as_paths(tmp_path: Path) -> None:
    out = tmp_path / "out"
    inbox = out / "inbox"
    inbox.mkdir(parents=True)
    samples = [EXTRACTION, *ENTRY_WORKBOOKS]
    for number, name in enumerate(HOSTILE_NAMES):
        shutil.copyfile(samples[number % len(samples)], inbox / name)
    (tmp_path / "etc").mkdir()
    before = tree(tmp_path, skip=out)
    settings = Settings(output_dir=out, database_url=f"sqlite:///{out / 'catalogue.db'}")
    engine = make_engine(settings.store_url)
    upgrade_store(engine)
    try:
        result = run_nightly(engine, settings, inbox=inbox,
                             now=dt.datetime(2025, 3, 2, 1, 0, tzinfo=dt.UTC))  # fmt: skip
    finally:
        engine.dispose()
    assert result.state in ("succeeded", "partial"), result.message
    taken = {name for name in HOSTILE_NAMES if not name.startswith(".")}  # hidden: left alone
    assert len(result.inputs) == len(taken)
    assert tree(tmp_path, skip=out) == before  # nothing written outside the output folder
    assert list((tmp_path / "etc").iterdir()) == []
    names = tree(out)
    unsafe = sorted(
        n for n in names
        if not all(SAFE.match(part) for part in Path(n).parts) and Path(n).name not in HOSTILE_NAMES
    )  # fmt: skip
    assert unsafe == []
    left = {p.name for p in inbox.iterdir()}
    assert left == {"refuses", "traites"} | (set(HOSTILE_NAMES) - taken)  # the rest moved aside
    assert {i["file"] for i in result.inputs} == taken  # shown as received


runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CATALOGUE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def validate(path: Path) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, ["validate", str(path)])
    error = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, error


def test_markup_in_a_header_is_shown_as_text(cli: Path) -> None:
    sheets = minimal_sheets()
    sheets["Organismes"][0].append("Remarque [/]")
    for row in sheets["Organismes"][1:]:
        row.append("x")
    code, output, error = validate(write_workbook(cli / "prf_2025_20250115.xlsx", sheets))
    assert error is None and code == 0
    assert "« Remarque [/] »" in output


def test_markup_in_a_file_name_is_shown_as_text(cli: Path) -> None:
    path = write_workbook(cli / "prf_2025_20250115[bold red].xlsx", minimal_sheets())
    code, output, error = validate(path)
    assert error is None and code == 0
    assert "prf_2025_20250115[bold red].xlsx" in output


def test_terminal_escapes_in_a_file_name_never_reach_the_console(cli: Path) -> None:
    path = write_workbook(cli / "prf_2025_20250115\x1b]0;pwn\x07\x1b[2J.xlsx", minimal_sheets())
    code, output, error = validate(path)
    assert error is None and code == 0
    assert "\x1b" not in output
