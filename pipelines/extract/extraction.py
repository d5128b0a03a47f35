"""Reading one delivery of the Région's extraction: a workbook, or a folder of CSV files.

``read_extraction`` checks what it can before reading (size bounds, format), finds the four
sheets and their headers, and returns the raw cells of each sheet. File-level problems raise
:class:`~pipelines.errors.ExtractionFileError`; nothing here judges a row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.errors import ExtractionFileError
from pipelines.extract.csvfolder import read_csv_sheet
from pipelines.extract.names import sheet_matches
from pipelines.extract.sheets import LocatedSheet, find_sheet, locate
from pipelines.extract.source import DeliveryInfo, parse_name, sha256_file, sha256_files
from pipelines.extract.workbook import RawSheet, read_workbook
from schemas.extraction import SHEETS
from schemas.sheets import Sheet

logger = logging.getLogger(__name__)

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass
class RawDelivery:
    """A tabular delivery whose sheets were found (the extraction, or an entry workbook).

    Attributes:
        info: identity of the delivery.
        sheets: canonical sheet name -> the located sheet.
        warnings: French notes for the report (renamed sheet, ignored columns).
    """

    info: DeliveryInfo
    sheets: dict[str, LocatedSheet]
    warnings: list[str] = field(default_factory=list)


def describe(path: Path, max_bytes: int) -> DeliveryInfo:
    """Identify a delivery (kind, size, checksum, year and date in its name) without parsing it.

    Args:
        path: a workbook, or a folder of CSV files.
        max_bytes: largest delivery accepted.

    Raises:
        ExtractionFileError: missing, unsupported or too large.
    """
    file_name = path.name
    name_year, delivery_date = parse_name(file_name)
    if path.is_dir():
        files = _csv_files(path)
        size = sum(p.stat().st_size for p in files.values())
        kind, digest = "csv", None
    elif path.is_file():
        if path.suffix.lower() not in WORKBOOK_SUFFIXES:
            raise ExtractionFileError(
                file_name, "format-non-pris-en-charge", detail=path.suffix or "sans extension"
            )
        size, kind, digest = path.stat().st_size, "xlsx", None
    else:
        raise ExtractionFileError(file_name, "fichier-illisible", detail="fichier introuvable")
    if size > max_bytes:
        raise ExtractionFileError(
            file_name, "fichier-trop-volumineux", size_mb=size // 2**20, limit_mb=max_bytes // 2**20
        )
    digest = sha256_files(files) if kind == "csv" else sha256_file(path)
    return DeliveryInfo(path, file_name, kind, digest, size, name_year, delivery_date)


def _csv_files(folder: Path) -> dict[str, Path]:
    """Map each canonical sheet to its CSV file in ``folder`` (only regular ``.csv`` files)."""
    candidates = [p for p in sorted(folder.iterdir()) if p.suffix.lower() == ".csv" and p.is_file()]
    found: dict[str, Path] = {}
    for spec in SHEETS:
        matches = [p for p in candidates if sheet_matches(p.stem, spec.name)]
        if len(matches) > 1:
            raise ExtractionFileError(
                folder.name,
                "feuille-ambigue",
                sheet=spec.title,
                detail=", ".join(f"« {p.name} »" for p in matches),
            )
        if matches:
            found[spec.name] = matches[0]
    return found


def read_extraction(
    path: Path, *, max_bytes: int, max_uncompressed: int, info: DeliveryInfo | None = None
) -> RawDelivery:
    """Read a delivery and locate its four sheets.

    Args:
        path: a ``.xlsx``/``.xlsm`` workbook or a folder of CSV files.
        max_bytes: largest delivery accepted (bytes).
        max_uncompressed: largest expanded workbook accepted (bytes).
        info: the delivery's identity when already computed by :func:`describe`.

    Raises:
        ExtractionFileError: the delivery is refused as a whole.
    """
    info = info or describe(path, max_bytes)
    if info.kind == "csv":
        files = _csv_files(path)
        raw_sheets = [read_csv_sheet(p, f"{info.file_name}/{p.name}") for p in files.values()]
    else:
        raw_sheets = read_workbook(path, info.file_name, max_uncompressed)
    return locate_sheets(info, raw_sheets)


def locate_sheets(
    info: DeliveryInfo, raw_sheets: list[RawSheet], specs: tuple[Sheet, ...] = SHEETS
) -> RawDelivery:
    """Find the sheets of ``specs`` among ``raw_sheets``, and their headers."""
    located: dict[str, LocatedSheet] = {}
    warnings: list[str] = []
    for spec in specs:
        sheet, warning = find_sheet(raw_sheets, spec, info.file_name)
        if warning:
            warnings.append(warning)
        located[spec.name] = found = locate(sheet, spec, info.file_name)
        if found.ignored_columns:
            warnings.append(
                f"Feuille « {found.name} » : colonnes ignorées "
                + ", ".join(f"« {c} »" for c in found.ignored_columns)
                + "."
            )
    return RawDelivery(info, located, warnings)
