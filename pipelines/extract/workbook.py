"""Reading the sheets of an ``.xlsx``/``.xlsm`` workbook with python-calamine.

calamine reads the cached value of formulas and never evaluates them. Merged cells are filled
with their top-left value. The zip is checked before it is expanded (size bounds against zip
bombs), and the workbook's date system (1900 or 1904) is read from ``xl/workbook.xml``.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import python_calamine

from pipelines.errors import ExtractionFileError

logger = logging.getLogger(__name__)

_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904\s*=\s*[\"'](?:1|true)[\"']")


@dataclass
class RawSheet:
    """The cells of one sheet as read, before any header is looked for.

    Attributes:
        name: the sheet's name (or the CSV file's stem) as it arrived.
        rows: the rows, from the first one (``rows[i]`` is the row Excel numbers ``i + 1``).
        date1904: the workbook counts date serials from 1904.
    """

    name: str
    rows: list[list[Any]] = field(default_factory=list)
    date1904: bool = False

    def numbered(self) -> Iterator[tuple[int, list[Any]]]:
        """Yield ``(excel_row, cells)`` for every row."""
        for index, cells in enumerate(self.rows):
            yield index + 1, cells


# calamine holds a sheet's used range (first to last used cell) as a dense grid: a few bytes
# can declare millions of empty cells. The used ranges of a workbook may hold at most one cell
# per BYTES_PER_GRID_CELL bytes of its expanded XML (a stored cell takes at least ~15 bytes),
# and never less than MIN_GRID_CELLS.
BYTES_PER_GRID_CELL = 8
MIN_GRID_CELLS = 5_000_000


def _unreadable(file_name: str, exc: BaseException, sheet: str = "") -> ExtractionFileError:
    """The refusal for a failure of calamine, or ``exc`` again when it is not one.

    calamine raises its own error types; a Rust panic inside it (a date out of range, a cell
    beyond the sheet's limits) surfaces as pyo3's ``PanicException``, a ``BaseException`` that
    cannot be imported: it is recognised by name. Interrupts and exits are never swallowed.
    """
    if isinstance(exc, Exception):
        where = f"feuille « {sheet} » : " if sheet else ""
        return ExtractionFileError(file_name, "fichier-illisible", detail=f"{where}{exc}")
    if type(exc).__name__ == "PanicException":
        where = f"la feuille « {sheet} »" if sheet else "le classeur"
        detail = (
            f"{where} contient une valeur hors limites (par exemple un nombre démesuré dans une "
            "cellule au format date, ou une cellule au-delà des limites d'Excel)"
        )
        return ExtractionFileError(file_name, "fichier-illisible", detail=detail)
    raise exc


def check_zip(path: Path, file_name: str, max_uncompressed: int) -> bool:
    """Check a workbook's zip before expanding it; return its 1904 date-system flag.

    Raises:
        ExtractionFileError: not a zip (``fichier-illisible``), or it would expand beyond
            ``max_uncompressed`` bytes (``fichier-trop-volumineux``).
    """
    if not zipfile.is_zipfile(path):
        raise ExtractionFileError(
            file_name, "fichier-illisible", detail="ce n'est pas un classeur Excel .xlsx/.xlsm"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
            if expanded > max_uncompressed:
                raise ExtractionFileError(
                    file_name,
                    "fichier-trop-volumineux",
                    size_mb=expanded // 2**20,
                    limit_mb=max_uncompressed // 2**20,
                )
            try:
                info = archive.getinfo("xl/workbook.xml")
            except KeyError:
                raise ExtractionFileError(
                    file_name, "fichier-illisible", detail="classeur sans xl/workbook.xml"
                ) from None
            if info.file_size > 16 * 2**20:
                raise ExtractionFileError(
                    file_name, "fichier-illisible", detail="xl/workbook.xml démesuré"
                )
            return _DATE1904.search(archive.read(info)) is not None
    except zipfile.BadZipFile as exc:
        raise ExtractionFileError(file_name, "fichier-illisible", detail=str(exc)) from None


def read_workbook(path: Path, file_name: str, max_uncompressed: int) -> list[RawSheet]:
    """Read every worksheet of a workbook (cached values of formulas, merged cells filled).

    Args:
        path: the workbook.
        file_name: its name as received, for messages.
        max_uncompressed: largest expanded size accepted, in bytes.

    Raises:
        ExtractionFileError: the workbook cannot be read.
    """
    date1904 = check_zip(path, file_name, max_uncompressed)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except BaseException as exc:
        raise _unreadable(file_name, exc) from None
    sheets = []
    budget = max(MIN_GRID_CELLS, _expanded_size(path) // BYTES_PER_GRID_CELL)
    try:
        for meta in workbook.sheets_metadata:
            if str(meta.typ) != "SheetTypeEnum.WorkSheet":
                continue
            sheet, cells = _read_sheet(workbook, meta.name, file_name, budget)
            budget -= cells
            sheets.append(RawSheet(name=meta.name, rows=sheet, date1904=date1904))
    finally:
        workbook.close()
    logger.info("%s: %d worksheets read", file_name, len(sheets))
    return sheets


def _read_sheet(
    workbook: python_calamine.CalamineWorkbook, name: str, file_name: str, budget: int
) -> tuple[list[list[Any]], int]:
    """Read one sheet as rows from row 1, refused when its used range exceeds ``budget`` cells.

    calamine holds the used range (first to last used cell) as a dense grid: its cells are
    counted against the budget before any is converted. Rows above the range are empty lists
    and cells left of it ``None``, so a lone cell far down or right costs next to nothing.

    Returns:
        The rows (merged cells filled) and the number of cells of the used range.
    """
    try:
        sheet = workbook.get_sheet_by_name(name)
        cells = sheet.height * sheet.width
        if cells > budget:
            raise ExtractionFileError(
                file_name,
                "fichier-illisible",
                detail=f"la feuille « {name} » s'étend jusqu'à la cellule {_last_cell(sheet)}, "
                "bien au-delà de son contenu : supprimez les lignes et colonnes vides après les "
                "données",
            )
        top, left = sheet.start or (0, 0)
        pad = [None] * left
        rows: list[list[Any]] = [[] for _ in range(top)]
        rows.extend(pad + cells_of_row for cells_of_row in sheet.to_python(skip_empty_area=True))
        _fill_merged(rows, sheet.merged_cell_ranges or [])
    except ExtractionFileError:
        raise
    except BaseException as exc:
        raise _unreadable(file_name, exc, name) from None
    return rows, cells


def _last_cell(sheet: python_calamine.CalamineSheet) -> str:
    """The last cell of a sheet's used range as Excel names it (``J1048576``)."""
    row, column = sheet.end or (0, 0)
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{row + 1}"


def _expanded_size(path: Path) -> int:
    """The workbook's size once unzipped, as its zip declares it (checked by :func:`check_zip`)."""
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def _fill_merged(
    rows: list[list[Any]], ranges: list[tuple[tuple[int, int], tuple[int, int]]]
) -> None:
    """Give every cell of a merged range the value of its top-left cell (as Excel shows it)."""
    for (top, left), (bottom, right) in ranges:
        if top >= len(rows) or left >= len(rows[top]):
            continue
        value = rows[top][left]
        for r in range(top, min(bottom, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(left, min(right, len(row) - 1) + 1):
                row[c] = value
