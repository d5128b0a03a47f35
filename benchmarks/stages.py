"""The stages the benchmark measures, and the child process that runs one of them.

A stage is one step of the pipeline, run through its real entry point (the functions the CLI
and the Prefect flows call), on a store the parent prepared (see ``benchmarks.bench``). Each
stage has a floor (the same work with the raw libraries alone, ``benchmarks.floors``) and,
for some, a naive baseline (the same job as peers do it, ``benchmarks.naive``).

The child: ``python -m benchmarks.stages VARIANT STAGE CONTEXT_JSON`` imports what the stage
needs, sets up (untimed), runs the stage once under ``time.perf_counter`` and writes the time
and its checks into the result file named by ``BENCH_RESULT`` (see ``benchmarks.measure``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import peak_rss, write_result

#: A store state a stage starts from (``None``: no store) and the one its first run leaves.
EMPTY, EXTRACTED, ENTERED, APPROVED, PUBLISHED = (
    "empty", "extracted", "entered", "approved", "published",
)  # fmt: skip


@dataclass(frozen=True)
class Stage:
    """One measured stage.

    Attributes:
        name: its identifier (``--stages``).
        label: how the table names it.
        starts_from: the store state it needs (``None``: no store).
        leaves: the state its first run leaves, kept for the next stages (or ``None``).
        unit: what its throughput counts (``actions`` of the extraction, ``sessions``).
        floor: the floor measured for it (``None``: none; ``sum``: the sum of the floors of
            the stages it chains).
        naive: the naive baseline measured for it (or ``None``).
        inbox: the nightly's inbox holds the year's deliveries.
    """

    name: str
    label: str
    starts_from: str | None
    leaves: str | None
    unit: str
    floor: str | None
    naive: str | None
    inbox: bool = False


STAGES: tuple[Stage, ...] = (
    Stage("read_validate", "read + validate extraction", None, None, "actions",
          "read_validate", "read_validate"),
    Stage("ingest_extraction", "ingest extraction (store load)", EMPTY, EXTRACTED, "actions",
          "ingest_extraction", "ingest_extraction"),
    Stage("merge_entries", "merge entries", EXTRACTED, ENTERED, "sessions",
          "merge_entries", "merge_entries"),
    Stage("approve", "approve (all valid)", ENTERED, APPROVED, "actions", "approve", "approve"),
    Stage("publish_all", "publish (all feeds)", APPROVED, PUBLISHED, "sessions", "publish",
          "publish"),
    Stage("publish_lheo", "publish (LHEO alone)", APPROVED, None, "sessions", "publish",
          "publish"),
    Stage("nightly_full", "nightly end to end", EMPTY, None, "sessions", "sum",
          "end_to_end", inbox=True),
    Stage("nightly_idle", "nightly, nothing new", PUBLISHED, None, "sessions", None, None,
          inbox=True),
)  # fmt: skip
STAGE_NAMES = tuple(s.name for s in STAGES)
#: The stages whose floors add up to the nightly's.
NIGHTLY_PARTS = ("ingest_extraction", "merge_entries", "approve", "publish")


def stage(name: str) -> Stage:
    """The stage called ``name`` (``KeyError`` if none)."""
    for item in STAGES:
        if item.name == name:
            return item
    raise KeyError(name)


@dataclass(frozen=True)
class Context:
    """What a child needs to run a stage.

    Attributes:
        data: the generated inputs (``generation.json`` and ``<year>/``).
        url: the store's SQLAlchemy URL (``None``: no store).
        output_dir: the run's working folder (archive, quarantine, releases).
        inbox: the nightly's inbox.
        lheo: a published ``lheo.xml`` of the same data (floors and naive export).
        year: the generated year.
    """

    data: Path
    url: str | None = None
    output_dir: Path | None = None
    inbox: Path | None = None
    lheo: Path | None = None
    year: int = 2025

    def as_json(self) -> str:
        """For the child's command line."""
        return json.dumps({k: str(v) if isinstance(v, Path) else v
                           for k, v in self.__dict__.items()})  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> Context:
        """The inverse of :meth:`as_json`."""
        data = json.loads(text)
        paths = ("data", "output_dir", "inbox", "lheo")
        return cls(**{k: Path(v) if k in paths and v is not None else v for k, v in data.items()})

    def manifest(self) -> dict[str, Any]:
        """The generator's ``generation.json``."""
        return json.loads((self.data / "generation.json").read_text(encoding="utf-8"))

    @property
    def extraction(self) -> Path:
        """The year's extraction."""
        return self.data / self.manifest()["years"][str(self.year)]["extraction"]

    @property
    def entries(self) -> list[Path]:
        """The year's entry files, by name."""
        return [self.data / p for p in self.manifest()["years"][str(self.year)]["entry_files"]]


def _settings(ctx: Context, **extra: Any) -> Any:
    from pipelines.settings import Settings

    assert ctx.output_dir is not None
    return Settings(output_dir=ctx.output_dir, database_url=ctx.url, **extra)


def _engine(ctx: Context) -> Any:
    from pipelines.load.db import make_engine

    assert ctx.url is not None
    return make_engine(ctx.url)


# --- our stages: each returns a callable doing the timed work, and a check of its outcome ---


def ours_read_validate(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``validate_path`` of the extraction (nothing written)."""
    from pipelines.ingest import Limits, validate_path

    limits = Limits(2**40, 2**40)

    def work() -> dict[str, Any]:
        report, validated = validate_path(ctx.extraction, limits)
        assert validated is not None and not report.errors, "extraction refused or rows rejected"
        return {"counts": report.counts}

    return work


def ours_ingest_extraction(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``ingest_path`` of the extraction into the empty store."""
    from pipelines.ingest import ingest_path, limits_of

    settings, engine = _settings(ctx), _engine(ctx)

    def work() -> dict[str, Any]:
        result = ingest_path(
            ctx.extraction, engine=engine, output_dir=settings.output_dir,
            limits=limits_of(settings), threshold=settings.mass_withdrawal_threshold,
        )  # fmt: skip
        assert result.status == "integree", result.status
        return {"status": result.status}

    return work


def ours_merge_entries(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``ingest_entry_path`` of every entry file, in order, into the store holding the frame."""
    from pipelines.ingest import limits_of
    from pipelines.ingest_entries import ingest_entry_path
    from schemas.rules import load_rulebook

    settings, engine, rulebook, paths = _settings(ctx), _engine(ctx), load_rulebook(), ctx.entries

    def work() -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for path in paths:
            result = ingest_entry_path(
                path, engine=engine, output_dir=settings.output_dir,
                limits=limits_of(settings), rulebook=rulebook,
                threshold=settings.mass_withdrawal_threshold,
            )  # fmt: skip
            statuses[result.status] = statuses.get(result.status, 0) + 1
        assert set(statuses) == {"integree"}, statuses
        return {"files": statuses}

    return work


def ours_approve(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``journal.approve --all-valid`` (as ``catalogue approve --all-valid``)."""
    from pipelines.journal import Selection, approve

    engine = _engine(ctx)

    def work() -> dict[str, Any]:
        transitions, _ = approve(
            engine, Selection(all_valid=True), refuse=False, reason=None, who="bench"
        )
        assert transitions, "no action to approve"
        return {"approved": len(transitions)}

    return work


def ours_publish_all(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``journal.publish_release`` (as ``catalogue publish``): every feed."""
    from pipelines.journal import publish_release

    settings, engine = _settings(ctx), _engine(ctx)

    def work() -> dict[str, Any]:
        result = publish_release(engine, output_dir=settings.output_dir, keep=2)
        return {"files": len(result.manifest["files"])}

    return work


def ours_publish_lheo(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``release.publish`` with the LHEO writer alone (streamed, checked against the XSD)."""
    from pipelines.load.lheo_feed import write_lheo
    from pipelines.load.release import publish

    settings, engine = _settings(ctx), _engine(ctx)

    def work() -> dict[str, Any]:
        result = publish(engine, output_dir=settings.output_dir, keep=2, writers=[write_lheo])
        return {"files": len(result.manifest["files"])}

    return work


def _nightly(ctx: Context, expect_ingested: bool) -> Callable[[], dict[str, Any]]:
    from pipelines.nightly import run_nightly

    settings, engine = _settings(ctx, auto_approve=True), _engine(ctx)
    assert ctx.inbox is not None

    def work() -> dict[str, Any]:
        result = run_nightly(engine, settings, inbox=ctx.inbox, now=dt.datetime.now(dt.UTC))
        assert result.state == "succeeded", (result.state, result.message)
        assert bool(result.counts.get("ingested")) == expect_ingested, result.counts
        return {"counts": result.counts}

    return work


def ours_nightly_full(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``run_nightly`` on an empty store, the year's deliveries in the inbox (auto-approve)."""
    return _nightly(ctx, True)


def ours_nightly_idle(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``run_nightly`` with nothing new in the inbox, on the store published by
    ``publish_all`` (every delivery ingested and approved, a release out)."""
    return _nightly(ctx, False)


def prepare_empty(ctx: Context) -> Callable[[], dict[str, Any]]:
    """Not measured: migrate an empty store (the ``empty`` state)."""
    from pipelines.load.db import upgrade_store

    def work() -> dict[str, Any]:
        assert ctx.url is not None
        upgrade_store(ctx.url)
        return {}

    return work


def factories(variant: str) -> dict[str, Callable[[Context], Callable[[], dict[str, Any]]]]:
    """The set-up functions of a variant (``ours``, ``floor``, ``naive``, ``prepare``)."""
    if variant == "ours":
        return {name: globals()[f"ours_{name}"] for name in STAGE_NAMES}
    if variant == "prepare":
        return {"empty": prepare_empty}
    if variant == "floor":
        from benchmarks import floors

        return floors.FLOORS
    if variant == "naive":
        from benchmarks import naive

        return naive.NAIVE
    raise KeyError(variant)


def run(variant: str, name: str, ctx: Context) -> dict[str, Any]:
    """Set up, then time one run of a stage; return the result (``seconds`` and checks)."""
    work = factories(variant)[name](ctx)
    started = time.perf_counter()
    details = work() or {}
    seconds = time.perf_counter() - started
    # a floor may time only part of its work (the parse of its input excluded)
    seconds = float(details.pop("timed_seconds", seconds))
    return {"seconds": seconds, "peak_rss": peak_rss(), **details}


def main(argv: list[str] | None = None) -> int:
    """The child's entry point: ``VARIANT STAGE CONTEXT_JSON``."""
    variant, name, text = argv if argv is not None else sys.argv[1:]
    result = run(variant, name, Context.from_json(text))
    write_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
