"""What every feed writer receives and returns, so that a release can build them all.

A writer is a plain function ``write_x(context: ReleaseContext) -> list[FeedFile]``: it writes
its files under ``context.folder`` (the new release, not yet visible to consumers), checks them
(an LHEO file against the XSD...), and returns one :class:`FeedFile` per file. It raises
:class:`~pipelines.errors.ExportError` when a file cannot be published: the release is then
abandoned and ``current`` stays as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import orm

from pipelines.transform.bundle import ActionBundle


@dataclass(frozen=True)
class FeedFile:
    """One published file.

    Attributes:
        path: relative to the release folder, with ``/`` (``offre-info/lheo.xml``).
        records: how many records it holds (formations, sessions, rows...).
        format: the format and its version (``LHEO 2.3``, ``JSON Lines``, ``CSV``...).
    """

    path: str
    records: int
    format: str


@dataclass(frozen=True)
class ReleaseContext:
    """Everything a feed writer may use; the same for every writer of a release.

    Attributes:
        run_id: the publication's id (also in the manifest).
        export_date: the one date written inside the data (the run's date, Europe/Paris).
        generated_at: the run's time (for reports only: never inside a data feed).
        folder: the release being written (writers create their sub-folders).
        previous: the release consumers currently read (``current``), or None.
        offer: a new pass over the published offer, in FAS-code order, each time it is called
            (streamed from the store: call it once per pass, never keep the whole offer).
        session: opens a read-only session on the store (for reports and counts).
        lheo_version: ``2.3`` (default) or ``2.2`` (the Intercarif-compatible variant).
        today: the date the feeds judge « to come » and « ended » against.
    """

    run_id: str
    export_date: dt.date
    generated_at: dt.datetime
    folder: Path
    previous: Path | None
    offer: Callable[[], Iterator[ActionBundle]]
    session: Callable[[], orm.Session]
    lheo_version: str = "2.3"
    today: dt.date = field(default_factory=dt.date.today)
    extra: dict[str, Any] = field(default_factory=dict)
