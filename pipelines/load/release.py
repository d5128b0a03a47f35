"""Publishing a release: every feed built into a new folder, checked, described by a manifest,
then made current by one atomic switch; the last N releases are kept.

Layout under the output folder::

    releases/<yyyymmddThhmmssffffff>-<run>/  a complete release (never modified once switched)
    releases/.tmp-<…>/                     a release being built (not visible to consumers)
    current -> releases/<…>                a symbolic link, replaced atomically

A failure or a kill at any point leaves ``current`` as it was: the new release only becomes
visible through ``os.replace`` of the link, after every file was written, checked and synced.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select, text

from pipelines.errors import ExportError
from pipelines.extract.source import sha256_file
from pipelines.load.db import open_session
from pipelines.load.feeds import FeedFile, ReleaseContext, write_in_one_pass
from pipelines.load.files import FolderSync, deferred_sync, fsync_dir
from pipelines.load.published import iter_published, published_actions
from pipelines.transform.bundle import ActionBundle
from schemas import store

logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
CURRENT = "current"
RELEASES = "releases"
TMP_PREFIX = ".tmp-"
Writer = Callable[[ReleaseContext], list[FeedFile]]


def default_writers() -> list[Writer]:
    """The feeds of a release, in order: those made from the offer in one pass over it, then
    the reports (which read the Kairos feed's output)."""
    from pipelines.load.reports import write_reports

    return [write_offer_feeds, write_reports]


def write_offer_feeds(context: ReleaseContext) -> list[FeedFile]:
    """LHEO, the regional sites, Kairos/Ouiform and the catalogue, written in one pass over the
    offer (each action read from the store, and each session's record built, once)."""
    from pipelines.load.catalogue_feed import catalogue_consumer
    from pipelines.load.kairos_feed import kairos_consumer
    from pipelines.load.lheo_feed import lheo_consumer
    from pipelines.load.sites_feed import sites_consumer

    consumers = [lheo_consumer, sites_consumer, kairos_consumer, catalogue_consumer]
    return write_in_one_pass(context, consumers)


@dataclass(frozen=True)
class PublishResult:
    """What a publication produced.

    Attributes:
        run_id: the publication's id.
        release: the new release folder.
        current: the ``current`` link (now pointing to ``release``).
        manifest: the release's manifest.
        removed: old releases deleted (beyond the number kept).
    """

    run_id: str
    release: Path
    current: Path
    manifest: dict[str, Any]
    removed: list[str]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "run_id": self.run_id,
            "release": str(self.release),
            "current": str(self.current),
            "files": self.manifest["files"],
            "removed": self.removed,
        }


def publish(
    engine: Engine,
    *,
    output_dir: Path,
    keep: int = 5,
    lheo_version: str = "2.3",
    now: dt.datetime | None = None,
    run_id: str | None = None,
    writers: Sequence[Writer] | None = None,
) -> PublishResult:
    """Build every feed into a new release, check it, then switch ``current`` to it.

    Args:
        engine: the store.
        output_dir: the folder holding ``releases/`` and ``current``.
        keep: how many releases to keep (the current one always is).
        lheo_version: ``2.3`` or ``2.2`` for ``offre-info/lheo.xml``.
        now: the run's time (default: now); its Paris date is the export date inside the data.
        run_id: the publication's id (default: a new UUID).
        writers: the feed writers (default: :func:`default_writers`).

    Raises:
        ExportError: a feed could not be published; ``current`` is unchanged.
    """
    now = now or dt.datetime.now(dt.UTC)
    run_id = run_id or uuid.uuid4().hex
    releases = output_dir / RELEASES
    releases.mkdir(parents=True, exist_ok=True)
    with _publishing_lock(releases):
        return _publish(engine, output_dir, releases, keep, lheo_version, now, run_id, writers)


@contextlib.contextmanager
def _publishing_lock(releases: Path) -> Iterator[None]:
    """One publication at a time (the OS releases the lock if the process dies)."""
    with (releases / ".lock").open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportError("releases", "une publication est déjà en cours") from None
        yield


def _publish(
    engine: Engine,
    output_dir: Path,
    releases: Path,
    keep: int,
    lheo_version: str,
    now: dt.datetime,
    run_id: str,
    writers: Sequence[Writer] | None,
) -> PublishResult:
    _remove_stale(releases)
    name = f"{now.astimezone(PARIS):%Y%m%dT%H%M%S%f}-{run_id[:8]}"
    building = releases / f"{TMP_PREFIX}{name}"
    building.mkdir()
    current = output_dir / CURRENT
    previous = current.resolve() if current.is_symlink() else None
    try:
        # every file is synced at once below, before the release becomes visible; a feed's
        # files are flushed as soon as it returns them, while the next feeds are written
        with deferred_sync(building) as syncing:
            with open_session(engine) as db, db.begin():
                _snapshot(db)
                context = ReleaseContext(
                    run_id=run_id,
                    export_date=now.astimezone(PARIS).date(),
                    generated_at=now,
                    folder=building,
                    previous=previous,
                    offer=_offer(db),
                    session=lambda: contextlib.nullcontext(db),  # the same snapshot
                    lheo_version=lheo_version,
                    today=now.astimezone(PARIS).date(),
                )
                files: list[FeedFile] = []
                for writer in writers if writers is not None else default_writers():
                    written = writer(context)
                    syncing.ahead(building / feed.path for feed in written)
                    files.extend(written)
                manifest = _manifest(db, context, files)
            (building / "manifest.json").write_text(
                json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                encoding="utf-8",
            )
            _sync_tree(syncing)
        release = releases / name
        os.replace(building, release)
        fsync_dir(releases)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _switch(current, release)
    removed = _prune(releases, keep, release)
    logger.info("release %s published (%d files)", name, len(files))
    return PublishResult(run_id, release, current, manifest, removed)


def _snapshot(db: Any) -> None:
    """Read the whole release from one snapshot of the store.

    Every feed and the manifest read through ``db`` inside one transaction: a load committing
    while the release is built is either wholly in it or wholly out. PostgreSQL needs
    ``REPEATABLE READ`` for that (its default gives each statement its own snapshot); SQLite in
    WAL mode keeps a read transaction's snapshot from its first read, taken here at once.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        db.execute(text("SET TRANSACTION READ ONLY"))
    else:
        db.execute(select(func.count()).select_from(store.Run))


def _offer(db: Any) -> Callable[[], Iterator[ActionBundle]]:
    def offer() -> Iterator[ActionBundle]:
        return iter_published(db)

    return offer


def _manifest(db: Any, context: ReleaseContext, files: list[FeedFile]) -> dict[str, Any]:
    """Run id, inputs (accepted deliveries and their SHA-256), store state, and every file."""
    deliveries = db.execute(
        select(store.Delivery.file_name, store.Delivery.kind, store.Delivery.sha256)
        .where(store.Delivery.status == "accepted")
        .order_by(store.Delivery.id)
    ).all()
    published = published_actions().order_by(None).subquery()
    actions, sessions = db.execute(
        select(
            select(func.count()).select_from(published).scalar_subquery(),
            select(func.count())
            .select_from(store.Session)
            .where(store.Session.withdrawn_at.is_(None))
            .where(store.Session.action_id.in_(select(published.c.id)))
            .scalar_subquery(),
        )
    ).one()
    entries = []
    for feed in sorted(files, key=lambda f: f.path):
        path = context.folder / feed.path
        entries.append(
            {
                "path": feed.path,
                "size": path.stat().st_size,
                "sha256": sha256_file(path),
                "records": feed.records,
                "format": feed.format,
            }
        )
    return {
        "run_id": context.run_id,
        "generated_at": context.generated_at.isoformat(),
        "export_date": context.export_date.isoformat(),
        "lheo_version": context.lheo_version,
        "inputs": [{"file": f, "kind": k, "sha256": s} for f, k, s in deliveries],
        "store": {
            "actions_published": actions,
            "sessions_published": sessions,
        },
        "files": entries,
    }


def _sync_tree(syncing: FolderSync) -> None:
    """Flush every file and folder of the release to disk before it becomes visible."""
    syncing.sync()


def _switch(current: Path, release: Path) -> None:
    """Point ``current`` at ``release`` atomically (a new link renamed over the old one)."""
    link = current.with_name(f"{TMP_PREFIX}{CURRENT}-{os.getpid()}")
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path(RELEASES) / release.name)  # relative: the folder can move
    os.replace(link, current)
    fsync_dir(current.parent)


def _prune(releases: Path, keep: int, current: Path) -> list[str]:
    """Delete the oldest complete releases beyond ``keep`` (never the current one)."""
    others = [
        p for p in releases.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p != current
    ]  # fmt: skip
    others.sort(key=_age, reverse=True)
    removed = []
    for old in others[max(keep, 1) - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old.name)
    return sorted(removed)


def _age(release: Path) -> tuple[int, str]:
    """When a release was completed (its manifest's time); one a killed pruning left half
    deleted, without its manifest, counts as the oldest."""
    try:
        return (release / "manifest.json").stat().st_mtime_ns, release.name
    except FileNotFoundError:
        return -1, release.name


def _remove_stale(releases: Path) -> None:
    """Remove what a killed run left unfinished (never visible to consumers): releases being
    built, and the new ``current`` link made but not yet renamed over the old one."""
    for stale in releases.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
        logger.warning("removed a release left unfinished: %s", stale.name)
    for link in releases.parent.glob(f"{TMP_PREFIX}{CURRENT}-*"):
        if link.is_symlink():
            link.unlink()
            logger.warning("removed a link left unfinished: %s", link.name)
