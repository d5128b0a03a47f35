"""Writing the generated workbooks row by row (xlsxwriter ``constant_memory``).

Each sheet's rows are written in order and flushed as soon as the next row starts, so a
workbook of 500 000 rows never sits in memory; the sheets of one workbook are filled side by
side (a lot row, then its action rows). Workbook properties are fixed, including the creation
time, so the same rows give the same bytes.

* the Région's extraction: sheets Programmes, Organismes, Lots, Actions, headed by the labels
  the Région uses (the first alias of each column of ``schemas.extraction``);
* an organisation's entry workbook: the « Notes » sheet of the template, then Formations,
  Actions, Sessions and Informations collectives headed as the template heads them
  (``pipelines.load.template.header_label``, « * » on mandatory columns).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from benchmarks.entries import describe_action
from benchmarks.lots import build_lot
from benchmarks.plan import YearPlan
from benchmarks.reference import programmes
from pipelines.load.template import header_label
from pipelines.load.template_fields import MONEY, NUM_FORMATS
from pipelines.load.template_notes import notes_lines
from schemas.entries import ENTRY_SHEETS
from schemas.extraction import SHEETS as EXTRACTION_SHEETS
from schemas.sheets import Sheet

_OPTIONS = {
    "constant_memory": True,
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}
_TEXT_KINDS = frozenset({"text", "key", "postal", "siret", "enum", "codes", "list"})


def _workbook(path: Path, title: str, created: dt.datetime) -> Workbook:
    workbook = xlsxwriter.Workbook(str(path), _OPTIONS)
    workbook.set_properties(
        {
            "title": title,
            "author": "catalogue-pdl (benchmarks.generate)",
            "company": "Carif-Oref Pays de la Loire",
            "comments": "Données inventées pour les bancs d'essai ; communes et codes réels.",
            "created": created,
        }
    )
    return workbook


class SheetWriter:
    """Appends rows to one sheet, each cell written by its column's kind.

    Texts (SIRETs and postal codes included) are written as text, numbers as numbers, dates
    and times with their format, booleans as « oui » / « non ».
    """

    def __init__(
        self,
        workbook: Workbook,
        spec: Sheet,
        headers: Sequence[str],
        header_format: Format,
        formats: Mapping[str, Format],
        money: Format | None = None,
    ) -> None:
        self.sheet: Worksheet = workbook.add_worksheet(spec.title)
        self.rows = 0
        self._columns = []
        for index, (column, header) in enumerate(zip(spec.columns, headers, strict=True)):
            cell_format = money if money is not None and column.name in MONEY else None
            cell_format = cell_format or formats.get(column.kind)
            self._columns.append((index, column.name, column.kind, cell_format))
            self.sheet.set_column(index, index, min(max(len(header) + 2, 10), 40))
            self.sheet.write_string(0, index, header, header_format)
        self.sheet.freeze_panes(1, 0)

    def append(self, row: Mapping[str, Any]) -> None:
        """Write ``row`` (canonical column -> value; None or "" leaves the cell blank)."""
        self.rows += 1
        number, sheet = self.rows, self.sheet
        for index, name, kind, cell_format in self._columns:
            value = row.get(name)
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                sheet.write_string(number, index, "oui" if value else "non", cell_format)
            elif kind in _TEXT_KINDS or isinstance(value, str):
                sheet.write_string(number, index, str(value), cell_format)
            elif isinstance(value, (dt.date, dt.time)):
                sheet.write_datetime(number, index, value, cell_format)
            else:
                sheet.write_number(number, index, value, cell_format)


def _formats(workbook: Workbook) -> dict[str, Format]:
    return {kind: workbook.add_format({"num_format": f}) for kind, f in NUM_FORMATS.items()}


def _header_format(workbook: Workbook) -> Format:
    return workbook.add_format(
        {"bold": True, "text_wrap": True, "valign": "top", "border": 1, "bg_color": "#DDEBF7"}
    )


@dataclass
class ExtractionCounts:
    """Rows of each sheet of an extraction."""

    programmes: int = 0
    organismes: int = 0
    lots: int = 0
    actions: int = 0


def write_extraction(path: Path, plan: YearPlan, *, created: dt.datetime) -> ExtractionCounts:
    """Write the Région's extraction of a year, row by row.

    Args:
        path: the ``prf_<year>_<yyyymmdd>.xlsx`` to write.
        plan: the year's lots and organisations.
        created: the workbook's creation time (fixed: the bytes do not depend on the clock).

    Returns:
        How many rows each sheet got.
    """
    workbook = _workbook(
        path, f"Extraction du programme régional de formation {plan.year}", created
    )
    formats, header = _formats(workbook), _header_format(workbook)
    sheets = {
        spec.name: SheetWriter(
            workbook,
            spec,
            [c.aliases[0] if c.aliases else c.name for c in spec.columns],
            header,
            formats,
        )
        for spec in EXTRACTION_SHEETS
    }
    for ref in programmes().values():
        sheets["programmes"].append(
            {
                "code_programme": ref.code,
                "libelle_programme": ref.libelle,
                "annee": plan.year,
                "code_dispositif": ref.dispositif,
            }
        )
    for organisation in plan.organisations():
        for number, site in enumerate(organisation.etablissements):
            sheets["organismes"].append(
                {
                    "of_cr": organisation.of_cr,
                    "siret": site.siret,
                    "raison_sociale": organisation.raison_sociale,
                    "role": organisation.role_label or organisation.role,
                    "numero_activite": organisation.numero_activite if number == 0 else None,
                    "adresse": site.adresse,
                    "code_postal": site.commune.code_postal,
                    "commune": site.commune.name,
                    "email": site.email,
                    "telephone": site.telephone,
                }
            )
    for lot_plan in plan.lots:
        lot = build_lot(plan, lot_plan)
        sheets["lots"].append(
            {
                "numero_lot": lot.numero_lot,
                "code_programme": lot.code_programme,
                "intitule_lot": lot.intitule_lot,
                "of_mandataire_cr": lot.mandataire.of_cr,
                "territoire": lot.territoire,
                "formacodes": ";".join(lot.formacodes),
                "forfait_recrutement": lot_plan.forfait,
                "nb_places": lot.nb_places,
                "date_debut_prevue": lot.date_debut_prevue,
                "date_fin_prevue": lot.date_fin_prevue,
            }
        )
        for action in lot.actions:
            sheets["actions"].append(
                {
                    "id_action_cr": action.id_action_cr,
                    "numero_lot": action.numero_lot,
                    "of_mandataire_cr": action.of_mandataire_cr,
                    "siret_formateur": action.site.siret,
                    "intitule": action.intitule,
                    "code_postal": action.site.commune.code_postal,
                    "commune": action.site.commune.name,
                    "nb_places": action.nb_places,
                    "duree_centre_h": action.duree_centre_h,
                    "duree_entreprise_h": action.duree_entreprise_h,
                    "date_debut_prevue": None if action.undated else action.date_debut_prevue,
                    "date_fin_prevue": None if action.undated else action.date_fin_prevue,
                    "montant_ht": action.montant_ht,
                    "taux_tva": action.taux_tva,
                }
            )
    workbook.close()
    return ExtractionCounts(
        sheets["programmes"].rows,
        sheets["organismes"].rows,
        sheets["lots"].rows,
        sheets["actions"].rows,
    )


@dataclass
class EntryCounts:
    """Rows of each sheet of an entry workbook, and the actions left incomplete."""

    formations: int = 0
    actions: int = 0
    sessions: int = 0
    informations_collectives: int = 0
    incomplete: int = 0

    def add(self, other: EntryCounts) -> None:
        """Add ``other``'s counts to these."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def entry_lots(plan: YearPlan, mandataire: int) -> Iterable[Any]:
    """The lots of a mandataire, rebuilt from the plan one at a time."""
    for position in plan.by_mandataire[mandataire]:
        yield build_lot(plan, plan.lots[position])


def write_entry_workbook(
    path: Path,
    plan: YearPlan,
    mandataire: int,
    *,
    created: dt.datetime,
    incomplete_share: float,
) -> EntryCounts:
    """Write a mandataire's entry workbook: every action of its lots, whatever the site.

    Args:
        path: the ``saisie_<siret>_<yyyymmdd>.xlsx`` to write.
        plan: the year's lots.
        mandataire: the pool index of the mandataire.
        created: the workbook's creation time.
        incomplete_share: share of the actions left incomplete on purpose.
    """
    organisation = plan.pool.organisation(mandataire)
    n_actions = sum(plan.lots[i].n_actions for i in plan.by_mandataire[mandataire])
    workbook = _workbook(path, "Saisie de l'offre de formation – programmes de la Région", created)
    _write_notes(workbook, organisation.raison_sociale, organisation.siret, n_actions)
    formats, header = _formats(workbook), _header_format(workbook)
    money = workbook.add_format({"num_format": "#,##0.00"})
    sheets = {
        spec.name: SheetWriter(
            workbook,
            spec,
            [header_label(spec.name, c) for c in spec.columns],
            header,
            formats,
            money,
        )
        for spec in ENTRY_SHEETS
    }
    counts = EntryCounts()
    written: set[tuple[str, str]] = set()
    for lot in entry_lots(plan, mandataire):
        for action in lot.actions:
            described = describe_action(plan, lot, action, incomplete_share)
            if described.formation_key not in written:
                written.add(described.formation_key)
                sheets["formations"].append(described.formation)
            sheets["actions"].append(described.action)
            for session in described.sessions:
                sheets["sessions"].append(session)
            for ic in described.informations_collectives:
                sheets["informations_collectives"].append(ic)
            counts.incomplete += described.incomplete is not None
    workbook.close()
    counts.formations = sheets["formations"].rows
    counts.actions = sheets["actions"].rows
    counts.sessions = sheets["sessions"].rows
    counts.informations_collectives = sheets["informations_collectives"].rows
    return counts


def _write_notes(workbook: Workbook, raison_sociale: str, siret: str, n_actions: int) -> None:
    """The template's « Notes » sheet, naming the organisation."""
    sheet = workbook.add_worksheet("Notes")
    sheet.set_column(0, 0, 120)
    styles = {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "heading": workbook.add_format({"bold": True, "font_size": 12, "font_color": "#1F4E79"}),
    }
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    row = 0
    organisme = {"raison_sociale": raison_sociale, "siret": siret}
    for style, text in notes_lines(organisme, n_actions):
        if style == "heading":
            row += 1
        line = f"• {text}" if style == "bullet" else text
        sheet.write_string(row, 0, line, styles.get(style, wrap))
        row += 1
