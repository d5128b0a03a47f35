"""The cheap screen in front of pandera (``validate._passes``) says « nothing to report » only
when the lazy validation finds nothing: on the bundled samples and on one defect at a time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from pipelines.extract.entries import describe_entry, read_entry_workbook
from pipelines.extract.extraction import read_extraction
from pipelines.transform.parse import parse_sheet
from pipelines.transform.validate import _passes
from schemas.entries import ENTRY_MODELS, ENTRY_SHEETS
from schemas.extraction import MODELS, SHEETS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
MB = 2**20
SIRET = "80251693000137"


def _pandera_passes(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> bool:
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors:
        return False
    return True


def _sample_frames() -> list[tuple[str, type[pa.DataFrameModel], pd.DataFrame]]:
    frames = []
    for path in (SAMPLES / "prf_2025_20250115.xlsx", SAMPLES / "messy" / "prf_2025_20250210.xlsx"):
        raw = read_extraction(path, max_bytes=50 * MB, max_uncompressed=500 * MB)
        for spec in SHEETS:
            frame, _ = parse_sheet(raw.sheets[spec.name])
            frames.append((f"{path.name}/{spec.name}", MODELS[spec.name], frame))
    for path in sorted((SAMPLES / "saisies").glob("saisie_*.xlsx")):
        raw = read_entry_workbook(describe_entry(path, 50 * MB), 500 * MB)
        for spec in ENTRY_SHEETS:
            frame, _ = parse_sheet(raw.sheets[spec.name])
            frames.append((f"{path.name}/{spec.name}", ENTRY_MODELS[spec.name], frame))
    return [f for f in frames if not f[2].empty]


def test_the_screen_agrees_with_pandera_on_every_sample_sheet() -> None:
    frames = _sample_frames()
    verdicts = {name: (_passes(m, f), _pandera_passes(m, f)) for name, m, f in frames}
    assert all(screen == full for screen, full in verdicts.values()), verdicts
    # the samples hold defects: both outcomes are exercised
    assert {full for _, full in verdicts.values()} == {True, False}


def _actions(**changes: object) -> pd.DataFrame:
    """Two clean actions; ``changes`` give the second one's defective cells."""
    columns: dict[str, list[object]] = {
        "siret": [SIRET, SIRET],
        "ref_action": ["A1", "A2"],
        "ref_formation": ["F1", "F1"],
        "id_action_cr": [1, 2],
        "nb_places_dispositif": [12, None],
        "nb_places_restantes": [None, 3],
    }
    for column, value in changes.items():
        columns[column][1] = value
    ints = ("id_action_cr", "nb_places_dispositif", "nb_places_restantes")
    return pd.DataFrame(
        {c: pd.Series(v, dtype="Int64" if c in ints else object) for c, v in columns.items()}
    ).set_axis(pd.Index([2, 3], name="row"))


@pytest.mark.parametrize(
    "changes",
    [
        {"siret": None},  # not nullable
        {"siret": "12345678901234"},  # siret-invalide
        {"ref_action": "A1"},  # cle-dupliquee
        {"ref_action": "x" * 129},  # str_length
        {"ref_action": 7},  # not a text
        {"id_action_cr": 0},  # ge 1
        {"nb_places_restantes": -1},  # ge 0
    ],
)
def test_one_defect_fails_the_screen_as_it_fails_pandera(changes: dict[str, object]) -> None:
    frame = _actions(**changes)
    assert not _pandera_passes(ENTRY_MODELS["actions"], frame)
    assert not _passes(ENTRY_MODELS["actions"], frame)


def test_a_clean_frame_passes_both() -> None:
    frame = _actions()
    assert _pandera_passes(ENTRY_MODELS["actions"], frame)
    assert _passes(ENTRY_MODELS["actions"], frame)
