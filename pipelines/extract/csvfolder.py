"""Reading the CSV-folder variant of the extraction (one CSV file per sheet).

Encoding (UTF-8 with or without BOM, else Windows-1252) and separator (``;`` or ``,``) are
sniffed per file. Each record keeps the row number a spreadsheet would show for it.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from pipelines.errors import ExtractionFileError
from pipelines.extract.workbook import RawSheet

logger = logging.getLogger(__name__)

_SEPARATORS = ";,\t"


def decode(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (BOM or not) when it decodes, else Windows-1252.

    Returns:
        ``(text, encoding)``.
    """
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def sniff_separator(text: str) -> str:
    """Tell the separator from the first lines (``;`` wins ties: French Excel's default)."""
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_SEPARATORS).delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        return max(_SEPARATORS, key=lambda sep: (first.count(sep), sep == ";"))


def read_csv_sheet(path: Path, display_name: str) -> RawSheet:
    """Read one CSV file of the folder into a :class:`RawSheet`.

    Args:
        path: the CSV file.
        display_name: ``<folder>/<file>`` as received, for messages.

    Raises:
        ExtractionFileError: the file cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExtractionFileError(display_name, "fichier-illisible", detail=exc.strerror) from None
    text, encoding = decode(data)
    separator = sniff_separator(text)
    try:
        rows: list[list[object]] = [
            list(r) for r in csv.reader(io.StringIO(text), delimiter=separator)
        ]
    except csv.Error as exc:
        raise ExtractionFileError(display_name, "fichier-illisible", detail=str(exc)) from None
    logger.info("%s: %d lines (%s, separator %r)", display_name, len(rows), encoding, separator)
    return RawSheet(name=path.stem, rows=rows)
