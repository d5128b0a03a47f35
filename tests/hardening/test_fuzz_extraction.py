"""Fuzzing the Région's extraction reader with mutated copies of the real sample.

Each example rewrites one to three cells (wrong types, huge strings, control characters,
formulas, dates out of range, blanks), clears rows, empties a sheet or renames a header of
``data/samples/prf_2025_20250115.xlsx``, then reads and validates it as ``catalogue validate``
does. The oracle is ``tests.hardening.mutate``: a refusal with a reason and a French message,
or a report whose every rejected row is located and explained, with every accepted mutated
cell holding the contract's value and every other row its unmutated value.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.extract.extraction import read_extraction
from pipelines.ingest import Limits, validate_path
from schemas.extraction import SHEETS
from tests.hardening.mutate import (
    EXTRACTION,
    FAST,
    LONG,
    MB,
    apply,
    base_copy,
    check_report,
    check_values,
    layout_of,
    mutations,
    no_panic,
)

LIMITS = Limits(50 * MB, 500 * MB)
FILE_NAME = EXTRACTION.name
COLUMNS = {spec.name: {c.name for c in spec.columns} for spec in SHEETS}


@lru_cache(maxsize=1)
def baseline() -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    """The unmutated copy, its layout and its accepted frames (it validates clean)."""
    base = base_copy(EXTRACTION)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / FILE_NAME
        path.write_bytes(base)
        raw = read_extraction(path, max_bytes=LIMITS.max_bytes,
                              max_uncompressed=LIMITS.max_uncompressed)  # fmt: skip
        report, validated = validate_path(path, LIMITS)
    assert validated is not None and report.errors == []
    return base, layout_of(raw, base), validated.frames


def check_mutated(data: st.DataObject) -> None:
    base, layouts, base_frames = baseline()
    changes = data.draw(mutations(layouts), label="mutations")
    with tempfile.TemporaryDirectory() as folder:
        path = apply(base, layouts, changes, Path(folder) / FILE_NAME)
        report, validated = no_panic(validate_path, path, LIMITS)
        max_row = max(max(layout.rows, default=0) for layout in layouts.values())
        check_report(report, FILE_NAME, COLUMNS, max_row)
        if validated is None:
            assert report.refusal is not None
            return
        check_values(changes, layouts, report, validated.frames, base_frames)


def test_the_unmutated_copy_validates_like_the_sample() -> None:
    _, layouts, frames = baseline()
    assert {name: len(frame) for name, frame in frames.items()} == {
        "programmes": 5, "organismes": 54, "lots": 32, "actions": 181,
    }  # fmt: skip
    assert set(layouts) == set(COLUMNS)


@FAST
@given(data=st.data())
def test_a_mutated_extraction_is_refused_or_reported_never_crashes(data: st.DataObject) -> None:
    check_mutated(data)


@pytest.mark.slow
@LONG
@given(data=st.data())
def test_a_mutated_extraction_long_run(data: st.DataObject) -> None:
    check_mutated(data)
