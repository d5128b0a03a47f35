"""Writing the organisations' entry workbook (``catalogue template``), empty or pre-filled.

The workbook has the four entry sheets of ``schemas.entries`` (« Formations », « Actions »,
« Sessions », « Informations collectives »), one header row each naming every column by its
first French alias (the label people know from SOFI, « * » when mandatory, a help comment),
drop-down lists of allowed values (``schemas.lists``, kept in a hidden « Listes » sheet), date
and number formats, and a « Notes » sheet explaining how to fill it. The headers are read back
by the same reader as any entry workbook (``locate_sheets(..., ENTRY_SHEETS)``).

Usage::

    with open_session(engine) as db:
        actions = frame_actions_for(db, siret)
        organisme = organisme_for(db, siret)
    write_template(Path(f"saisie_{siret}_{today:%Y%m%d}.xlsx"), actions=actions,
                   organisme=organisme)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from pipelines.load.safe_xlsx import write_text
from pipelines.load.template_fields import (
    HELP,
    LONG_TEXT,
    MONEY,
    NUM_FORMATS,
    WIDTHS,
    is_mandatory,
)
from pipelines.load.template_frame import (
    frame_actions_for,
    organisme_for,
    suggested_refs,
    template_rows,
)
from pipelines.load.template_notes import notes_lines
from schemas.entries import ENTRY_SHEETS
from schemas.lists import COLUMN_LISTS, VALUE_LISTS, ValueList
from schemas.sheets import Column, Sheet

__all__ = [
    "LISTS_SHEET",
    "NOTES_SHEET",
    "frame_actions_for",
    "header_label",
    "organisme_for",
    "suggested_refs",
    "template_rows",
    "write_entries",
    "write_template",
]

logger = logging.getLogger(__name__)

NOTES_SHEET = "Notes"
LISTS_SHEET = "Listes"
#: Data rows covered by the validations and formats below the header (at least).
MIN_ROWS = 1000


def header_label(table: str, column: Column) -> str:
    """The header the template writes: the first French alias, then « * » when mandatory."""
    label = column.aliases[0] if column.aliases else column.name
    return f"{label} *" if is_mandatory(table, column.name) else label


def write_template(
    path: Path,
    *,
    actions: Sequence[Mapping[str, Any]] = (),
    organisme: Mapping[str, Any] | None = None,
) -> Path:
    """Write the entry workbook, pre-filled with the actions an organisation must describe.

    Args:
        path: the ``.xlsx`` to write (its folder must exist).
        actions: the Région's actions to pre-fill, as :func:`frame_actions_for` returns them;
            empty gives a blank template.
        organisme: the organisation it is for (``siret``, ``raison_sociale``), named in the
            notes.

    Returns:
        ``path``.
    """
    return write_entries(path, template_rows(actions), organisme=organisme, n_actions=len(actions))


def write_entries(
    path: Path,
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    organisme: Mapping[str, Any] | None = None,
    n_actions: int = 0,
    created: dt.datetime | None = None,
) -> Path:
    """Write an entry workbook holding ``rows`` (the template, filled or not).

    Args:
        path: the ``.xlsx`` to write.
        rows: entry table name (``formations``...) -> rows (canonical column -> value). Values
            are written by the column's kind: dates as Excel dates, times as Excel times,
            booleans as « oui »/« non », SIRETs and postal codes as text; a value of another
            type is written as it is (to reproduce a wrong entry).
        organisme: the organisation, named in the notes.
        n_actions: how many actions of the Région were pre-filled (said in the notes).
        created: the workbook's creation time (fix it for byte-identical files).

    Returns:
        ``path``.
    """
    workbook = xlsxwriter.Workbook(
        str(path),
        {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    workbook.set_properties(
        {
            "title": "Saisie de l'offre de formation – programmes de la Région",
            "author": "Carif-Oref Pays de la Loire",
            "created": created or dt.datetime.now(dt.UTC).replace(tzinfo=None),
        }
    )
    styles = _Styles(workbook)
    _write_notes(workbook.add_worksheet(NOTES_SHEET), styles, organisme, n_actions)
    for spec in ENTRY_SHEETS:
        _write_sheet(workbook, spec, rows.get(spec.name, ()), styles)
    _write_lists(workbook, styles)
    workbook.close()
    logger.info(
        "entry workbook written: %s",
        ", ".join(f"{len(rows.get(s.name, ()))} {s.name}" for s in ENTRY_SHEETS),
    )
    return path


class _Styles:
    """The formats of the workbook, created once."""

    def __init__(self, workbook: Workbook) -> None:
        header = {"bold": True, "text_wrap": True, "valign": "top", "border": 1}
        self.header = workbook.add_format({**header, "bg_color": "#DDEBF7"})
        self.mandatory = workbook.add_format({**header, "bg_color": "#FCE4D6"})
        self.kinds = {k: workbook.add_format({"num_format": f}) for k, f in NUM_FORMATS.items()}
        self.money = workbook.add_format({"num_format": "#,##0.00"})
        self.plain = workbook.add_format({})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.heading = workbook.add_format({"bold": True, "font_size": 12, "font_color": "#1F4E79"})
        self.bullet = workbook.add_format({"text_wrap": True, "valign": "top", "indent": 1})

    def of(self, column: Column) -> Format:
        """The cell format of a column."""
        if column.name in MONEY:
            return self.money
        return self.kinds.get(column.kind, self.plain)


def _width(column: Column, label: str) -> int:
    if column.name in LONG_TEXT:
        return 45
    return min(max(len(label) + 3, WIDTHS.get(column.kind, 18)), 40)


def _write_sheet(
    workbook: Workbook, spec: Sheet, rows: Sequence[Mapping[str, Any]], styles: _Styles
) -> None:
    sheet = workbook.add_worksheet(spec.title)
    last_row = max(len(rows) + 500, MIN_ROWS)
    for index, column in enumerate(spec.columns):
        label = header_label(spec.name, column)
        mandatory = is_mandatory(spec.name, column.name)
        sheet.set_column(index, index, _width(column, label), styles.of(column))
        sheet.write_string(0, index, label, styles.mandatory if mandatory else styles.header)
        help_text = HELP.get(spec.name, {}).get(column.name)
        if help_text:
            sheet.write_comment(
                0, index, help_text + (" Obligatoire." if mandatory else ""), {"x_scale": 2}
            )
        _validate(sheet, spec.name, column, index, last_row)
        for number, row in enumerate(rows, start=1):
            _write_cell(sheet, number, index, column, row.get(column.name), styles)
    sheet.set_row(0, 45)
    sheet.freeze_panes(1, 2)
    sheet.autofilter(0, 0, max(len(rows), 1), len(spec.columns) - 1)


def _write_cell(
    sheet: Worksheet, row: int, col: int, column: Column, value: Any, styles: _Styles
) -> None:
    if value is None or (isinstance(value, str) and not value):
        return
    style = styles.of(column)
    if isinstance(value, bool):
        sheet.write_string(row, col, "oui" if value else "non", style)
    elif isinstance(value, (dt.date, dt.time)):
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day)
        sheet.write_datetime(row, col, value, style)
    elif isinstance(value, (int, float)) and column.kind in ("int", "number", "percent"):
        sheet.write_number(row, col, value, style)
    else:
        write_text(sheet, row, col, str(value), style)


def _validate(sheet: Worksheet, table: str, column: Column, col: int, last_row: int) -> None:
    """Add the data validation of a column (a drop-down list, or a type check that warns)."""
    values = COLUMN_LISTS.get((table, column.name))
    if values is not None:
        sheet.data_validation(1, col, last_row, col, _list_validation(values))
        return
    options: dict[str, Any] | None = None
    if column.kind == "date":
        options = {
            "validate": "date",
            "criteria": "between",
            "minimum": dt.datetime(2000, 1, 1),
            "maximum": dt.datetime(2100, 12, 31),
            "error_message": "Date attendue au format jj/mm/aaaa.",
        }
    elif column.kind == "int":
        options = {"validate": "integer", "criteria": ">=", "value": 0}
        options["error_message"] = "Nombre entier positif attendu."
    elif column.kind == "number":
        options = {"validate": "decimal", "criteria": ">=", "value": 0}
        options["error_message"] = "Nombre positif attendu."
    elif column.kind == "siret":
        options = {"validate": "length", "criteria": "==", "value": 14}
        options["error_message"] = "Un SIRET compte 14 chiffres."
    if options is not None:
        options.update(error_type="warning", error_title="Valeur inattendue")
        sheet.data_validation(1, col, last_row, col, options)


def _list_validation(values: ValueList) -> dict[str, Any]:
    if values.strict:
        message = "Choisissez une valeur de la liste."
    else:
        message = "Cette valeur n'est pas dans la liste : vérifiez-la."
    if values.multiple:
        message += " Plusieurs valeurs : séparez-les par « ; »."
    return {
        "validate": "list",
        "source": f"=liste_{values.name}",
        "error_type": "stop" if values.strict else "warning",
        "error_title": values.title[:32],
        "error_message": message,
    }


def _write_lists(workbook: Workbook, styles: _Styles) -> None:
    """The hidden « Listes » sheet: one column per list, each named ``liste_<name>``."""
    sheet = workbook.add_worksheet(LISTS_SHEET)
    for col, values in enumerate(VALUE_LISTS):
        sheet.set_column(col, col, 30)
        sheet.write_string(0, col, values.title, styles.header)
        sheet.write_comment(0, col, f"Source : {values.source}", {"x_scale": 3, "y_scale": 2})
        for row, choice in enumerate(values.choices, start=1):
            if values.numeric and choice.code is not None:
                sheet.write_number(row, col, float(choice.code), styles.kinds["percent"])
            else:
                sheet.write_string(row, col, choice.label)
        letter = xl_col_to_name(col)
        last = len(values.choices) + 1
        workbook.define_name(f"liste_{values.name}", f"={LISTS_SHEET}!${letter}$2:${letter}${last}")
    sheet.hide()


def _write_notes(
    sheet: Worksheet, styles: _Styles, organisme: Mapping[str, Any] | None, n_actions: int
) -> None:
    sheet.set_column(0, 0, 120)
    style_of = {"title": styles.title, "heading": styles.heading, "bullet": styles.bullet}
    row = 0
    for style, text in notes_lines(dict(organisme) if organisme else None, n_actions):
        if style == "heading":
            row += 1
        line = f"• {text}" if style == "bullet" else text
        sheet.write_string(row, 0, line, style_of.get(style, styles.wrap))
        row += 1
    sheet.activate()
