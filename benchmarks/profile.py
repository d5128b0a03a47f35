"""Profile one stage of the benchmark with pyinstrument, on the same generated data.

``python -m benchmarks.profile merge_entries publish_all --sessions 10000`` generates the year
(or reuses ``var/bench/<N>-<seed>/``), builds the SQLite stores the stages start from under
``var/bench/profile/<N>/`` (``extracted``, ``entered``, ``approved``: kept, so that profiling
again starts at once), runs each stage named on a fresh copy of its store through the same
entry point as the benchmark (:mod:`benchmarks.stages`), and writes the call tree to
``benchmarks/profiles/<stage>-<N>.txt``. Not timed for the report: the profiler slows the
stage down (about 1.5–2×); read the shares, not the seconds. Each stage runs in a fresh
process, as in the benchmark, so that its one-time costs (imports, schemas) show.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.bench import ROOT, ensure_data, log
from benchmarks.stages import STAGE_NAMES, Context, factories, stage

#: The stores kept, in the order they are built, and the stage that builds each from the last.
STATES = (("extracted", "ingest_extraction"), ("entered", "merge_entries"),
          ("approved", "approve"))  # fmt: skip
#: The stages it profiles (the nightlies need an inbox: profile their parts).
PROFILED = tuple(n for n in STAGE_NAMES if not n.startswith("nightly"))


def _context(data: Path, folder: Path) -> Context:
    return Context(data=data, url=f"sqlite:///{folder / 'catalogue.db'}", output_dir=folder)


def build_states(data: Path, root: Path, stages: list[str]) -> None:
    """The stores ``stages`` start from, each built by the stage before it (once, and kept)."""
    wanted = {stage(name).starts_from for name in stages}
    last = max((i for i, (state, _) in enumerate(STATES) if state in wanted), default=-1)
    previous = root / "empty"
    shutil.rmtree(previous, ignore_errors=True)
    previous.mkdir(parents=True)
    factories("prepare")["empty"](_context(data, previous))()
    for state, name in STATES[: last + 1]:
        if not (root / state / "catalogue.db").exists():
            shutil.rmtree(root / state, ignore_errors=True)
            shutil.copytree(previous, root / state)
            factories("ours")[name](_context(data, root / state))()
        previous = root / state
    shutil.rmtree(root / "empty")


def profile(name: str, data: Path, root: Path, out: Path) -> float:
    """Run stage ``name`` on a copy of its store under pyinstrument; write the tree to ``out``."""
    from pyinstrument import Profiler

    run = root / "run"
    shutil.rmtree(run, ignore_errors=True)
    starts_from = stage(name).starts_from
    if starts_from == "empty" or starts_from is None:
        run.mkdir(parents=True)
        factories("prepare")["empty"](_context(data, run))()
    else:
        shutil.copytree(root / starts_from, run)
    work = factories("ours")[name](_context(data, run))
    profiler = Profiler(interval=0.002)
    profiler.start()
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    profiler.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(profiler.output_text(unicode=False, show_all=False), encoding="utf-8")
    shutil.rmtree(run, ignore_errors=True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile",
        description="Profile des étapes du banc d'essai (pyinstrument, SQLite).",
    )
    parser.add_argument("stages", nargs="+", choices=PROFILED, help="étapes à profiler")
    parser.add_argument("--sessions", type=int, default=10_000, help="taille (défaut : 10000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "profiles",
                        help="dossier des profils (défaut : benchmarks/profiles)")  # fmt: skip
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench",
                        help="cache des données et des bases (défaut : var/bench)")  # fmt: skip
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = args.work
    data = ensure_data(work, args.sessions, args.seed)
    root = work / "profile" / str(args.sessions)
    if args.child:  # one stage, in this fresh process: its one-time costs are in the profile
        (name,) = args.stages
        out = args.out / f"{name}-{args.sessions}.txt"
        elapsed = profile(name, data, root, out)
        log(f"{name} : {elapsed:.1f} s sous le profileur → {out}")
        return 0
    build_states(data, root, args.stages)
    for name in args.stages:  # each in a fresh process, as the benchmark runs it
        command = [sys.executable, "-m", "benchmarks.profile", name, "--child",
                   "--sessions", str(args.sessions), "--seed", str(args.seed),
                   "--out", str(args.out), "--work", str(work)]  # fmt: skip
        subprocess.run(command, cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
