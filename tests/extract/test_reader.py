"""Reading workbooks and CSV folders as they arrive: layout, names, encodings, refusals."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.errors import ExtractionFileError
from pipelines.extract.extraction import describe, read_extraction
from pipelines.extract.sheets import locate
from pipelines.extract.workbook import RawSheet
from schemas.entries import FORMATIONS
from tests.workbooks import SIRET_A, SIRET_ZERO, minimal_sheets, write_csv_folder, write_workbook

MB = 2**20


def read(path: Path, *, max_bytes: int = 50 * MB, max_uncompressed: int = 500 * MB):  # noqa: ANN201
    return read_extraction(path, max_bytes=max_bytes, max_uncompressed=max_uncompressed)


def refusal(path: Path, **limits: int) -> ExtractionFileError:
    with pytest.raises(ExtractionFileError) as caught:
        read(path, **limits)
    return caught.value


def test_title_rows_blank_rows_and_columns_keep_excel_row_numbers(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    actions = sheets["Actions"]
    actions.insert(2, [None] * len(actions[0]))  # a blank row inside the data
    for row in actions:
        row.insert(3, None)  # a blank column
    path = write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets, title_rows=2)
    raw = read(path)
    located = raw.sheets["actions"]
    assert located.header_row == 3
    # header on row 3, first action row 4, blank row 5 skipped, then rows 6 to 8
    assert located.raw.index.tolist() == [4, 6, 7, 8]
    assert located.raw.loc[6, "id_action_cr"] == 100002.0


def test_renamed_sheets_aliases_and_extra_columns(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Lots 2025"] = sheets.pop("Lots")
    sheets["Actions PRF"] = sheets.pop("Actions")
    sheets["Notes"] = [["Commentaire"], ["ignorée"]]
    sheets["Actions PRF"][0] = [
        "ID Action CR",
        " Numéro lot CR ",
        "OF MANDATAIRE CR",
        "SIRET site de réalisation",
        "Intitulé action",
        "Code postal",
        "Commune lieu",
        "Nb places dispositif",
        "Taux TVA",
        "Frais HT",
    ]
    sheets["Organismes"][0].append("Remarque interne")
    for row in sheets["Organismes"][1:]:
        row.append("x")
    raw = read(write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets))
    assert raw.sheets["lots"].name == "Lots 2025"
    assert set(raw.sheets["actions"].raw.columns) >= {"numero_lot", "siret_formateur", "commune"}
    assert raw.sheets["actions"].headers["numero_lot"] == "Numéro lot CR"
    assert raw.sheets["organismes"].ignored_columns == ["Remarque interne"]
    assert any("Lots 2025" in w for w in raw.warnings)
    assert any("Remarque interne" in w for w in raw.warnings)


def test_merged_cells_and_formulas_give_values(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    # PSS2025_1 merged over the first two action rows; nb_places of lot 1 as a formula
    sheets["Actions"][2][1] = None
    path = write_workbook(
        tmp_path / "prf_2025_20250115.xlsx",
        sheets,
        merges={"Actions": [(1, 1, 2, 1, "PSS2025_1")]},
        formulas={("Lots", 1, 4): ("=10*3", 30)},
    )
    raw = read(path)
    assert raw.sheets["actions"].raw["numero_lot"].tolist()[:2] == ["PSS2025_1", "PSS2025_1"]
    assert raw.sheets["lots"].raw.iloc[0]["nb_places"] == 30


def test_date_system_1904_is_read_from_the_workbook(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Lots"][1][6] = dt.datetime(2025, 2, 1)
    raw = read(write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets, date1904=True))
    assert raw.sheets["lots"].date1904 is True
    assert raw.sheets["lots"].raw.iloc[0]["date_debut_prevue"] == dt.date(2025, 2, 1)


@pytest.mark.parametrize(
    ("encoding", "separator"), [("cp1252", ";"), ("utf-8-sig", ","), ("utf-8", ";")]
)
def test_csv_folder_encoding_and_separator_are_sniffed(
    tmp_path: Path, encoding: str, separator: str
) -> None:
    sheets = minimal_sheets()
    sheets["Organismes"][3][2] = "Institut de formation de l'Ouest, Angers"  # a quoted comma
    folder = write_csv_folder(
        tmp_path / "prf_2025_20250115", sheets, encoding=encoding, separator=separator
    )
    info = describe(folder, 50 * MB)
    assert (info.kind, info.name_year, info.delivery_date) == ("csv", 2025, dt.date(2025, 1, 15))
    raw = read(folder)
    organismes = raw.sheets["organismes"].raw
    assert organismes.loc[4, "raison_sociale"] == "Institut de formation de l'Ouest, Angers"
    assert raw.sheets["lots"].raw.loc[2, "intitule_lot"] == "Prépa sanitaire – Bassin de Nantes"


def test_sha256_of_a_folder_ignores_file_order_and_unrelated_files(tmp_path: Path) -> None:
    one = write_csv_folder(tmp_path / "a" / "prf_2025_20250115", minimal_sheets())
    two = write_csv_folder(tmp_path / "b" / "prf_2025_20250115", minimal_sheets())
    (two / "notes.txt").write_text("rien")
    assert describe(one, MB).sha256 == describe(two, MB).sha256


# --- file-level refusals: one test each --------------------------------------------------


def test_missing_sheet_refuses(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    del sheets["Organismes"]
    error = refusal(write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets))
    assert (error.reason, error.sheet) == ("feuille-manquante", "Organismes")
    assert "Organismes" in error.message


def test_two_sheets_matching_refuse(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Lots 2024"] = sheets["Lots"]
    sheets["Lots 2025"] = sheets.pop("Lots")
    error = refusal(write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets))
    assert error.reason == "feuille-ambigue"


def test_missing_required_column_refuses(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    for row in sheets["Actions"]:
        del row[3]  # siret_formateur
    error = refusal(write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets))
    assert (error.reason, error.sheet, error.column) == (
        "colonne-manquante",
        "Actions",
        "siret_formateur",
    )


def test_empty_sheet_refuses(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Lots"] = []
    error = refusal(write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets))
    assert (error.reason, error.sheet) == ("feuille-vide", "Lots")


def test_unreadable_file_refuses(tmp_path: Path) -> None:
    path = tmp_path / "prf_2025_20250115.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert refusal(path).reason == "fichier-illisible"


def test_old_xls_is_not_supported(tmp_path: Path) -> None:
    path = tmp_path / "prf_2025_20250115.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    assert refusal(path).reason == "format-non-pris-en-charge"


def test_file_above_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "prf_2025_20250115.xlsx", minimal_sheets())
    assert refusal(path, max_bytes=100).reason == "fichier-trop-volumineux"


def test_zip_expanding_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "prf_2025_20250115.xlsx", minimal_sheets())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/bomb.bin", b"\0" * (3 * MB))  # compresses to a few KB
    assert path.stat().st_size < MB
    error = refusal(path, max_uncompressed=2 * MB)
    assert error.reason == "fichier-trop-volumineux"


def test_siret_typed_as_number_is_read_as_number(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Organismes"][1][1] = int(SIRET_ZERO)  # 5450012900017: the zero is gone
    raw = read(write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets))
    assert raw.sheets["organismes"].raw.iloc[0]["siret"] == float(SIRET_ZERO)
    assert SIRET_A  # the other SIRETs stay text


def test_an_exact_sheet_name_and_a_prefixed_one_still_refuse(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Actions supprimées"] = sheets["Actions"]
    error = refusal(write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets))
    assert (error.reason, error.sheet) == ("feuille-ambigue", "Actions")
    assert "Actions supprimées" in error.message


def test_two_headers_for_one_column_refuse(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Actions"][0].append("Commune lieu")  # beside « commune »
    for row in sheets["Actions"][1:]:
        row.append("Nantes")
    error = refusal(write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets))
    assert (error.reason, error.sheet, error.column) == ("colonne-ambigue", "Actions", "commune")
    assert "Commune lieu" in error.message


@pytest.mark.parametrize("sheet", ["Programmes", "Organismes", "Lots", "Actions"])
def test_a_sheet_with_a_header_but_no_row_refuses(tmp_path: Path, sheet: str) -> None:
    sheets = minimal_sheets()
    sheets[sheet] = sheets[sheet][:1] + [[None] * len(sheets[sheet][0])] * 2
    error = refusal(write_workbook(tmp_path / "prf_2025_20250115.xlsx", sheets))
    assert (error.reason, error.sheet) == ("feuille-vide", sheet)


def test_located_cells_keep_their_python_types() -> None:
    """A column mixing ints, floats, booleans, texts and dates keeps each cell as read (no
    numeric or boolean coercion), blank texts and short rows give None."""
    spec = FORMATIONS
    names = [c.name for c in spec.columns]
    mixed = [1, 2.5, True, "x", dt.date(2025, 3, 1), "  ", dt.datetime(2025, 3, 1, 8, 30)]
    rows: list[list[Any]] = [names] + [[v] * len(names) for v in mixed] + [[], ["siret"]]
    located = locate(RawSheet("Formations", rows), spec, "f.xlsx")
    assert located.raw.index.tolist() == [2, 3, 4, 5, 6, 8, 10]  # row 7 (blank) and 9 dropped
    for name in names:
        cells = located.raw[name].tolist()
        expected = [1, 2.5, True, "x", dt.date(2025, 3, 1), dt.datetime(2025, 3, 1, 8, 30)]
        expected.append("siret" if name == names[0] else None)
        assert [(type(v), v) for v in cells] == [(type(v), v) for v in expected], name
    assert all(map(pd.api.types.is_object_dtype, located.raw.dtypes))
