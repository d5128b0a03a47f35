"""Run loads and read the store back in tests, one transaction per call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from pipelines.load.db import open_session
from pipelines.load.frame import LoadResult, load_extraction
from pipelines.load.inspect import dump_store
from pipelines.transform.frame import ValidatedExtraction

T0 = dt.datetime(2025, 1, 20, 2, 0, tzinfo=dt.UTC)
FRAME_TABLES = ("programmes", "organismes", "lots", "actions_region")


def at(days: int) -> dt.datetime:
    """A load time, ``days`` after :data:`T0`."""
    return T0 + dt.timedelta(days=days)


def load(
    engine: Engine,
    validated: ValidatedExtraction,
    *,
    now: dt.datetime = T0,
    threshold: float = 0.2,
    allow_mass_withdrawal: bool = False,
    archive_path: str | None = None,
) -> LoadResult:
    """Load one delivery in its own transaction (committed unless it raises)."""
    with open_session(engine, write=True) as db, db.begin():
        return load_extraction(
            db,
            validated,
            archive_path=archive_path,
            threshold=threshold,
            allow_mass_withdrawal=allow_mass_withdrawal,
            now=now,
        )


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """The whole store as data (see ``dump_store``)."""
    with open_session(engine) as db:
        return dump_store(db)


def frame_tables(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """The frame tables only (not deliveries nor rejects)."""
    store = dump(engine)
    return {name: store[name] for name in FRAME_TABLES}


def by_key(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    """Rows indexed by one column."""
    return {row[key]: row for row in rows}
