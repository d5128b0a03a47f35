"""Building small extraction workbooks and CSV folders for tests (real files, written here)."""

from __future__ import annotations

import copy
import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import python_calamine
import xlsxwriter
from stdnum import luhn


def make_siret(siren8: str, nic4: str = "0001") -> str:
    """A valid SIRET: the SIREN's key, then the SIRET's key, both by Luhn."""
    siren = siren8 + luhn.calc_check_digit(siren8)
    body = siren + nic4
    return body + luhn.calc_check_digit(body)


SIRET_A = make_siret("13000511", "0003")  # mandataire, establishment 1
SIRET_B = make_siret("13000511", "0004")  # mandataire, establishment 2
SIRET_C = make_siret("73282932", "0007")  # formateur
SIRET_ZERO = make_siret("05450012", "0001")  # starts with 0: lost when typed as a number

Rows = list[list[Any]]


def minimal_sheets() -> dict[str, Rows]:
    """A tiny valid extraction of 2025: 3 programmes, 3 lots, 3 organismes, 4 actions."""
    return copy.deepcopy(
        {
            "Programmes": [
                ["code_programme", "libelle_programme", "annee"],
                ["PSS", "PROGRAMME REGION - Prépa sanitaire et social", 2025],
                ["PE", "PASS Entreprendre", 2025],
                ["1E1F", "1 emploi = 1 formation", 2025],
            ],
            "Organismes": [
                ["of_cr", "siret", "raison_sociale", "role", "numero_activite"],
                [3012, SIRET_A, "GRETA-CFA Loire-Atlantique", "mandataire", "52440000144"],
                [3012, SIRET_B, "GRETA-CFA Loire-Atlantique Saint-Nazaire", "mandataire", None],
                [4100, SIRET_C, "Institut de formation de l’Ouest", "formateur", None],
            ],
            "Lots": [
                [
                    "numero_lot",
                    "code_programme",
                    "intitule_lot",
                    "of_mandataire_cr",
                    "nb_places",
                    "forfait_recrutement",
                    "date_debut_prevue",
                    "date_fin_prevue",
                ],
                [
                    "PSS2025_1",
                    "PSS",
                    "Prépa sanitaire – Bassin de Nantes",
                    3012,
                    30,
                    "oui",
                    "01/02/2025",
                    "30/06/2025",
                ],
                [
                    "PE2025_2",
                    "PE",
                    "PASS Entreprendre – Saint-Nazaire",
                    3012,
                    12,
                    "non",
                    None,
                    None,
                ],
                [
                    "1E1F2025_3",
                    "1E1F",
                    "1 emploi = 1 formation – Nantes",
                    3012,
                    8,
                    None,
                    None,
                    None,
                ],
            ],
            "Actions": [
                [
                    "id_action_cr",
                    "numero_lot",
                    "of_mandataire_cr",
                    "siret_formateur",
                    "intitule",
                    "code_postal",
                    "commune",
                    "nb_places",
                    "taux_tva",
                    "montant_ht",
                ],
                [
                    100001,
                    "PSS2025_1",
                    3012,
                    SIRET_A,
                    "Formation aide-soignant – Module préparatoire",
                    "44000",
                    "Nantes",
                    15,
                    20,
                    1500,
                ],
                [
                    100002,
                    "PSS2025_1",
                    3012,
                    SIRET_C,
                    "Formation aide-soignant – Module préparatoire",
                    "44600",
                    "Saint-Nazaire",
                    15,
                    0,
                    None,
                ],
                [
                    100003,
                    "PE2025_2",
                    3012,
                    SIRET_B,
                    "PASS Entreprendre – Création d’entreprise",
                    "44600",
                    "Saint-Nazaire",
                    12,
                    None,
                    None,
                ],
                [
                    100004,
                    "1E1F2025_3",
                    3012,
                    SIRET_B,
                    "Agent de propreté et d’hygiène",
                    "44000",
                    "Nantes",
                    8,
                    5.5,
                    2400,
                ],
            ],
        }
    )


def write_workbook(
    path: Path,
    sheets: dict[str, Rows],
    *,
    date1904: bool = False,
    title_rows: int = 0,
    formulas: dict[tuple[str, int, int], tuple[str, Any]] | None = None,
    merges: dict[str, list[tuple[int, int, int, int, Any]]] | None = None,
) -> Path:
    """Write sheets (header first) to an .xlsx, with optional title rows, formulas and merges.

    Args:
        path: the workbook to write.
        sheets: sheet name -> rows (the first row is the header).
        date1904: use Excel's 1904 date system.
        title_rows: a merged title row plus blank rows above every header.
        formulas: (sheet, data row index from 0 counting the header, column) -> (formula, cached value).
        merges: sheet -> (first_row, first_col, last_row, last_col, value) merged ranges, rows
            counted like ``formulas``.
    """
    book = xlsxwriter.Workbook(str(path), {"date_1904": date1904, "strings_to_numbers": False})
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        if title_rows:
            sheet.merge_range(0, 0, 0, 3, f"Extraction PRF — {name}")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if hasattr(value, "year"):
                    sheet.write_datetime(r + title_rows, c, value, date_format)
                else:
                    sheet.write(r + title_rows, c, value)
        for (sheet_name, r, c), (formula, cached) in (formulas or {}).items():
            if sheet_name == name:
                sheet.write_formula(r + title_rows, c, formula, None, cached)
        for first_row, first_col, last_row, last_col, value in (merges or {}).get(name, []):
            sheet.merge_range(
                first_row + title_rows, first_col, last_row + title_rows, last_col, value
            )
    book.close()
    return path


def write_csv_folder(
    folder: Path, sheets: dict[str, Rows], *, encoding: str = "utf-8-sig", separator: str = ";"
) -> Path:
    """Write sheets as ``<folder>/<sheet>.csv`` files (names lower-cased)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in sheets.items():
        with (folder / f"{name.lower()}.csv").open("w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh, delimiter=separator)
            for row in rows:
                writer.writerow(["" if v is None else v for v in row])
    return folder


def copy_workbook(
    source: Path, target: Path, *, keep: dict[str, Callable[[int, list[Any]], bool]] | None = None
) -> Path:
    """Rewrite a real workbook's cells (as calamine reads them) into a new one.

    Args:
        source: the workbook to copy.
        target: the new workbook.
        keep: sheet name -> predicate ``(excel_row, cells) -> bool`` choosing the rows kept.
    """
    workbook = python_calamine.CalamineWorkbook.from_path(str(source))
    sheets: dict[str, Rows] = {}
    for name in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        choose = (keep or {}).get(name)
        sheets[name] = [
            [None if cell == "" else cell for cell in row]
            for number, row in enumerate(rows, start=1)
            if choose is None or choose(number, row)
        ]
    workbook.close()
    return write_workbook(target, sheets)
