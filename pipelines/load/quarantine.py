"""The quarantine file: every rejected row of a delivery, for the Carif-Oref to read in Excel."""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines.load.safe_csv import write_csv
from pipelines.transform.report import Report

logger = logging.getLogger(__name__)

QUARANTINE_HEADER = ("file", "sheet", "row", "column", "value", "reason", "message")


def write_quarantine(report: Report, path: Path) -> Path:
    """Write a report's rejected rows as CSV (``;``, UTF-8 with BOM), atomically.

    Cells a spreadsheet would take for a formula are escaped (see ``safe_csv``). A report with
    no rejected row gives a file with the header only.

    Args:
        report: the validation report.
        path: the CSV file to write.

    Returns:
        ``path``.
    """
    rows = [(e.file, e.sheet, e.row, e.column, e.value, e.reason, e.message) for e in report.errors]
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # a write killed midway
        stale.unlink(missing_ok=True)
    write_csv(path, QUARANTINE_HEADER, rows)
    logger.info("%d rejected rows written to the quarantine", len(rows))
    return path
