"""Hostile files: XML tricks inside a workbook, zip bombs, size limits from the settings,
a sheet of 1 048 576 rows, a huge used range, deeply nested and huge LHEO.

XXE, external DTDs, billion laughs and oversized LHEO files are already covered for the LHEO
reader by ``tests/extract/test_lheo.py`` and for workbooks read with declared sizes by
``tests/extract/test_reader.py`` (see ``tests/hardening/README.md``): this file covers what they
do not.
"""

from __future__ import annotations

import http.server
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import python_calamine

from pipelines.errors import ExtractionFileError
from pipelines.extract import source
from pipelines.extract.extraction import read_extraction
from pipelines.extract.lheo import read_lheo_entries
from pipelines.ingest import ingest_path, limits_of, validate_path
from pipelines.load.db import make_engine, upgrade_store
from pipelines.settings import Settings
from tests.hardening.mutate import LHEO_ENTRY, MB
from tests.hardening.xlsx_stream import MAX_ROWS, Raw, numbered, write_xlsx
from tests.workbooks import minimal_sheets, write_workbook

ROOT = Path(__file__).resolve().parents[2]
CANARY = "CANARY-hardening-4d1e-NE-DOIT-PAS-FUIR"
NAME = "prf_2025_20250115.xlsx"


def sheets_with(**extra: list[tuple[int, list[Any]]]) -> dict[str, Any]:
    sheets: dict[str, Any] = {k: numbered(v) for k, v in minimal_sheets().items()}
    sheets.update(extra)
    return sheets


def read(path: Path, max_uncompressed: int = 500 * MB) -> Any:
    return read_extraction(path, max_bytes=200 * MB, max_uncompressed=max_uncompressed)


# --------------------------------------------------------------------------- XML inside .xlsx


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        body = CANARY.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_url() -> Iterator[str]:
    """A local HTTP server counting the requests it gets (there must be none)."""
    _Hits.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hits)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("case", ["xxe-file", "xxe-http", "external-dtd", "billion-laughs"])
def test_entities_and_dtds_inside_a_workbook_are_never_resolved(
    tmp_path: Path, http_url: str, case: str
) -> None:
    """A DOCTYPE in a worksheet part: the workbook is refused or read with the entity left
    unexpanded; the canary file is never read into the report, nothing is fetched, no
    expansion happens (the read stays fast)."""
    canary = tmp_path / "secret.txt"
    canary.write_text(CANARY)
    laughs = "".join(
        f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    )
    prolog, cell = {
        "xxe-file": (f'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file://{canary}">]>', "&x;"),
        "xxe-http": (f'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "{http_url}/x">]>', "&x;"),
        "external-dtd": (f'<!DOCTYPE worksheet SYSTEM "{http_url}/ws.dtd">', "Lot"),
        "billion-laughs": (f'<!DOCTYPE worksheet [<!ENTITY l0 "ha">{laughs}]>', "&l9;"),
    }[case]
    lots = minimal_sheets()["Lots"]
    lots[1][2] = Raw(cell)  # intitule_lot of PSS2025_1
    path = write_xlsx(tmp_path / NAME, sheets_with(Lots=numbered(lots)), prologs={"Lots": prolog})
    started = time.monotonic()
    report, validated = validate_path(path, limits_of(Settings(output_dir=tmp_path)))
    assert time.monotonic() - started < 10
    document = json.dumps(report.as_dict(), ensure_ascii=False, default=str)
    assert CANARY not in document and "hahaha" not in document
    if validated is not None:
        values = validated.frames["lots"]["intitule_lot"].tolist()
        assert not any(CANARY in str(v) or "hahaha" in str(v) for v in values)
    else:
        assert report.refusal is not None and report.refusal.reason == "fichier-illisible"
    assert _Hits.hits == []


# --------------------------------------------------------------------------- zip bombs, sizes


def _lying_zip(tmp_path: Path, expanded: int) -> Path:
    """A workbook whose shared strings expand to ``expanded`` bytes while its zip headers
    (local and central) declare 1 000."""
    base = write_workbook(tmp_path / "base.xlsx", minimal_sheets())
    path = tmp_path / "bomb" / NAME
    path.parent.mkdir()
    with (
        zipfile.ZipFile(base) as source_zip,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in source_zip.infolist():
            data = source_zip.read(info)
            if info.filename == "xl/sharedStrings.xml":
                text = data.decode()
                at = text.index("<t>") + 3
                data = (text[:at] + "A" * expanded + text[at:]).encode()
            out.writestr(info.filename, data)
    raw = bytearray(path.read_bytes())
    name = b"xl/sharedStrings.xml"
    with zipfile.ZipFile(path) as archive:
        struct.pack_into("<I", raw, archive.getinfo(name.decode()).header_offset + 22, 1000)
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46 : at + 46 + length] == name:
            struct.pack_into("<I", raw, at + 24, 1000)
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))
    return path


def test_a_zip_lying_about_its_expanded_size_is_refused_without_expanding(tmp_path: Path) -> None:
    """300 MB of shared strings declared as 1 000 bytes: the declared sizes pass the guard,
    the reader stops at the declared size (refused at once, not after 300 MB)."""
    path = _lying_zip(tmp_path, 300 * MB)
    assert path.stat().st_size < MB
    started = time.monotonic()
    with pytest.raises(ExtractionFileError) as caught:
        read(path, max_uncompressed=MB)
    assert time.monotonic() - started < 5
    assert caught.value.reason == "fichier-illisible"
    assert caught.value.message.startswith("Le fichier ne peut pas être lu")


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings read from the environment: 1 MB per file, 2 MB expanded."""
    monkeypatch.setenv("CATALOGUE_MAX_FILE_MB", "1")
    monkeypatch.setenv("CATALOGUE_MAX_UNCOMPRESSED_MB", "2")
    monkeypatch.setenv("CATALOGUE_OUTPUT_DIR", str(tmp_path / "out"))
    settings = Settings()
    assert (settings.max_file_mb, settings.max_uncompressed_mb) == (1, 2)
    return settings


def test_a_zip_bomb_is_refused_before_expansion_from_the_settings(
    configured: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CATALOGUE_MAX_UNCOMPRESSED_MB: a workbook expanding to 3 MB is refused by the ingest
    before calamine opens it, archived as received, and the store keeps no frame."""
    path = write_workbook(tmp_path / NAME, minimal_sheets())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet9.xml", b" " * (3 * MB))
    assert path.stat().st_size < MB

    def no_expansion(*args: object, **kwargs: object) -> None:
        raise AssertionError("calamine opened a workbook beyond the expanded-size limit")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", no_expansion)
    engine = make_engine(f"sqlite:///{tmp_path / 'catalogue.db'}")
    upgrade_store(engine)
    try:
        result = ingest_path(path, engine=engine, output_dir=configured.output_dir,
                             limits=limits_of(configured), threshold=0.2)  # fmt: skip
    finally:
        engine.dispose()
    assert result.status == "refusee" and result.report.refusal is not None
    assert result.report.refusal.reason == "fichier-trop-volumineux"
    assert "au-delà de la limite de 2 Mo" in result.report.refusal.message


def test_a_file_above_the_size_limit_is_refused_unread_from_the_settings(
    configured: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CATALOGUE_MAX_FILE_MB: a 3 MB delivery is refused on its size alone: never hashed,
    opened, archived nor recorded."""
    path = tmp_path / NAME
    with path.open("wb") as fh:
        fh.truncate(3 * MB)  # sparse: costs nothing

    def unread(*args: object) -> None:
        raise AssertionError("a file above the limit was read")

    monkeypatch.setattr(source, "sha256_file", unread)
    monkeypatch.setattr("pipelines.extract.extraction.sha256_file", unread)
    engine = make_engine(f"sqlite:///{tmp_path / 'catalogue.db'}")
    upgrade_store(engine)
    try:
        result = ingest_path(path, engine=engine, output_dir=configured.output_dir,
                             limits=limits_of(configured), threshold=0.2)  # fmt: skip
    finally:
        engine.dispose()
    assert (result.status, result.delivery_id, result.archive) == ("refusee", None, None)
    assert result.report.refusal is not None
    assert result.report.refusal.reason == "fichier-trop-volumineux"
    assert result.report.refusal.message == ("Le fichier pèse 3 Mo, au-delà de la limite de 1 Mo.")
    assert not (configured.output_dir / "archive").exists()


# --------------------------------------------------------------------------- 1 048 576 rows


def test_a_sheet_stretched_to_the_last_row_by_one_stray_row_is_refused_cheaply(
    tmp_path: Path,
) -> None:
    """Four actions, then one more on row 1 048 576 (Excel's last) in a 5 KB file: its used
    range is ten million cells, far more than its content. calamine would hold them all, so
    the file is refused (naming the sheet and its extent) before any is converted; a sheet
    really filled to that row is read to the end (``test_a_sheet_of_1048576_rows_…``)."""
    actions = minimal_sheets()["Actions"]
    last = list(actions[1])
    last[0] = 100009
    path = write_xlsx(tmp_path / NAME, sheets_with(Actions=[*numbered(actions), (MAX_ROWS, last)]))
    assert path.stat().st_size < 8_000
    report, validated = validate_path(path, limits_of(Settings(output_dir=tmp_path)))
    assert validated is None and report.refusal is not None
    assert report.refusal.reason == "fichier-illisible"
    assert "la feuille « Actions » s'étend jusqu'à la cellule J1048576" in report.refusal.message
    code, outcome, peak = probe(path)
    assert (code, outcome) == (0, "refused:fichier-illisible")
    assert peak < 500, f"{peak} MB to refuse a {path.stat().st_size} bytes workbook"


@pytest.mark.slow
def test_a_sheet_of_1048576_rows_is_read_to_the_end(tmp_path: Path) -> None:
    """Every row of the Actions sheet filled (1 048 575 actions, ~50 MB zipped): the
    delivery is validated to the end, the last row located."""
    actions = minimal_sheets()["Actions"]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        yield 1, actions[0]
        for number in range(2, MAX_ROWS + 1):
            row = list(actions[1 + number % 4])
            row[0] = 200_000 + number
            if number == MAX_ROWS:
                row[3] = "12345678901234"
            yield number, row

    lots = minimal_sheets()["Lots"]
    for lot in lots[1:]:
        lot[4] = 10**8  # enough places for every action (about 7.5 each)
    path = write_xlsx(tmp_path / NAME, sheets_with(Actions=rows(), Lots=numbered(lots)))
    report, validated = validate_path(path, limits_of(Settings(output_dir=tmp_path)))
    assert ("actions", MAX_ROWS, "siret_formateur", "siret-invalide") in [
        (e.sheet, e.row, e.column, e.reason) for e in report.errors
    ]
    assert validated is not None, (report.refusal, report.errors[:3], len(report.errors))


_PROBE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))
from pathlib import Path
from pipelines.errors import ExtractionFileError
from pipelines.extract.extraction import read_extraction
try:
    read_extraction(Path(sys.argv[1]), max_bytes=2**30, max_uncompressed=2**30)
    outcome = "accepted"
except ExtractionFileError as error:
    outcome = "refused:" + error.reason
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, from the (large) test process
status = Path("/proc/self/status").read_text()
peak = int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:"))) // 1024
print(outcome, peak)
"""


def probe(path: Path) -> tuple[int, str, int]:
    """Read ``path`` in a child process limited to 4 GB: (exit code, outcome, peak MB)."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, cwd=ROOT,
        timeout=300, env={**os.environ, "RUST_BACKTRACE": "0"},
    )  # fmt: skip
    words = done.stdout.split()
    return done.returncode, words[0] if words else done.stderr[-300:], int(words[1]) if words else 0


def test_a_cell_at_the_last_row_and_column_is_refused_not_a_crash(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / NAME, sheets_with(Notes=[(MAX_ROWS, [None] * 16_383 + ["x"])]))
    assert path.stat().st_size < 8_000
    code, outcome, _ = probe(path)
    assert code == 0 and outcome.startswith(("refused:", "accepted")), outcome


def test_a_tiny_workbook_with_a_huge_used_range_stays_cheap(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / NAME, sheets_with(Notes=[(200_000, [None] * 199 + ["x"])]))
    assert path.stat().st_size < 8_000
    code, outcome, peak = probe(path)
    assert code == 0, outcome
    assert peak < 500, f"{peak} MB to read a {path.stat().st_size} bytes workbook"


# --------------------------------------------------------------------------- LHEO shapes


def test_a_deeply_nested_lheo_is_refused_at_once(tmp_path: Path) -> None:
    """100 000 nested elements inside a formation: refused as malformed (libxml2's depth
    limit, huge_tree off), without recursion or memory growth."""
    text = LHEO_ENTRY.read_text(encoding="utf-8")
    at = text.index("<intitule-formation>")
    path = tmp_path / LHEO_ENTRY.name
    path.write_text(text[:at] + "<x>" * 100_000 + "</x>" * 100_000 + text[at:], encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ExtractionFileError) as caught:
        read_lheo_entries(path, max_bytes=200 * MB)
    assert time.monotonic() - started < 5
    assert caught.value.reason == "xml-invalide"
    assert caught.value.message.startswith("Le fichier XML est mal formé (ligne ")


@pytest.mark.parametrize("where", ["attribute", "text"])
def test_a_50_mb_attribute_or_text_is_refused(tmp_path: Path, where: str) -> None:
    """A 50 MB attribute (or text node) under the 200 MB file limit: libxml2's limits
    (huge_tree off) refuse the file as malformed, quickly."""
    text = LHEO_ENTRY.read_text(encoding="utf-8")
    filler = "A" * (50 * MB)
    if where == "attribute":
        text = text.replace('<formation numero="', f'<formation big="{filler}" numero="', 1)
    else:
        text = text.replace("<intitule-formation>", "<intitule-formation>" + filler, 1)
    path = tmp_path / LHEO_ENTRY.name
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ExtractionFileError) as caught:
        read_lheo_entries(path, max_bytes=200 * MB)
    assert time.monotonic() - started < 10
    assert caught.value.reason == "xml-invalide"
    assert "A" * 100 not in caught.value.message
