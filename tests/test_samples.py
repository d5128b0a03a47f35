"""The bundled samples: the clean ones pass whole, the messy one gives exactly its known rejects."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from pipelines.extract.extraction import read_extraction
from pipelines.transform.frame import ValidatedExtraction
from pipelines.transform.validate import validate_extraction

MB = 2**20


def validate(path: Path) -> ValidatedExtraction:
    return validate_extraction(read_extraction(path, max_bytes=200 * MB, max_uncompressed=GB))


GB = 2**30


def test_clean_sample_is_accepted_whole(sample: Callable[[str], Path]) -> None:
    result = validate(sample("prf_2025_20250115.xlsx"))
    assert result.report.errors == []
    counts = result.report.counts
    assert counts["programmes"] == {"accepted": 5, "rejected": 0}
    assert counts["actions"]["accepted"] >= 150
    actions = result.frames["actions"]
    lots = result.frames["lots"]
    programmes = set(lots.set_index("numero_lot").loc[actions["numero_lot"], "code_programme"])
    assert programmes == {"PSS", "PE", "PAS", "PCA", "1E1F"}
    organismes = result.frames["organismes"]
    assert (organismes.loc[organismes["role"] == "mandataire"].groupby("of_cr").size() > 1).any()


def test_messy_sample_gives_exactly_its_known_rejects(sample: Callable[[str], Path]) -> None:
    result = validate(sample("messy/prf_2025_20250210.xlsx"))
    with sample("messy/expected_rejects.csv").open(encoding="utf-8") as fh:
        expected = [
            (r["sheet"], int(r["row"]), r["column"], r["reason"]) for r in csv.DictReader(fh)
        ]
    got = [(e.sheet, e.row, e.column, e.reason) for e in result.report.errors]
    assert sorted(got) == sorted(expected)
    assert len(got) == len(expected) >= 40
    assert result.report.counts["actions"]["accepted"] >= 30
    assert all(e.message and e.file == "prf_2025_20250210.xlsx" for e in result.report.errors)


def test_csv_folder_variant_holds_the_same_frame_as_the_workbook(
    sample: Callable[[str], Path],
) -> None:
    workbook = validate(sample("prf_2025_20250115.xlsx"))
    folder = validate(sample("prf_2025_20250115"))
    assert folder.report.errors == []
    assert folder.info.kind == "csv"
    for sheet, frame in workbook.frames.items():
        left = frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)
        right = folder.frames[sheet].sort_values(list(frame.columns[:2])).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_utf8_comma_csv_variant_is_accepted(sample: Callable[[str], Path]) -> None:
    result = validate(sample("csv-utf8/prf_2025_20250116"))
    assert result.report.errors == []
    assert result.report.counts["actions"]["accepted"] > 0
