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
    except Exception as exc:  # calamine raises its own error types
        raise ExtractionFileError(file_name, "fichier-illisible", detail=str(exc)) from None
    sheets = []
    try:
        for meta in workbook.sheets_metadata:
            if str(meta.typ) != "SheetTypeEnum.WorkSheet":
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            rows = sheet.to_python(skip_empty_area=False)
            _fill_merged(rows, sheet.merged_cell_ranges or [])
            sheets.append(RawSheet(name=meta.name, rows=rows, date1904=date1904))
    except ExtractionFileError:
        raise
    except Exception as exc:
        raise ExtractionFileError(file_name, "fichier-illisible", detail=str(exc)) from None
    finally:
        workbook.close()
    logger.info("%s: %d worksheets read", file_name, len(sheets))
    return sheets


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
