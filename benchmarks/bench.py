"""The benchmark: every stage and the nightly at several sizes, against floors and a naive way.

``python -m benchmarks.bench`` (``make bench``; ``make bench-quick`` in CI). For each size N
(sessions of one generated year) it measures, each in a fresh process, ``--runs`` times, the
median wall time, the throughput and the peak RSS of:

* our stages (``benchmarks.stages``), on SQLite and on PostgreSQL (a fresh database per
  measurement, ``CREATE DATABASE bench_… TEMPLATE …`` of the state the stage starts from,
  dropped after);
* their floors (``benchmarks.floors``) and naive baselines (``benchmarks.naive``) on the same
  generated data, in the same run;
* with ``--backfill-sessions`` (full mode), a backfill of 7 generated years with 1 then 2
  workers on PostgreSQL;

then writes a Markdown report (``benchmarks/RESULTS.md``; ``--quick``:
``var/bench/RESULTS-quick.md``) and the raw runs beside it (``.json``), and checks the targets
(:data:`TARGETS`). ``--quick`` fails (exit 1) when a figure is past its generous threshold
(:data:`QUICK_FACTOR` times the target).

Generated inputs are cached in ``var/bench/<N>-<seed>/`` (deterministic, not timed). Store
states are built by the first run of the stage that leaves them (``ingest_extraction`` leaves
the store ``extracted`` that ``merge_entries`` starts from…), kept in
``var/bench/work/`` while the size is measured, then removed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import MIB, ChildFailed, ChildRun, Measurement, python, run_child
from benchmarks.stages import STAGE_NAMES, STAGES, Context, Stage, stage

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (10_000, 100_000, 500_000)
QUICK_SIZES = (10_000,)
#: quick mode: the nightly end to end is left out (it chains the stages measured one by one)
QUICK_STAGES = tuple(name for name in STAGE_NAMES if name != "nightly_full")
BACKENDS = ("sqlite", "postgresql")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NO_STORE = "-"
BACKFILL_YEARS = (2019, 2025)
#: quick mode: a figure fails when past its target by this factor (ratios ≤: × it; ≥: ÷ it)
QUICK_FACTOR = 4.0
SEED = 42


@dataclass
class Options:
    """What to measure (see ``--help``)."""

    sizes: tuple[int, ...] = DEFAULT_SIZES
    runs: int = 3
    backends: tuple[str, ...] = BACKENDS
    stages: tuple[str, ...] = STAGE_NAMES
    quick: bool = False
    out: Path = ROOT / "benchmarks" / "RESULTS.md"
    seed: int = SEED
    work: Path = ROOT / "var" / "bench"
    postgres_url: str = DEFAULT_PG
    naive_max: int = 100_000
    naive_runs: int = 1
    floors: bool = True
    backfill_sessions: int = 0
    timeout: float = 4 * 3600
    quick_factor: float = QUICK_FACTOR
    append: bool = False
    render_only: bool = False
    notes: tuple[str, ...] = ()


# --- stores: a state kept on disk (and in PostgreSQL), cloned for each measurement -----------


@dataclass
class Store:
    """Where one backend's stores of one size live, and how they are cloned and dropped.

    SQLite: a state is a folder (the output folder, ``catalogue.db`` in it), cloned by copy.
    PostgreSQL: a state is a database (cloned with ``CREATE DATABASE … TEMPLATE``) and a
    folder (the output folder: archive, releases).
    """

    backend: str
    root: Path
    tag: str
    admin_url: str = DEFAULT_PG
    databases: set[str] = field(default_factory=set)
    _count: int = 0

    def folder(self, name: str) -> Path:
        """The output folder of a state or run."""
        return self.root / name

    def url(self, name: str) -> str:
        """The store URL of a state or run."""
        if self.backend == "sqlite":
            return f"sqlite:///{(self.folder(name) / 'catalogue.db').resolve()}"
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=self._db(name)).render_as_string(False)

    def _db(self, name: str) -> str:
        return f"bench_{self.tag}_{name}".lower()

    def new(self, name: str) -> None:
        """An empty store (folder, and database on PostgreSQL)."""
        self.drop(name)
        self.folder(name).mkdir(parents=True)
        if self.backend == "postgresql":
            self._sql(f'CREATE DATABASE "{self._db(name)}"')
            self.databases.add(self._db(name))

    def clone(self, state: str) -> str:
        """A fresh copy of ``state``; return its name (a run)."""
        self._count += 1
        name = f"run{self._count}"
        self.drop(name)
        shutil.copytree(self.folder(state), self.folder(name), symlinks=True)
        if self.backend == "postgresql":
            self._sql(f'CREATE DATABASE "{self._db(name)}" TEMPLATE "{self._db(state)}"')
            self.databases.add(self._db(name))
        return name

    def keep(self, run: str, state: str) -> None:
        """Keep a run's store as a state (replacing the state of that name)."""
        self.drop(state)
        self.folder(run).rename(self.folder(state))
        if self.backend == "postgresql":
            self._sql(f'ALTER DATABASE "{self._db(run)}" RENAME TO "{self._db(state)}"')
            self.databases.discard(self._db(run))
            self.databases.add(self._db(state))

    def drop(self, name: str) -> None:
        """Remove a state or run (folder and database)."""
        shutil.rmtree(self.folder(name), ignore_errors=True)
        if self.backend == "postgresql":
            self._sql(f'DROP DATABASE IF EXISTS "{self._db(name)}" WITH (FORCE)')
            self.databases.discard(self._db(name))

    def close(self) -> None:
        """Drop every database and folder left."""
        for database in sorted(self.databases):
            self._sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self.databases.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def _sql(self, statement: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(self.admin_url)
        with psycopg.connect(
            host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
            password=url.password, dbname=url.database or "postgres", autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(statement)  # type: ignore[arg-type]


# --- inputs ----------------------------------------------------------------------------------


def ensure_data(work: Path, sessions: int, seed: int, years: Sequence[int] = (2025,)) -> Path:
    """The generated inputs of that size and seed (generated once, then reused from the cache)."""
    name = f"{sessions}-{seed}" if tuple(years) == (2025,) else f"backfill-{sessions}-{seed}"
    folder = work / name
    manifest = folder / "generation.json"
    wanted = {"sessions": sessions, "seed": seed, "years": list(years), "entries": True}
    if manifest.exists():
        parameters = json.loads(manifest.read_text(encoding="utf-8"))["parameters"]
        if all(parameters.get(k) == v for k, v in wanted.items()):
            return folder
    first, last = min(years), max(years)
    command = [python(), "-m", "benchmarks.generate", "--sessions", str(sessions),
               "--years", f"{first}-{last}" if first != last else str(first),
               "--seed", str(seed), "--entries", "--jobs", "2", "--out", str(folder)]  # fmt: skip
    log(f"génération des données : {' '.join(command[2:])}")
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return folder


def manifest_counts(data: Path, year: int = 2025) -> dict[str, int]:
    """Actions of the extraction, sessions and entry files of the generated year."""
    document = json.loads((data / "generation.json").read_text(encoding="utf-8"))
    year_doc = document["years"][str(year)]
    return {
        "actions": year_doc["extraction_counts"]["actions"],
        "sessions": year_doc["sessions"],
        "entry_files": len(year_doc["entry_files"]),
    }


def fill_inbox(inbox: Path, ctx: Context, full: bool) -> None:
    """The nightly's inbox: the year's deliveries (hard links: the cache is never moved)."""
    inbox.mkdir(parents=True, exist_ok=True)
    if not full:
        return
    for path in [ctx.extraction, *ctx.entries]:
        target = inbox / path.name
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


# --- running ---------------------------------------------------------------------------------


def log(text: str) -> None:
    """Progress on stderr (the report goes to the file)."""
    sys.stderr.write(f"[{dt.datetime.now():%H:%M:%S}] {text}\n")
    sys.stderr.flush()


def run_stage_child(variant: str, name: str, ctx: Context, options: Options) -> ChildRun:
    """One measured run of a stage, floor or naive baseline in a fresh child process."""
    command = [python(), "-m", "benchmarks.stages", variant, name, ctx.as_json()]
    env = {"PYTHONPATH": str(ROOT), "CATALOGUE_LOG_LEVEL": "WARNING"}
    log_path = options.work / "logs" / f"{variant}-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return run_child(command, env=env, cwd=ROOT, timeout=options.timeout, log=log_path)


class Bench:
    """One benchmark run: the measurements, as they come."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.measurements: dict[tuple[int, str, str, str], Measurement] = {}
        self.loaded: set[tuple[int, str, str, str]] = set()
        self.failures: list[str] = []
        #: called after each run (the report is rewritten: a stopped run keeps what it took)
        self.on_record: Callable[[], object] | None = None

    def record(
        self, size: int, name: str, backend: str, variant: str, run: ChildRun, items: int,
        unit: str,
    ) -> None:  # fmt: skip
        """Add one run to its measurement."""
        key = (size, name, backend, variant)
        if key in self.loaded:  # measured again: the earlier runs go
            self.loaded.discard(key)
            del self.measurements[key]
        m = self.measurements.setdefault(key, Measurement(size, name, backend, variant))
        m.items, m.unit = items, unit
        m.add(run)
        if self.on_record:
            self.on_record()
        log(f"{size} {name} {backend} {variant}: {run.seconds:.2f} s, "
            f"{run.peak_rss / MIB:.0f} MiB")  # fmt: skip

    def load(self, path: Path) -> None:
        """Keep the measurements of an earlier report (``--append``); new runs replace them."""
        if not path.exists():
            return
        for item in json.loads(path.read_text(encoding="utf-8"))["measurements"]:
            m = Measurement.from_dict(item)
            self.measurements[(m.size, m.stage, m.backend, m.variant)] = m
        self.loaded = set(self.measurements)

    def get(self, size: int, name: str, backend: str, variant: str) -> Measurement | None:
        """A measurement, if taken."""
        return self.measurements.get((size, name, backend, variant))

    # -- a size --

    def run_size(self, size: int) -> None:
        """Every selected measurement at one size."""
        options = self.options
        data = ensure_data(options.work, size, options.seed)
        counts = manifest_counts(data)
        ctx = Context(data=data)
        naive = size <= options.naive_max
        wanted = set(options.stages)
        if "read_validate" in wanted:
            self._repeat(size, stage("read_validate"), NO_STORE, "ours", ctx, counts)
            if options.floors:
                self._repeat(size, stage("read_validate"), NO_STORE, "floor", ctx, counts)
            if options.floors and naive:
                self._repeat(size, stage("read_validate"), NO_STORE, "naive", ctx, counts,
                             runs=options.naive_runs)  # fmt: skip
        lheo: Path | None = None
        for backend in options.backends:
            store = Store(backend, options.work / "work" / f"{size}-{backend}", f"{size}")
            store.admin_url = options.postgres_url
            try:
                lheo = self._run_backend(size, store, ctx, counts, naive, lheo)
            finally:
                store.close()
        if lheo is not None:
            lheo.unlink(missing_ok=True)  # the copy the floors and the naive export read
        self._derive(size)

    def _run_backend(
        self, size: int, store: Store, ctx: Context, counts: dict[str, int], naive: bool,
        lheo: Path | None,
    ) -> Path | None:  # fmt: skip
        """Our stages on one backend (with the states they need), then floors and baselines."""
        options, backend = self.options, store.backend
        wanted = set(options.stages)
        needed = _with_prerequisites(wanted)
        store.new("empty")
        prepare = dataclasses.replace(ctx, url=store.url("empty"), output_dir=store.folder("empty"))
        run_stage_child("prepare", "empty", prepare, options)
        kept_lheo = None
        for item in STAGES:
            if item.starts_from is None or item.name not in needed:
                continue
            measured = item.name in wanted
            runs = options.runs if measured else 1
            for index in range(runs):
                run = store.clone(item.starts_from)
                run_ctx = dataclasses.replace(
                    ctx, url=store.url(run), output_dir=store.folder(run),
                    inbox=store.folder(run) / "inbox" if item.inbox else None,
                )  # fmt: skip
                if item.inbox:
                    fill_inbox(store.folder(run) / "inbox", ctx, item.name == "nightly_full")
                result = run_stage_child("ours", item.name, run_ctx, options)
                if measured:
                    self.record(size, item.name, backend, "ours", result,
                                counts[item.unit], item.unit)  # fmt: skip
                if index == 0 and item.leaves:
                    store.keep(run, item.leaves)
                else:
                    store.drop(run)
            if item.name == "publish_all" and lheo is None:
                published = store.folder("published") / "current" / "offre-info" / "lheo.xml"
                kept_lheo = options.work / "work" / f"{size}-lheo.xml"
                shutil.copyfile(published, kept_lheo)
                lheo = kept_lheo
        if options.floors:
            self._floors_and_naive(size, store, ctx, counts, naive, lheo, fresh_publish=bool(
                kept_lheo))  # fmt: skip
        return lheo

    def _floors_and_naive(
        self, size: int, store: Store, ctx: Context, counts: dict[str, int], naive: bool,
        lheo: Path | None, fresh_publish: bool,
    ) -> None:  # fmt: skip
        options, backend = self.options, store.backend
        wanted = set(options.stages)
        variants = ["floor", "naive"] if naive else ["floor"]
        plan = [
            ("ingest_extraction", None, "actions"),
            ("merge_entries", None, "sessions"),
            ("approve", "entered", "actions"),
        ]
        for variant in variants:
            runs = options.runs if variant == "floor" else options.naive_runs
            for name, state, unit in plan:
                if name not in wanted and "nightly_full" not in wanted:
                    continue
                if state is not None and not store.folder(state).exists():
                    continue
                for _ in range(runs):
                    if state is None:
                        run = f"fresh{self._fresh()}"
                        store.new(run)
                    else:
                        run = store.clone(state)
                    run_ctx = dataclasses.replace(
                        ctx, url=store.url(run), output_dir=store.folder(run)
                    )
                    result = run_stage_child(variant, name, run_ctx, options)
                    self.record(size, name, backend, variant, result, counts[unit], unit)
                    store.drop(run)
            publish_wanted = {"publish_all", "publish_lheo", "nightly_full"} & wanted
            if fresh_publish and lheo is not None and publish_wanted:
                folder = options.work / "work" / f"{size}-xml"
                for _ in range(runs):
                    folder.mkdir(parents=True, exist_ok=True)
                    run_ctx = dataclasses.replace(ctx, lheo=lheo, output_dir=folder)
                    result = run_stage_child(variant, "publish", run_ctx, options)
                    self.record(size, "publish", NO_STORE, variant, result, counts["sessions"],
                                "sessions")  # fmt: skip
                shutil.rmtree(folder, ignore_errors=True)

    _fresh_count = 0

    def _fresh(self) -> int:
        self._fresh_count += 1
        return self._fresh_count

    def _repeat(
        self, size: int, item: Stage, backend: str, variant: str, ctx: Context,
        counts: dict[str, int], runs: int | None = None,
    ) -> None:  # fmt: skip
        for _ in range(runs or self.options.runs):
            result = run_stage_child(variant, item.name, ctx, self.options)
            self.record(size, item.name, backend, variant, result, counts[item.unit], item.unit)

    def _derive(self, size: int) -> None:
        """The nightly's floor (sum of its parts' floors) and the naive end to end (sum)."""
        for backend in self.options.backends:
            parts = [
                self.get(size, p, backend, "floor") or self.get(size, p, NO_STORE, "floor")
                for p in ("ingest_extraction", "merge_entries", "approve", "publish")
            ]
            if all(parts) and self.get(size, "nightly_full", backend, "ours"):
                self._sum(
                    size,
                    "nightly_full",
                    backend,
                    "floor",
                    parts,  # type: ignore[arg-type]
                    "sum of the floors of ingest, merge, approve, publish",
                )
            naive = [
                self.get(size, p, backend, "naive") or self.get(size, p, NO_STORE, "naive")
                for p in ("ingest_extraction", "merge_entries", "approve", "publish")
            ]
            if all(naive) and self.get(size, "nightly_full", backend, "ours"):
                self._sum(
                    size,
                    "nightly_full",
                    backend,
                    "naive",
                    naive,  # type: ignore[arg-type]
                    "sum of the naive ingest, merge, approve, export",
                )

    def _sum(
        self, size: int, name: str, backend: str, variant: str, parts: list[Measurement],
        note: str,
    ) -> None:  # fmt: skip
        ours = self.get(size, name, backend, "ours")
        assert ours is not None
        self.measurements[(size, name, backend, variant)] = Measurement(
            size, name, backend, variant,
            seconds=[sum(p.median_seconds for p in parts)],
            peak_rss=[max(p.median_rss for p in parts)],
            items=ours.items, unit=ours.unit, note=note,
        )  # fmt: skip

    # -- backfill --

    def run_backfill(self) -> None:
        """A backfill of 7 generated years, 2 then 1 workers, on PostgreSQL (CLI, Dask).

        Two workers go first: Prefect's first start in a new home is the slowest, which then
        counts against the speed-up, never for it. A failed backfill is logged and reported
        (``failures``), not raised: the rest of the report still goes out.
        """
        options = self.options
        sessions = options.backfill_sessions
        first, last = BACKFILL_YEARS
        data = ensure_data(options.work, sessions, options.seed, list(range(first, last + 1)))
        source = options.work / "work" / "backfill-source"
        shutil.rmtree(source, ignore_errors=True)
        for year in range(first, last + 1):
            (source / str(year)).mkdir(parents=True)
            for path in sorted((data / str(year)).iterdir()):
                os.link(path, source / str(year) / path.name)
        store = Store("postgresql", options.work / "work" / "backfill", "backfill",
                      options.postgres_url)  # fmt: skip
        prefect_home = options.work / ".prefect"
        prefect_home.mkdir(parents=True, exist_ok=True)
        try:
            store.new("empty")
            run_stage_child("prepare", "empty", Context(data=data, url=store.url("empty"),
                            output_dir=store.folder("empty")), options)  # fmt: skip
            for workers in (2, 1):
                for _ in range(options.runs):
                    run = store.clone("empty")
                    command = [python(), "-m", "benchmarks.measure", "--",
                               python(), "-m", "pipelines", "backfill", "--from", str(first),
                               "--to", str(last), "--source", str(source), "--workers",
                               str(workers), "--json"]  # fmt: skip
                    env = {"CATALOGUE_DATABASE_URL": store.url(run),
                           "CATALOGUE_OUTPUT_DIR": str(store.folder(run)),
                           "PREFECT_HOME": str(prefect_home), "PYTHONPATH": str(ROOT)}  # fmt: skip
                    try:
                        result = run_child(command, env=env, cwd=ROOT, timeout=options.timeout,
                                           log=options.work / "logs" / "backfill.log")  # fmt: skip
                    except ChildFailed as error:
                        log(f"rechargement en échec : {error}")
                        self.failures.append(f"backfill, {workers} worker(s): {error}"[:300])
                        store.drop(run)
                        return
                    self.record(sessions, f"backfill_{workers}", "postgresql", "ours", result,
                                sessions * (last - first + 1), "sessions")  # fmt: skip
                    store.drop(run)
        finally:
            store.close()
            shutil.rmtree(source, ignore_errors=True)


def _with_prerequisites(wanted: set[str]) -> set[str]:
    """The stages to run: the wanted ones and those that leave the states they start from."""
    leaves = {s.leaves: s.name for s in STAGES if s.leaves}
    needed = set(wanted)
    changed = True
    while changed:
        changed = False
        for name in list(needed):
            start = stage(name).starts_from
            if start and start in leaves and leaves[start] not in needed:
                needed.add(leaves[start])
                changed = True
    return needed


# --- targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A target of the issue, checked on the measurements.

    Attributes:
        key: identifier.
        text: what it says (in the report).
        limit: the target value.
        at_most: the figure must be ≤ the limit (else ≥).
        figure: computes the figure, and says where it comes from (``None``: not measured).
        unit: how the figure is printed (``×``, ``%``, ``MiB``).
    """

    key: str
    text: str
    limit: float
    at_most: bool
    figure: Callable[[Sequence[Measurement]], tuple[float, str] | None]
    unit: str = "×"
    guard: float | None = None

    def quick_limit(self, factor: float) -> float:
        """The generous threshold of the quick mode: ``factor`` times the target, or for a
        target not met yet, ``guard`` (about twice today's figure at N = 10 000): the quick
        bench catches a regression, not the distance still to go."""
        limit = self.limit * factor if self.at_most else self.limit / factor
        if self.guard is None:
            return limit
        return max(limit, self.guard) if self.at_most else min(limit, self.guard)


@dataclass(frozen=True)
class Verdict:
    """A target's outcome: ``met``, ``missed`` or ``not measured``; and the quick check."""

    target: Target
    value: float | None
    where: str
    state: str
    quick_ok: bool


def _n(size: int) -> str:
    """A size as the report writes it: ``100 000``."""
    return f"{size:_}".replace("_", " ")


def _find(ms: Sequence[Measurement], **kw: Any) -> list[Measurement]:
    return [m for m in ms if all(getattr(m, k) == v for k, v in kw.items())]


def _largest(ms: Sequence[Measurement], name: str, variant: str = "ours") -> int | None:
    sizes = [m.size for m in _find(ms, stage=name, variant=variant)]
    return max(sizes) if sizes else None


def ratio_to_floor(name: str, floor_name: str | None = None) -> Callable[..., Any]:
    """The worst (largest) ratio of a stage to its floor over the backends, at its largest size."""

    def figure(ms: Sequence[Measurement]) -> tuple[float, str] | None:
        size = _largest(ms, name)
        if size is None:
            return None
        worst: tuple[float, str] | None = None
        for ours in _find(ms, stage=name, size=size, variant="ours"):
            floor = floor_of(ms, ours, floor_name)
            if floor is None:
                continue
            value = ours.median_seconds / floor.median_seconds
            if worst is None or value > worst[0]:
                worst = (value, f"N={_n(size)}, {ours.backend}")
        return worst

    return figure


def floor_of(
    ms: Sequence[Measurement], ours: Measurement, floor_name: str | None = None
) -> Measurement | None:
    """The floor a measurement is compared with (same size, backend, else the store-less one)."""
    name = floor_name or (stage(ours.stage).floor if ours.stage in STAGE_NAMES else None)
    if not name or name == "sum":
        name = ours.stage
    for backend in (ours.backend, NO_STORE):
        found = _find(ms, stage=name, size=ours.size, backend=backend, variant="floor")
        if found:
            return found[0]
    return None


def naive_of(ms: Sequence[Measurement], ours: Measurement) -> Measurement | None:
    """The naive baseline of a measurement (same size, backend, else the store-less one)."""
    name = stage(ours.stage).naive if ours.stage in STAGE_NAMES else None
    if not name:
        return None
    name = ours.stage if name == "end_to_end" else name
    for backend in (ours.backend, NO_STORE):
        found = _find(ms, stage=name, size=ours.size, backend=backend, variant="naive")
        if found:
            return found[0]
    return None


def publish_rss(ms: Sequence[Measurement]) -> tuple[float, str] | None:
    """The largest peak RSS of the publication (all feeds), at its largest size, in MiB."""
    size = _largest(ms, "publish_all")
    found = _find(ms, stage="publish_all", size=size, variant="ours")
    if not found:
        return None
    worst = max(found, key=lambda m: m.median_rss)
    return worst.median_rss / MIB, f"N={_n(size)}, {worst.backend}"


def publish_rss_growth(ms: Sequence[Measurement]) -> tuple[float, str] | None:
    """Peak RSS of the publication at the largest size over that at the smallest ≥ 50 000."""
    sizes = sorted({m.size for m in _find(ms, stage="publish_all", variant="ours")})
    sizes = [s for s in sizes if s >= 50_000]
    if len(sizes) < 2:
        return None
    worst: tuple[float, str] | None = None
    for backend in sorted({m.backend for m in _find(ms, stage="publish_all")}):
        low = _find(ms, stage="publish_all", size=sizes[0], backend=backend, variant="ours")
        high = _find(ms, stage="publish_all", size=sizes[-1], backend=backend, variant="ours")
        if low and high:
            value = high[0].median_rss / low[0].median_rss
            if worst is None or value > worst[0]:
                worst = (value, f"N={_n(sizes[0])} → {_n(sizes[-1])}, {backend}")
    return worst


def full_run_seconds(ms: Sequence[Measurement], size: int, backend: str) -> tuple[float, str]:
    """The full nightly's median time; without it, the sum of the stages it chains."""
    full = _find(ms, stage="nightly_full", size=size, backend=backend, variant="ours")
    if full:
        return full[0].median_seconds, "nightly"
    parts = [
        _find(ms, stage=name, size=size, backend=backend, variant="ours")
        for name in ("ingest_extraction", "merge_entries", "approve", "publish_all")
    ]
    if all(parts):
        return sum(p[0].median_seconds for p in parts), "sum of the stages"
    return 0.0, ""


def idle_share(ms: Sequence[Measurement]) -> tuple[float, str] | None:
    """The nightly with nothing new as a share of the full nightly (worst backend), in %, at
    the largest size where both are known."""
    sizes = sorted({m.size for m in _find(ms, stage="nightly_idle", variant="ours")}, reverse=True)
    for size in sizes:
        worst: tuple[float, str] | None = None
        for idle in _find(ms, stage="nightly_idle", size=size, variant="ours"):
            full, what = full_run_seconds(ms, idle.size, idle.backend)
            if full > 0:
                value = 100 * idle.median_seconds / full
                if worst is None or value > worst[0]:
                    worst = (value, f"N={_n(size)}, {idle.backend}, of the {what}")
        if worst:
            return worst
    return None


def naive_gain(memory: bool) -> Callable[..., Any]:
    """Naive end to end over ours (time, or peak memory), the worst backend, at N=100 000
    (else the largest size with a naive baseline)."""

    def figure(ms: Sequence[Measurement]) -> tuple[float, str] | None:
        sizes = sorted({m.size for m in _find(ms, stage="nightly_full", variant="naive")})
        if not sizes:
            return None
        size = 100_000 if 100_000 in sizes else sizes[-1]
        worst: tuple[float, str] | None = None
        for naive in _find(ms, stage="nightly_full", size=size, variant="naive"):
            ours = _find(ms, stage="nightly_full", size=size, backend=naive.backend,
                         variant="ours")  # fmt: skip
            if not ours:
                continue
            if memory:
                value = naive.median_rss / ours[0].median_rss
            else:
                value = naive.median_seconds / ours[0].median_seconds
            if worst is None or value < worst[0]:
                worst = (value, f"N={_n(size)}, {naive.backend}")
        return worst

    return figure


def backfill_speedup(ms: Sequence[Measurement]) -> tuple[float, str] | None:
    """Backfill time with 1 worker over 2 workers (PostgreSQL), at the largest years measured."""
    sizes = {m.size for m in _find(ms, stage="backfill_1")}
    sizes &= {m.size for m in _find(ms, stage="backfill_2")}
    if not sizes:
        return None
    one, two = (_find(ms, stage=f"backfill_{n}", size=max(sizes))[0] for n in (1, 2))
    return one.median_seconds / two.median_seconds, f"N={_n(one.size)} a year, 7 years"


TARGETS: tuple[Target, ...] = (
    Target("publish", "publish (all feeds) ≤ 1.5× floor (xmlfile write + per-formation XSD)",
           1.5, True, ratio_to_floor("publish_all"), guard=20),
    Target("publish_lheo", "publish (LHEO alone) ≤ 1.5× floor", 1.5, True,
           ratio_to_floor("publish_lheo"), guard=10),
    Target("publish_rss", "publish peak RSS ≤ 300 MiB", 300, True, publish_rss, "MiB"),
    Target("publish_rss_flat", "publish peak RSS flat from 50k to 500k (≤ 1.2×)", 1.2, True,
           publish_rss_growth),
    Target("ingest", "ingest extraction ≤ 3× floor (fastexcel + vectorised checks + bulk load)",
           3, True, ratio_to_floor("ingest_extraction")),
    Target("merge", "merge entries ≤ 3× floor (read + bulk load)", 3, True,
           ratio_to_floor("merge_entries"), guard=18),
    Target("idle", "nightly with nothing new ≤ 5 % of the full nightly", 5, True, idle_share,
           "%"),
    Target("naive_time", "naive end to end / ours ≥ 5× (N=100k)", 5, False, naive_gain(False)),
    Target("naive_memory", "naive peak memory / ours ≥ 10× (N=100k)", 10, False,
           naive_gain(True)),
    Target("backfill", "backfill 7 years, 2 workers ≥ 1.7× faster than 1 (PostgreSQL)", 1.7,
           False, backfill_speedup),
)  # fmt: skip


def check_targets(
    measurements: Sequence[Measurement], factor: float = QUICK_FACTOR,
    targets: Sequence[Target] = TARGETS,
) -> list[Verdict]:  # fmt: skip
    """Each target's verdict on the measurements (and its quick-mode threshold check)."""
    verdicts = []
    for target in targets:
        found = target.figure(measurements)
        if found is None:
            verdicts.append(Verdict(target, None, "", "not measured", True))
            continue
        value, where = found
        if target.at_most:
            met, quick_ok = value <= target.limit, value <= target.quick_limit(factor)
        else:
            met, quick_ok = value >= target.limit, value >= target.quick_limit(factor)
        verdicts.append(Verdict(target, value, where, "met" if met else "missed", quick_ok))
    return verdicts


# --- the report ------------------------------------------------------------------------------


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def _fmt_rate(m: Measurement) -> str:
    rate = m.throughput
    text = f"{rate:,.0f}".replace(",", " ") if rate >= 100 else f"{rate:.1f}"
    return f"{text} {m.unit}/s"


def _fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _sort_key(m: Measurement) -> tuple[Any, ...]:
    order = {name: i for i, name in enumerate(STAGE_NAMES)}
    backends = {NO_STORE: 0, "sqlite": 1, "postgresql": 2}
    variants = {"ours": 0, "floor": 1, "naive": 2}
    return (m.size, order.get(m.stage, 99), m.stage, backends.get(m.backend, 9), m.backend,
            variants.get(m.variant, 9))  # fmt: skip


def stage_table(ms: Sequence[Measurement], size: int, backfill: bool = False) -> list[str]:
    """The table of our stages at one size (ratios to the floor and of the naive way); with
    ``backfill``, the backfill's measurements alone."""
    lines = [
        "| stage | backend | median s | throughput | peak RSS | ratio to floor | naive/ours "
        "| runs |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {s.name: s.label for s in STAGES}
    labels.update(backfill_1="backfill 7 years, 1 worker", backfill_2="backfill 7 years, 2 workers")
    found = [m for m in _find(ms, size=size, variant="ours")
             if m.stage.startswith("backfill") == backfill]  # fmt: skip
    for m in sorted(found, key=_sort_key):
        floor = floor_of(ms, m) if m.stage in STAGE_NAMES else None
        naive = naive_of(ms, m) if m.stage in STAGE_NAMES else None
        ratio = m.median_seconds / floor.median_seconds if floor else None
        gain = naive.median_seconds / m.median_seconds if naive else None
        lines.append(
            f"| {labels.get(m.stage, m.stage)} | {m.backend} | {_fmt_s(m.median_seconds)} | "
            f"{_fmt_rate(m)} | {m.median_rss / MIB:.0f} MiB | {_fmt_ratio(ratio)} | "
            f"{_fmt_ratio(gain)} | {len(m.seconds)} |"
        )
    return lines


def reference_table(ms: Sequence[Measurement], size: int) -> list[str]:
    """The floors and naive baselines at one size, as measured."""
    found = sorted(_find(ms, size=size, variant="floor") + _find(ms, size=size, variant="naive"),
                   key=_sort_key)  # fmt: skip
    if not found:
        return []
    lines = ["| measured | backend | kind | median s | runs | peak RSS | note |",
             "|---|---|---|---:|---:|---:|---|"]  # fmt: skip
    for m in found:
        lines.append(
            f"| {m.stage} | {m.backend} | {m.variant} | {_fmt_s(m.median_seconds)} | "
            f"{len(m.seconds)} | {m.median_rss / MIB:.0f} MiB | {m.note} |"
        )
    return lines


def machine() -> list[str]:
    """The machine and the versions, for the report's header."""
    import importlib.metadata as md
    import sqlite3

    from lxml import etree

    def version(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "absent"

    ram = "?"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in ("pandas", "pandera", "python-calamine", "fastexcel", "openpyxl", "lxml",
                     "SQLAlchemy", "psycopg", "prefect")
    )  # fmt: skip
    return [
        f"- Machine: {os.cpu_count()} cores ({cpu}), {ram} RAM, {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()}; {packages}; libxml2 "
        f"{'.'.join(map(str, etree.LIBXML_VERSION))}; SQLite {sqlite3.sqlite_version}",
    ]


def postgres_version(url: str) -> str:
    """The server's version (or why it is unknown)."""
    try:
        store = Store("postgresql", Path("."), "v", url)
        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(store.admin_url)
        with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username,
                             dbname=u.database or "postgres") as conn:  # fmt: skip
            row = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"
    except Exception as error:  # the report still goes out
        return f"PostgreSQL unknown ({type(error).__name__})"


def git_commit() -> str:
    """The commit measured (and whether the tree had changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=ROOT, capture_output=True, text=True).stdout  # fmt: skip
        # the reports this benchmark rewrites are not changes to what was measured
        dirty = [line for line in status.splitlines()
                 if not line[3:].startswith("benchmarks/RESULTS")]  # fmt: skip
        return f"{head}{' (with uncommitted changes)' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_lines(options: Options, elapsed: float) -> list[str]:
    """How the measurements were taken (the header's last lines)."""
    mode = "quick" if options.quick else "full"
    sizes = ", ".join(f"{s:_}".replace("_", " ") for s in options.sizes)
    lines = [f"- {note}" for note in options.notes]
    if options.render_only:
        return [*lines, "- Re-rendered from the raw runs (`--render-only`)."]
    lines.append(
        f"- Mode: {mode}; this run: sizes {sizes} sessions; {options.runs} run(s) each (naive "
        f"baselines: {options.naive_runs}, up to N={options.naive_max:_}); backends: "
        f"{', '.join(options.backends)}; stages: {', '.join(options.stages)}; seed "
        f"{options.seed}; took {elapsed / 60:.1f} min".replace("_", " ")
    )
    if options.append:
        lines.append(
            "- `--append`: the measurements of earlier runs written to this report were kept "
            "(the runs column says how many runs each median is of)."
        )
    return lines


def render(
    measurements: Sequence[Measurement], verdicts: Sequence[Verdict], *, options: Options,
    header: Sequence[str], elapsed: float,
) -> str:  # fmt: skip
    """The Markdown report (deterministically ordered)."""
    mode = "quick" if options.quick else "full"
    lines = [
        f"# Benchmark results ({mode} mode)",
        "",
        "Produced by `python -m benchmarks.bench"
        + (" --quick" if options.quick else "")
        + "` (see `benchmarks/README.md`); every figure is the median of the runs, each run "
        "in a fresh process; peak RSS is the child's own high-water mark (`VmHWM`, interpreter "
        "and imports included). Ratios to the floor: ours "
        "over the raw libraries doing the same work on the same data (lower is better); "
        "naive/ours: the naive way's time over ours (higher is better).",
        "",
        *header,
        *run_lines(options, elapsed),
        "",
    ]
    for size in sorted({m.size for m in measurements if not m.stage.startswith("backfill")}):
        lines += [f"## N = {size:_} sessions".replace("_", " "), "",
                  *stage_table(measurements, size), ""]  # fmt: skip
        reference = reference_table(measurements, size)
        if reference:
            lines += [f"Floors and naive baselines at N = {size:_}:".replace("_", " "), "",
                      *reference, ""]  # fmt: skip
    for size in sorted({m.size for m in measurements if m.stage.startswith("backfill")}):
        lines += [f"## Backfill: 7 years of {size:_} sessions, PostgreSQL".replace("_", " "), "",
                  *stage_table(measurements, size, backfill=True), ""]  # fmt: skip
    lines += ["## Targets", "", "| target | figure | where | verdict |", "|---|---:|---|---|"]
    for v in verdicts:
        figure = "–" if v.value is None else f"{v.value:.2f}{v.target.unit.replace('MiB', ' MiB')}"
        verdict = v.state if not options.quick else (
            f"{v.state}; quick threshold {v.target.quick_limit(options.quick_factor):.2f}"
            f"{v.target.unit}: {'ok' if v.quick_ok else 'FAILED'}"
        )  # fmt: skip
        lines.append(f"| {v.target.text} | {figure} | {v.where or '–'} | {verdict} |")
    lines.append("")
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench",
        description="Banc d'essai : chaque étape et le nightly à plusieurs tailles, comparés au "
        "plancher des bibliothèques brutes et à une façon naïve.",
    )
    parser.add_argument("--sizes", help="sessions, ex. 10000,100000,500000")
    parser.add_argument("--runs", type=int, help="exécutions par mesure (défaut 3)")
    parser.add_argument("--backends", help="sqlite,postgresql")
    parser.add_argument("--stages", help=f"étapes parmi {','.join(STAGE_NAMES)}")
    parser.add_argument("--quick", action="store_true",
                        help="CI : N=10 000, SQLite, seuils larges, code 1 si dépassés")  # fmt: skip
    parser.add_argument("--out", type=Path, help="le rapport Markdown")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--work", type=Path, help="cache et dossier de travail (var/bench)")
    parser.add_argument("--postgres-url", help="serveur PostgreSQL (une base créée par mesure)")
    parser.add_argument("--naive-max", type=int, help="plus grande taille de la base naïve")
    parser.add_argument("--naive-runs", type=int, help="exécutions de la base naïve (défaut 1)")
    parser.add_argument("--no-floors", action="store_true", help="ni planchers ni base naïve")
    parser.add_argument("--backfill-sessions", type=int,
                        help="sessions par an du rechargement 7 ans (0 : sans ; défaut 20000 "
                        "en mode complet)")  # fmt: skip
    parser.add_argument("--quick-factor", type=float, default=QUICK_FACTOR)
    parser.add_argument(
        "--render-only", action="store_true",
        help="réécrit le rapport depuis son .json, sans rien mesurer",
    )  # fmt: skip
    parser.add_argument("--note", action="append", default=[], help="une ligne d'en-tête")
    parser.add_argument(
        "--append", action="store_true",
        help="garde les mesures du rapport existant (.json) qui ne sont pas refaites",
    )  # fmt: skip
    return parser


def options_from(argv: Sequence[str] | None = None) -> Options:
    """The options of a command line (quick mode's defaults applied)."""
    args = _parser().parse_args(argv)
    quick = bool(args.quick)
    options = Options(quick=quick)
    if quick:
        options.sizes, options.backends, options.runs = QUICK_SIZES, ("sqlite",), 1
        options.stages = QUICK_STAGES
        options.naive_max, options.out = 0, ROOT / "var" / "bench" / "RESULTS-quick.md"
    else:
        options.backfill_sessions = 20_000
    if args.sizes:
        options.sizes = tuple(sorted({int(s) for s in args.sizes.split(",")}))
    if args.runs:
        options.runs = args.runs
    if args.backends:
        options.backends = tuple(b.strip() for b in args.backends.split(","))
        unknown = set(options.backends) - set(BACKENDS)
        if unknown:
            raise SystemExit(f"Base inconnue : {', '.join(sorted(unknown))} (sqlite, postgresql)")
    if args.stages:
        options.stages = tuple(s.strip() for s in args.stages.split(","))
        unknown = set(options.stages) - set(STAGE_NAMES)
        if unknown:
            raise SystemExit(f"Étape inconnue : {', '.join(sorted(unknown))}")
    if args.out:
        options.out = args.out
    if args.work:
        options.work = args.work
    options.seed = args.seed
    if args.postgres_url:
        options.postgres_url = args.postgres_url
    elif os.environ.get("CATALOGUE_BENCH_POSTGRES_URL"):
        options.postgres_url = os.environ["CATALOGUE_BENCH_POSTGRES_URL"]
    if args.naive_max is not None:
        options.naive_max = args.naive_max
    if args.naive_runs:
        options.naive_runs = args.naive_runs
    options.floors = not args.no_floors
    if args.backfill_sessions is not None:
        options.backfill_sessions = args.backfill_sessions
    options.quick_factor = args.quick_factor
    options.append = bool(args.append) or bool(args.render_only)
    options.render_only = bool(args.render_only)
    options.notes = tuple(args.note)
    return options


def write_report(
    bench: Bench, options: Options, elapsed: float, header: Sequence[str] | None = None
) -> list[Verdict]:
    """Write the Markdown report and the raw runs (``.json`` beside it); return the verdicts."""
    measurements = sorted(bench.measurements.values(), key=_sort_key)
    verdicts = check_targets(measurements, options.quick_factor)
    if header is None:
        header = [
            *machine(),
            f"- {postgres_version(options.postgres_url)}"
            if "postgresql" in options.backends or options.backfill_sessions
            else "- PostgreSQL not measured",
            f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; commit {git_commit()}",
        ]
    header = [*header, *(f"- Failed: {failure}" for failure in bench.failures)]
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(
        render(measurements, verdicts, options=options, header=header, elapsed=elapsed),
        encoding="utf-8",
    )
    raw = {"measurements": [m.as_dict() for m in measurements]}
    options.out.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n", "utf-8")
    return verdicts


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 done (1 in quick mode when a threshold is passed)."""
    options = options_from(argv)
    started = time.perf_counter()
    bench = Bench(options)
    if options.append:
        bench.load(options.out.with_suffix(".json"))
    if options.render_only:
        options.sizes, options.backfill_sessions = (), 0
    bench.on_record = lambda: write_report(bench, options, time.perf_counter() - started)
    for size in options.sizes:
        log(f"taille {size}")
        bench.run_size(size)
        write_report(bench, options, time.perf_counter() - started)  # progress kept
    if options.backfill_sessions and "postgresql" in options.backends:
        bench.run_backfill()
    verdicts = write_report(bench, options, time.perf_counter() - started)
    for v in verdicts:
        figure = "non mesuré" if v.value is None else f"{v.value:.2f}{v.target.unit}"
        log(f"objectif {v.target.key}: {figure} {v.where} → {v.state}"
            + ("" if v.quick_ok else " (seuil rapide dépassé)"))  # fmt: skip
    log(f"rapport : {options.out} ({(time.perf_counter() - started) / 60:.1f} min)")
    if options.quick and not all(v.quick_ok for v in verdicts):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
