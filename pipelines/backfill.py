"""Backfills: whole years reloaded from a folder of deliveries, the years side by side.

Plain functions (no Prefect): the flow ``backfill`` (:mod:`pipelines.flows`) maps
:func:`backfill_year` over the years with a Dask task runner, the tests call them directly.

The source folder holds each year's deliveries, as they were received, either in a folder per
year (``DIR/2019/…``, ``DIR/2020/…``: everything in ``DIR/<yyyy>/`` belongs to that year) or
side by side (the year is read from the name: ``prf_<year>_<yyyymmdd>`` for an extraction, the
date of ``saisie_<siret>_<yyyymmdd>`` for an organisation's entries). A file whose year cannot
be told, or outside the years asked for, is listed as ignored, never guessed.

Within a year the deliveries go in the order the nightlies took them: by the date of their name,
the Région's extraction before the organisations' entries of the same day, then by name. Years
are independent in the store (each year's frame and offer; organismes, shared by the years,
take the most recent delivery whatever the order), so they can run at once: truly in parallel
on PostgreSQL, where a delivery that collides with another year's transaction (a deadlock, the
same new row inserted by both) is retried; in turn on SQLite, whose writers queue on the
database lock (a long busy timeout, instead of failing). Every delivery is one transaction and
a file already ingested (same SHA-256) changes nothing: a backfill can be run again, or resumed
after a crash, and only does what is left.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, OperationalError

from pipelines.dispatch import ingest_one
from pipelines.extract.entries import is_entry_file, parse_entry_name
from pipelines.extract.source import parse_name
from pipelines.inbox import checksum
from pipelines.load import runs
from pipelines.load.db import make_engine, open_session
from pipelines.load.deliveries import as_utc
from pipelines.settings import Settings
from schemas.store import Delivery

logger = logging.getLogger(__name__)

#: SQLite: a backfill's writers wait this long for another year's transaction to commit.
BUSY_TIMEOUT_S = 3600
#: How many times a delivery colliding with another year's transaction is tried again.
CONFLICT_RETRIES = 5
#: PostgreSQL errors of concurrent writers: deadlock, serialization failure, unique violation.
CONFLICT_SQLSTATES = frozenset({"40P01", "40001", "23505"})
_YEAR_FOLDER = re.compile(r"^(19|20)\d\d$")
_FAILED = "echec"


@dataclass(frozen=True)
class YearPlan:
    """One year of a backfill: its deliveries in the order they are ingested.

    Attributes:
        year: the year.
        paths: the deliveries (as strings, so that the plan travels to Dask workers as is).
    """

    year: int
    paths: tuple[str, ...]


@dataclass
class BackfillPlan:
    """What a backfill will do: the years, and the files it leaves out (with why)."""

    years: list[YearPlan]
    ignored: list[dict[str, str]] = field(default_factory=list)

    @property
    def files(self) -> int:
        """How many deliveries the backfill ingests."""
        return sum(len(y.paths) for y in self.years)


def delivery_year(path: Path, folder_year: int | None = None) -> int | None:
    """The year a delivery belongs to: its year folder, else the year its name carries."""
    if folder_year is not None:
        return folder_year
    if is_entry_file(path):
        _, date = parse_entry_name(path.name)
        return date.year if date else None
    year, _ = parse_name(path.name)
    return year


def chronological(paths: Sequence[Path]) -> list[Path]:
    """A year's deliveries in the nightlies' order: date of the name, extraction first, name.

    A delivery whose name carries no date goes first (the year's frame usually).
    """

    def key(path: Path) -> tuple[dt.date, int, str]:
        if is_entry_file(path):
            _, date = parse_entry_name(path.name)
            return (date or dt.date.min, 1, path.name)
        _, date = parse_name(path.name)
        return (date or dt.date.min, 0, path.name)

    return sorted(paths, key=key)


def plan_backfill(source: Path, first: int, last: int) -> BackfillPlan:
    """Group the deliveries under ``source`` by year, each year in the nightlies' order.

    Args:
        source: the folder of deliveries (a folder per year, or files side by side).
        first: the first year to reload.
        last: the last year to reload (included).

    Raises:
        ValueError: ``source`` is not a folder, or ``first`` > ``last`` (French message).
    """
    if first > last:
        raise ValueError(f"années inversées : de {first} à {last}")
    if not source.is_dir():
        raise ValueError(f"le dossier source n'existe pas : {source}")
    by_year: dict[int, list[Path]] = {}
    ignored: list[dict[str, str]] = []

    def take(path: Path, folder_year: int | None) -> None:
        if path.name.startswith(".") or path.is_symlink():
            ignored.append({"file": path.name, "reason": "fichier caché ou lien symbolique"})
            return
        year = delivery_year(path, folder_year)
        if year is None:
            ignored.append({"file": path.name, "reason": "année inconnue (nom non conforme)"})
        elif not first <= year <= last:
            ignored.append({"file": path.name, "reason": f"année {year} hors de {first}-{last}"})
        else:
            by_year.setdefault(year, []).append(path)

    for entry in sorted(source.iterdir()):
        if entry.is_dir() and not entry.is_symlink() and _YEAR_FOLDER.match(entry.name):
            for inner in sorted(entry.iterdir()):
                take(inner, int(entry.name))
        else:
            take(entry, None)
    years = [
        YearPlan(year, tuple(str(p) for p in chronological(paths)))
        for year, paths in sorted(by_year.items())
    ]
    return BackfillPlan(years, ignored)


def is_write_conflict(error: BaseException) -> bool:
    """True for the errors of two writers colliding (worth trying the delivery again)."""
    if isinstance(error, OperationalError) and "database is locked" in str(error):
        return True
    if isinstance(error, DBAPIError):
        return getattr(error.orig, "sqlstate", None) in CONFLICT_SQLSTATES
    return False


def backfill_year(
    year: int,
    paths: Sequence[str],
    *,
    settings: Settings,
    allow_mass_withdrawal: bool = False,
    retries: int = CONFLICT_RETRIES,
) -> dict[str, Any]:
    """Ingest one year's deliveries in order, each in its own transaction.

    Args:
        year: the year (reported back).
        paths: its deliveries, in order.
        settings: the store, the output folder and the limits.
        allow_mass_withdrawal: go through the mass-withdrawal guard.
        retries: how many times a delivery colliding with another year is tried again.

    Returns:
        ``{"year", "files": [{"file", "sha256", "status", "exit_code", "rows_rejected"}],
        "seconds"}`` (JSON-ready: it travels back from Dask workers).
    """
    clock = time.monotonic()
    engine = make_engine(settings.store_url, busy_timeout_s=BUSY_TIMEOUT_S)
    files = []
    try:
        for text in paths:
            path = Path(text)
            sha256 = checksum(path, settings.max_file_mb * 2**20)
            at = dt.datetime.now(dt.UTC)
            document = _ingest_retrying(path, engine, settings, allow_mass_withdrawal, retries, at)
            files.append(
                {"file": path.name, "sha256": sha256, "status": document["status"],
                 "at": at.isoformat(), "exit_code": document["exit_code"],
                 "rows_rejected": len(document.get("errors") or [])}
            )  # fmt: skip
            logger.info("backfill %d: %s %s", year, path.name, document["status"])
    finally:
        engine.dispose()
    return {"year": year, "files": files, "seconds": round(time.monotonic() - clock, 3)}


def _ingest_retrying(
    path: Path, engine: Engine, settings: Settings, allow: bool, retries: int, at: dt.datetime
) -> dict[str, Any]:
    for attempt in range(retries + 1):
        try:
            return ingest_one(path, engine, settings, allow, at)
        except DBAPIError as error:
            if attempt == retries or not is_write_conflict(error):
                raise
            logger.warning("backfill: %s collided with another year (try %d)", path.name, attempt)
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def sequential(
    settings: Settings, allow_mass_withdrawal: bool = False
) -> Callable[[Sequence[YearPlan]], list[dict[str, Any]]]:
    """A mapper running the years one after the other, in this process."""

    def run(years: Sequence[YearPlan]) -> list[dict[str, Any]]:
        return [
            backfill_year(
                y.year, y.paths, settings=settings, allow_mass_withdrawal=allow_mass_withdrawal
            )
            for y in years
        ]

    return run


@dataclass
class BackfillResult:
    """What a backfill did (see :meth:`as_dict`)."""

    state: str
    run_id: str
    years: list[dict[str, Any]]
    ignored: list[dict[str, str]]
    started: dt.datetime
    ended: dt.datetime
    message: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Files per status (``integree``, ``deja-integree``, ``refusee``…), rejected rows, years."""
        counts: dict[str, int] = {"annees": len(self.years), "ignores": len(self.ignored)}
        for year in self.years:
            if year.get("state") == _FAILED:
                counts["annees_en_echec"] = counts.get("annees_en_echec", 0) + 1
            for item in year.get("files", []):
                counts[item["status"]] = counts.get(item["status"], 0) + 1
                counts["lignes_rejetees"] = counts.get("lignes_rejetees", 0) + item["rows_rejected"]
        return counts

    @property
    def exit_code(self) -> int:
        """0 every file ingested; 1 some refused or stopped (or ignored); 2 a year failed."""
        return {runs.SUCCEEDED: 0, runs.PARTIAL: 1}.get(self.state, 2)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (file names, checksums, statuses and counts: no cell values)."""
        return {
            "run_id": self.run_id, "kind": "backfill", "state": self.state,
            "exit_code": self.exit_code, "message": self.message,
            "started": self.started.isoformat(), "ended": self.ended.isoformat(),
            "counts": self.counts, "years": self.years, "ignored": self.ignored,
        }  # fmt: skip


def run_backfill(
    engine: Engine,
    plan: BackfillPlan,
    *,
    map_years: Callable[[Sequence[YearPlan]], list[dict[str, Any]]],
    now: dt.datetime,
) -> BackfillResult:
    """Run a backfill and record it in the run history (kind ``backfill``).

    Args:
        engine: the store (migrated), for the run's record.
        plan: from :func:`plan_backfill`.
        map_years: runs :func:`backfill_year` for every year (in order, in threads, on Dask…)
            and returns their results in the plan's order; a year that failed is
            ``{"year", "state": "echec", "error"}``.
        now: the backfill's start.
    """
    clock = time.monotonic()
    now = as_utc(now)
    with open_session(engine, write=True) as db, db.begin():
        run = runs.start_run(
            db, kind="backfill", now=now, params={"years": [y.year for y in plan.years]}
        )
    try:
        years = map_years(plan.years)
        message = None
    except Exception as error:  # the executor itself failed: recorded, then raised
        _finish(engine, run, runs.FAILED, [], {}, now, clock, f"{type(error).__name__}")
        raise
    result = BackfillResult(
        runs.SUCCEEDED, run.id, years, plan.ignored, now,
        now + dt.timedelta(seconds=time.monotonic() - clock), message,
    )  # fmt: skip
    counts = result.counts
    if counts.get("annees_en_echec"):
        result.state = runs.FAILED
        result.message = "année(s) en échec : " + ", ".join(
            str(y["year"]) for y in years if y.get("state") == _FAILED
        )
    elif counts.get("refusee") or counts.get("arretee") or plan.ignored:
        result.state = runs.PARTIAL
    inputs = [
        {**{k: item[k] for k in ("file", "sha256", "status", "at")}, "year": year["year"]}
        for year in years
        for item in year.get("files", [])
    ]
    _finish(engine, run, result.state, inputs, counts, now, clock, result.message)
    return result


def failed_year(year: int, error: BaseException | str) -> dict[str, Any]:
    """The result of a year whose task failed (an unexpected error, the store unreachable…)."""
    name = error if isinstance(error, str) else type(error).__name__
    return {"year": year, "state": _FAILED, "error": name, "files": []}


def _finish(
    engine: Engine,
    run: Any,
    state: str,
    inputs: list[dict[str, Any]],
    counts: dict[str, int],
    started: dt.datetime,
    clock: float,
    message: str | None,
) -> None:
    with open_session(engine, write=True) as db, db.begin():
        runs.finish_run(
            db, run, state=state, inputs=inputs, counts=counts, message=message,
            now=started + dt.timedelta(seconds=time.monotonic() - clock),
        )  # fmt: skip


def progress(engine: Engine, checksums: dict[int, list[str]]) -> dict[int, int]:
    """How many deliveries of each year the store has recorded (for the progress bars).

    Args:
        engine: the store.
        checksums: per year, the SHA-256 of its deliveries.
    """
    wanted = {sha for shas in checksums.values() for sha in shas}
    if not wanted:
        return dict.fromkeys(checksums, 0)
    with open_session(engine) as db:
        seen = set(db.scalars(select(Delivery.sha256).where(Delivery.sha256.in_(wanted))))
    return {year: sum(sha in seen for sha in shas) for year, shas in checksums.items()}
