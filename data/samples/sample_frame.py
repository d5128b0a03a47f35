"""The sample extraction in a temporary store, for the generators of the entry samples.

They read the Région's frame through the project's own reader (the extraction is deliberately
messy: parsing it again would duplicate the reader).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import orm

from pipelines.ingest import Limits, ingest_path
from pipelines.load.db import make_engine, open_session, upgrade_store

EXTRACTION = Path(__file__).resolve().parent / "prf_2025_20250115.xlsx"


@contextmanager
def sample_frame_session() -> Iterator[orm.Session]:
    """A session on a temporary SQLite store holding the sample extraction (deleted after)."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'store.db'}")
        try:
            upgrade_store(engine)
            result = ingest_path(
                EXTRACTION,
                engine=engine,
                output_dir=Path(tmp),
                limits=Limits(2**28, 2**30),
                threshold=0.2,
                now=dt.datetime(2025, 1, 20, 2, 0, tzinfo=dt.UTC),
            )
            assert result.status == "integree", result.status
            with open_session(engine) as db:
                yield db
        finally:
            engine.dispose()
