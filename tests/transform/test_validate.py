"""Validation rules on small real workbooks: exact (sheet, row, column, reason) tuples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.errors import ExtractionFileError
from pipelines.extract.extraction import read_extraction
from pipelines.transform.frame import ValidatedExtraction
from pipelines.transform.validate import validate_extraction
from tests.workbooks import SIRET_A, SIRET_C, make_siret, minimal_sheets, write_workbook

MB = 2**20
# Excel rows of the minimal workbook (header on row 1)
LOT_PSS, LOT_PE = 2, 3
ACTION_1, ACTION_2, ACTION_3 = 2, 3, 4


def validate(
    tmp_path: Path, sheets: dict[str, Any], name: str = "prf_2025_20250115.xlsx"
) -> ValidatedExtraction:
    path = write_workbook(tmp_path / name, sheets)
    return validate_extraction(read_extraction(path, max_bytes=50 * MB, max_uncompressed=500 * MB))


def tuples(result: ValidatedExtraction) -> list[tuple[str, int, str | None, str]]:
    return [(e.sheet, e.row, e.column, e.reason) for e in result.report.errors]


def refused(
    tmp_path: Path, sheets: dict[str, Any], name: str = "prf_2025_20250115.xlsx"
) -> ExtractionFileError:
    with pytest.raises(ExtractionFileError) as caught:
        validate(tmp_path, sheets, name)
    return caught.value


def test_a_clean_file_is_accepted_whole(tmp_path: Path) -> None:
    result = validate(tmp_path, minimal_sheets())
    assert tuples(result) == []
    assert result.year == 2025
    assert result.report.counts == {
        "programmes": {"accepted": 3, "rejected": 0},
        "organismes": {"accepted": 3, "rejected": 0},
        "lots": {"accepted": 3, "rejected": 0},
        "actions": {"accepted": 4, "rejected": 0},
    }
    actions = result.frames["actions"]
    assert actions.loc[ACTION_1, "siret_formateur"] == SIRET_A
    assert actions.loc[ACTION_1, "taux_tva"] == 20
    assert str(actions["nb_places"].dtype) == "Int64"
    assert result.frames["lots"].loc[LOT_PSS, "forfait_recrutement"]


def test_row_level_problems_reject_only_their_rows(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Actions"][ACTION_2 - 1][7] = "douze"  # nb_places
    sheets["Actions"][ACTION_3 - 1][8] = 7  # taux_tva
    result = validate(tmp_path, sheets)
    assert tuples(result) == [
        ("actions", ACTION_2, "nb_places", "type-invalide"),
        ("actions", ACTION_3, "taux_tva", "valeur-non-autorisee"),
    ]
    assert result.frames["actions"].index.tolist() == [ACTION_1, 5]
    assert result.rejected_keys["actions"] == {100002, 100003}
    message = result.report.errors[0].message
    assert "« douze »" in message and "nb_places" in message


def test_lowercase_lot_number_matches_its_actions(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Lots"][LOT_PSS - 1][0] = " pss2025_1 "
    sheets["Actions"][ACTION_1 - 1][1] = "Pss2025_1"
    result = validate(tmp_path, sheets)
    assert tuples(result) == []
    assert result.frames["lots"].loc[LOT_PSS, "numero_lot"] == "PSS2025_1"


def test_rejected_lot_takes_its_actions_with_their_own_reason(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Lots"][LOT_PSS - 1][4] = -5  # nb_places
    result = validate(tmp_path, sheets)
    assert tuples(result) == [
        ("lots", LOT_PSS, "nb_places", "valeur-negative"),
        ("actions", ACTION_1, "numero_lot", "lot-rejete"),
        ("actions", ACTION_2, "numero_lot", "lot-rejete"),
    ]
    assert result.rejected_keys["lots"] == {"PSS2025_1"}


def test_cross_sheet_references(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Lots"][LOT_PE - 1][1] = "XYZ"  # unknown programme
    sheets["Actions"][ACTION_1 - 1][2] = 4100  # not the lot's mandataire
    sheets["Actions"][ACTION_2 - 1][3] = make_siret("44123456", "0012")  # unknown formateur
    result = validate(tmp_path, sheets)
    assert tuples(result) == [
        ("lots", LOT_PE, "code_programme", "programme-inconnu"),
        ("actions", ACTION_1, "of_mandataire_cr", "mandataire-different"),
        ("actions", ACTION_2, "siret_formateur", "formateur-inconnu"),
        ("actions", ACTION_3, "numero_lot", "lot-rejete"),
    ]


def test_mandataire_must_be_a_mandataire_and_formateur_rows_accepted(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Lots"][LOT_PE - 1][3] = 4100  # a formateur, not a mandataire
    sheets["Organismes"][3][3] = "chef de file"  # SIRET_C's only row is rejected
    result = validate(tmp_path, sheets)
    assert tuples(result) == [
        ("organismes", 4, "role", "valeur-non-autorisee"),
        ("lots", LOT_PE, "of_mandataire_cr", "mandataire-inconnu"),
        ("actions", ACTION_2, "siret_formateur", "formateur-rejete"),
        ("actions", ACTION_3, "numero_lot", "lot-rejete"),
    ]


def test_places_per_lot_reject_every_action_of_the_lot(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Lots"][LOT_PSS - 1][4] = 20  # 15 + 15 asked
    result = validate(tmp_path, sheets)
    assert tuples(result) == [
        ("actions", ACTION_1, "nb_places", "places-lot-depassees"),
        ("actions", ACTION_2, "nb_places", "places-lot-depassees"),
    ]
    assert "30 places pour 20" in result.report.errors[0].message
    assert result.frames["lots"].index.tolist() == [LOT_PSS, LOT_PE, 4]  # the lot stays


def test_duplicates_reject_every_occurrence(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Actions"][ACTION_3 - 1][0] = 100001
    sheets["Organismes"].append(list(sheets["Organismes"][3]))
    result = validate(tmp_path, sheets)
    assert tuples(result) == [
        ("organismes", 4, "siret", "cle-dupliquee"),
        ("organismes", 5, "siret", "cle-dupliquee"),
        ("actions", ACTION_1, "id_action_cr", "cle-dupliquee"),
        ("actions", ACTION_2, "siret_formateur", "formateur-rejete"),
        ("actions", ACTION_3, "id_action_cr", "cle-dupliquee"),
    ]


def test_lot_of_another_year_and_dates(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Lots"][LOT_PE - 1][0] = "PE2024_2"
    sheets["Actions"][ACTION_3 - 1][1] = "PE2024_2"
    sheets["Lots"][LOT_PSS - 1][7] = "15/01/2025"  # ends before it starts
    result = validate(tmp_path, sheets)
    assert tuples(result) == [
        ("lots", LOT_PSS, "date_fin_prevue", "date-fin-avant-debut"),
        ("lots", LOT_PE, "numero_lot", "annee-lot"),
        ("actions", ACTION_1, "numero_lot", "lot-rejete"),
        ("actions", ACTION_2, "numero_lot", "lot-rejete"),
        ("actions", ACTION_3, "numero_lot", "lot-rejete"),
    ]


def test_siret_key_and_scientific_notation(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Actions"][ACTION_1 - 1][3] = SIRET_A[:-1] + str((int(SIRET_A[-1]) + 1) % 10)
    sheets["Actions"][ACTION_2 - 1][3] = "7.32829E+13"
    result = validate(tmp_path, sheets)
    assert tuples(result) == [
        ("actions", ACTION_1, "siret_formateur", "siret-invalide"),
        ("actions", ACTION_2, "siret_formateur", "siret-notation-scientifique"),
    ]
    assert SIRET_C


def test_la_poste_siret_uses_its_own_rule(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    sheets["Organismes"][3][1] = "35600000049837"  # La Poste: digit sum multiple of 5
    sheets["Actions"][ACTION_2 - 1][3] = "35600000049837"
    assert tuples(validate(tmp_path, sheets)) == []


# --- file-level refusals -------------------------------------------------------------------


def test_year_of_name_and_programmes_must_agree(tmp_path: Path) -> None:
    error = refused(tmp_path, minimal_sheets(), "prf_2024_20240115.xlsx")
    assert (error.reason, error.file) == ("annee-incoherente", "prf_2024_20240115.xlsx")
    assert "2024" in error.message and "2025" in error.message


def test_year_comes_from_programmes_when_the_name_has_none(tmp_path: Path) -> None:
    assert validate(tmp_path, minimal_sheets(), "extraction region.xlsx").year == 2025
    sheets = minimal_sheets()
    sheets["Programmes"][2][2] = 2024
    assert refused(tmp_path, sheets, "extraction.xlsx").reason == "annee-introuvable"


def test_no_accepted_action_refuses_the_delivery_with_the_reasons(tmp_path: Path) -> None:
    sheets = minimal_sheets()
    for row in sheets["Actions"][1:]:
        row[5] = None  # code_postal
    error = refused(tmp_path, sheets)
    assert error.reason == "aucune-action"
    report = error.report
    assert [(e.row, e.reason) for e in report.errors] == [
        (2, "valeur-manquante"),
        (3, "valeur-manquante"),
        (4, "valeur-manquante"),
        (5, "valeur-manquante"),
    ]
