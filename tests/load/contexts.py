"""A release context for feed tests: fixed dates, a given offer, sessions on the test store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, orm

from pipelines.load.db import open_session
from pipelines.load.feeds import ReleaseContext
from pipelines.load.published import iter_published
from pipelines.transform.bundle import ActionBundle

#: the samples' sessions and informations collectives run from 12/2024 to 10/2025
TODAY = dt.date(2025, 6, 1)


def release(
    folder: Path,
    engine: Engine,
    db: orm.Session,
    offer: Callable[[], Iterator[ActionBundle]] | None = None,
) -> ReleaseContext:
    """The context of a release written to ``folder`` (default offer: the published one)."""
    return ReleaseContext(
        run_id="test",
        export_date=TODAY,
        generated_at=dt.datetime(2025, 6, 1, 2, tzinfo=dt.UTC),
        folder=folder,
        previous=None,
        offer=offer or (lambda: iter_published(db)),
        session=lambda: open_session(engine),
        today=TODAY,
    )
