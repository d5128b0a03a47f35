"""Routing deliveries: the Région's extractions first (by year, then delivery date), then the
organisations' entries (by date, then name); one call per file, whatever its kind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pipelines.extract.entries import is_entry_file, parse_entry_name
from pipelines.extract.source import parse_name
from pipelines.ingest import ingest_path, limits_of
from pipelines.settings import Settings


def order_deliveries(paths: list[Path]) -> list[Path]:
    """Extractions first (by year then delivery date), then entries (by date, then name)."""

    def key(path: Path) -> tuple[int, int, str, str]:
        if is_entry_file(path):
            _, date = parse_entry_name(path.name)
            return (1, 0, date.isoformat() if date else "", path.name)
        year, date = parse_name(path.name)
        return (0, year or 0, date.isoformat() if date else "", path.name)

    return sorted(paths, key=key)


def ingest_one(
    path: Path,
    engine: Engine,
    settings: Settings,
    allow_mass_withdrawal: bool = False,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Ingest one delivery (an extraction or an organisation's entries) into the store.

    Args:
        path: the delivery (a workbook, a CSV folder, an LHEO file).
        engine: the store.
        settings: output folder, limits, mass-withdrawal threshold.
        allow_mass_withdrawal: go through the mass-withdrawal guard.
        now: the time recorded for the delivery (default: now); a replay passes the original.

    Returns:
        The result as a JSON-ready document, with its ``exit_code``.
    """
    common: dict[str, Any] = {
        "engine": engine,
        "output_dir": settings.output_dir,
        "limits": limits_of(settings),
        "threshold": settings.mass_withdrawal_threshold,
        "allow_mass_withdrawal": allow_mass_withdrawal,
        "now": now,
    }
    if is_entry_file(path):
        from pipelines.ingest_entries import ingest_entry_path
        from schemas.rules import current_rulebook

        result = ingest_entry_path(path, rulebook=current_rulebook(), **common)
    else:
        result = ingest_path(path, **common)
    document = result.as_dict()
    document["exit_code"] = result.exit_code
    return document
