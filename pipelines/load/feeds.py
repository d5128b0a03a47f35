"""What every feed writer receives and returns, so that a release can build them all.

A writer is a plain function ``write_x(context: ReleaseContext) -> list[FeedFile]``: it writes
its files under ``context.folder`` (the new release, not yet visible to consumers), checks them
(an LHEO file against the XSD...), and returns one :class:`FeedFile` per file. It raises
:class:`~pipelines.errors.ExportError` when a file cannot be published: the release is then
abandoned and ``current`` stays as it was.

The feeds made from the offer (LHEO, regional sites, Kairos, catalogue) are also *consumers*
(:data:`Consumer`): a generator that opens its files, receives each action of the offer as an
:class:`OfferItem` through ``send``, and returns its files when it receives ``None``.
:func:`write_in_one_pass` reads the offer from the store once and feeds every consumer with it
(a release reads, and maps each session to its published record, once, not once per feed);
each ``write_x`` is that pass with its consumer alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import orm

from pipelines.transform.bundle import ActionBundle

logger = logging.getLogger(__name__)


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
        session: opens a read-only session on the store (for reports and counts), as a
            context manager (``with context.session() as db``).
        lheo_version: ``2.3`` (default) or ``2.2`` (the Intercarif-compatible variant).
        today: the date the feeds judge « to come » and « ended » against.
    """

    run_id: str
    export_date: dt.date
    generated_at: dt.datetime
    folder: Path
    previous: Path | None
    offer: Callable[[], Iterator[ActionBundle]]
    session: Callable[[], AbstractContextManager[orm.Session]]
    lheo_version: str = "2.3"
    today: dt.date = field(default_factory=dt.date.today)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class OfferItem:
    """One action of the offer as the consumers of a pass receive it.

    Attributes:
        bundle: the action with everything the feeds need.
        records: its sessions' published records, computed once for every feed that reads them
            (:func:`pipelines.load.sites_feed.item_records`), or None until then.
    """

    bundle: ActionBundle
    records: list[tuple[Any, dict[str, Any]]] | None = None


#: A feed written during the pass: started with ``next()``, sent each :class:`OfferItem`, then
#: ``None``; it returns its files (``StopIteration.value``). Closing it (``GeneratorExit`` at
#: its ``yield``) abandons its files.
Consumer = Generator[None, OfferItem | None, list[FeedFile]]


def write_in_one_pass(
    context: ReleaseContext, consumers: Sequence[Callable[[ReleaseContext], Consumer]]
) -> list[FeedFile]:
    """Read the offer once (``context.offer()``) and feed every consumer with it, in order.

    Args:
        context: the release.
        consumers: the feeds to write (each called with ``context``).

    Returns:
        Every consumer's files, in the consumers' order.

    Raises:
        ExportError: a consumer could not publish its files; every other consumer is closed
            first (its files abandoned).
    """
    running: list[Consumer] = []
    try:
        for consumer in consumers:
            running.append(consumer(context))
            next(running[-1])
        for bundle in context.offer():
            item = OfferItem(bundle)
            for feed in running:
                feed.send(item)
        files: list[FeedFile] = []
        while running:
            files.extend(_finish(running[0]))
            running.pop(0)
        return files
    finally:
        for feed in running:  # abandoned: their files are discarded, their errors secondary
            try:
                feed.close()
            except Exception as error:
                logger.warning("a feed abandoned with the release failed to close: %s", error)


def _finish(feed: Consumer) -> list[FeedFile]:
    """Tell a consumer the offer is over; return its files."""
    try:
        feed.send(None)
    except StopIteration as done:
        return list(done.value)
    raise RuntimeError("a feed consumer went on after the end of the offer")
