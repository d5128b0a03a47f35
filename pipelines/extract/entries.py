"""Reading an organisation's entries: the entry workbook (``saisie_<siret>_<yyyymmdd>.xlsx``)
or an LHEO export of its own software (``.xml``).

Both give the four entry tables of ``schemas.entries`` as located sheets of raw cells, so one
parse-and-check pipeline follows (``pipelines.transform.entries``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines.errors import ExtractionFileError
from pipelines.extract.extraction import RawDelivery, locate_sheets
from pipelines.extract.source import (  # noqa: F401 (names re-exported)
    RE_ENTRY_NAME,
    DeliveryInfo,
    name_date,
    parse_entry_name,
    sha256_file,
)
from pipelines.extract.workbook import read_workbook
from schemas.entries import ENTRY_SHEETS

logger = logging.getLogger(__name__)

#: ``saisie_<siret>_<yyyymmdd>`` (``.xlsx``, ``.xlsm`` or ``.xml``).
ENTRY_SUFFIXES = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xml": "lheo"}


def is_entry_file(path: Path) -> bool:
    """Tell an organisation's entry file (``saisie_…`` workbook, or LHEO) from an extraction."""
    return path.is_file() and (
        path.suffix.lower() == ".xml" or path.name.lower().startswith("saisie_")
    )


def describe_entry(path: Path, max_bytes: int) -> DeliveryInfo:
    """Identify an entry file (kind, size, checksum, date in its name) without parsing it.

    Raises:
        ExtractionFileError: missing, unsupported or too large.
    """
    file_name = path.name
    kind = ENTRY_SUFFIXES.get(path.suffix.lower())
    if not path.is_file():
        raise ExtractionFileError(file_name, "fichier-illisible", detail="fichier introuvable")
    if kind is None:
        raise ExtractionFileError(
            file_name, "format-non-pris-en-charge", detail=path.suffix or "sans extension"
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise ExtractionFileError(
            file_name, "fichier-trop-volumineux", size_mb=size // 2**20, limit_mb=max_bytes // 2**20
        )
    _, date = parse_entry_name(file_name)
    return DeliveryInfo(path, file_name, kind, sha256_file(path), size, None, date)


def read_entry_workbook(info: DeliveryInfo, max_uncompressed: int) -> RawDelivery:
    """Read an entry workbook and locate its four sheets.

    Raises:
        ExtractionFileError: unreadable workbook, missing sheet or required column.
    """
    raw_sheets = read_workbook(info.path, info.file_name, max_uncompressed)
    return locate_sheets(info, raw_sheets, ENTRY_SHEETS)
