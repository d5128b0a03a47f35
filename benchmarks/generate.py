"""Generate the Région's extraction and the organisations' entries, for N sessions a year.

Realistic inputs at any scale (about 50 to 500 000 sessions a year) for benchmarks and
backfills: real communes and postal codes of Pays de la Loire, the five programmes with real
Formacodes, valid SIRETs, French texts of realistic lengths, informations collectives, several
sessions per action and several actions per lot. Each year gets, in ``OUT/<year>/``:

* ``prf_<year>_<year>0115.xlsx``: the Région's extraction (valid: no row is rejected);
* with ``--entries``, ``saisie_<siret>_<year>0301.xlsx`` (or ``.xml`` with ``--lheo``): the
  entries of each mandataire, describing every action of its lots, complete under the
  publication rules except a small drawn share (``--incomplete``) that stays « en cours de
  saisie »;

and ``OUT/generation.json`` tells what was written (parameters, files, counts per year).

Deterministic: the same sessions, years and seed give byte-identical files, and a year's files
do not depend on the other years generated with it. Streaming: rows are generated lazily and
written as they come (xlsxwriter ``constant_memory``, lxml ``xmlfile``), so memory stays flat
as the number of sessions grows. Usage::

    python -m benchmarks.generate --sessions 100000 --years 2019-2025 --entries --out var/bench

or, from Python, :func:`generate`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.lheo import write_lheo_entries
from benchmarks.organisations import Pool
from benchmarks.plan import YearPlan, check_sessions, plan_year
from benchmarks.workbooks import (
    EntryCounts,
    ExtractionCounts,
    write_entry_workbook,
    write_extraction,
)

logger = logging.getLogger(__name__)

MANIFEST = "generation.json"
DEFAULT_SEED = 42
DEFAULT_INCOMPLETE_SHARE = 0.02
_YEARS = re.compile(r"^(\d{4})(?:-(\d{4}))?$")


def extraction_name(year: int) -> str:
    """The extraction's file name: ``prf_<year>_<year>0115.xlsx`` (delivered on 15 January)."""
    return f"prf_{year}_{year}0115.xlsx"


def entry_name(siret: str, year: int, suffix: str = ".xlsx") -> str:
    """An entry file's name: ``saisie_<siret>_<year>0301`` (sent on 1 March)."""
    return f"saisie_{siret}_{year}0301{suffix}"


def parse_years(text: str) -> list[int]:
    """Read ``2025``, ``2019-2025`` or ``2019,2021-2023`` as a sorted list of years.

    Raises:
        ValueError: not years, a range backwards, or a year outside 2000..2099.
    """
    years: set[int] = set()
    for part in text.replace(" ", "").split(","):
        match = _YEARS.match(part)
        if not match:
            raise ValueError(f"Années illisibles : « {part} » (ex. 2025, 2019-2025).")
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first or not 2000 <= first <= last <= 2099:
            raise ValueError(f"Intervalle d'années invalide : « {part} » (entre 2000 et 2099).")
        years.update(range(first, last + 1))
    return sorted(years)


@dataclass
class YearResult:
    """What was written for one year.

    Attributes:
        year: the year.
        extraction: the extraction's path.
        entries: the entry files' paths, by name.
        extraction_counts: rows per sheet of the extraction.
        entry_counts: rows per sheet of all entry files together (and incomplete actions).
        sessions: sessions of the year (the entries hold them all).
        seconds: time taken.
    """

    year: int
    extraction: Path
    entries: list[Path] = field(default_factory=list)
    extraction_counts: ExtractionCounts = field(default_factory=ExtractionCounts)
    entry_counts: EntryCounts = field(default_factory=EntryCounts)
    sessions: int = 0
    seconds: float = 0.0

    def as_dict(self, out_dir: Path) -> dict[str, Any]:
        """The year's part of the manifest (paths relative to ``out_dir``)."""
        return {
            "extraction": self.extraction.relative_to(out_dir).as_posix(),
            "extraction_counts": asdict(self.extraction_counts),
            "sessions": self.sessions,
            "entry_files": [p.relative_to(out_dir).as_posix() for p in self.entries],
            "entry_counts": asdict(self.entry_counts) if self.entries else None,
        }


def generate_year(
    out_dir: Path,
    pool: Pool,
    year: int,
    sessions: int,
    *,
    entries: bool = False,
    lheo: bool = False,
    incomplete_share: float = DEFAULT_INCOMPLETE_SHARE,
) -> YearResult:
    """Write one year's extraction (and entries) into ``out_dir/<year>/``.

    Files of an earlier generation in that folder (``prf_<year>_*``, ``saisie_*``) are removed
    first, so the folder holds exactly one generation.
    """
    started = time.perf_counter()
    plan = plan_year(pool, year, sessions)
    folder = out_dir / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.glob(f"prf_{year}_*.xlsx"), *folder.glob("saisie_*")]:
        stale.unlink()
    result = YearResult(year, folder / extraction_name(year), sessions=plan.n_sessions)
    result.extraction_counts = write_extraction(
        result.extraction, plan, created=dt.datetime(year, 1, 15, 7, 30)
    )
    if entries:
        result.entries = _write_entries(folder, plan, lheo, incomplete_share, result.entry_counts)
    result.seconds = time.perf_counter() - started
    logger.info(
        "%d: %d lots, %d actions, %d sessions, %d entry files in %.1f s",
        year,
        result.extraction_counts.lots,
        result.extraction_counts.actions,
        result.sessions,
        len(result.entries),
        result.seconds,
    )
    return result


def _generate_year_in_process(
    out_dir: Path, sessions: int, seed: int, year: int, options: dict[str, Any]
) -> YearResult:
    """:func:`generate_year` in a worker process (which rebuilds the pool from its seed)."""
    return generate_year(out_dir, Pool.for_sessions(sessions, seed), year, sessions, **options)


def _write_entries(
    folder: Path, plan: YearPlan, lheo: bool, incomplete_share: float, total: EntryCounts
) -> list[Path]:
    """Write one entry file per mandataire holding a lot; add their counts to ``total``."""
    written = []
    created = dt.datetime(plan.year, 3, 1, 8, 0)
    for mandataire in sorted(plan.by_mandataire):
        siret = plan.pool.organisation(mandataire).siret
        if lheo:
            path = folder / entry_name(siret, plan.year, ".xml")
            counts = write_lheo_entries(
                path, plan, mandataire, created=created, incomplete_share=incomplete_share
            )
        else:
            path = folder / entry_name(siret, plan.year)
            counts = write_entry_workbook(
                path, plan, mandataire, created=created, incomplete_share=incomplete_share
            )
        total.add(counts)
        written.append(path)
    return sorted(written)


def generate(
    out_dir: Path,
    *,
    sessions: int,
    years: Sequence[int],
    seed: int = DEFAULT_SEED,
    entries: bool = False,
    lheo: bool = False,
    incomplete_share: float = DEFAULT_INCOMPLETE_SHARE,
    jobs: int = 1,
) -> list[Path]:
    """Generate the extraction (and entries) of each year, and ``generation.json``.

    Args:
        out_dir: where to write (``<year>/`` folders are created in it).
        sessions: sessions per year (the entries hold exactly that many).
        years: the years, one extraction each.
        seed: the seed: the same parameters give byte-identical files.
        entries: also write the mandataires' entry files.
        lheo: write the entry files as LHEO 2.3 XML instead of workbooks.
        incomplete_share: share of the actions left incomplete on purpose (0 to 1).
        jobs: how many years are written at once (processes).

    Returns:
        The files written, in the order to ingest them: per year, the extraction, then the
        entry files by name.

    Raises:
        ValueError: sessions out of bounds (5 to 4 000 000), no year, or a share outside
            0..1.
    """
    results = generate_years(
        out_dir,
        sessions=sessions,
        years=years,
        seed=seed,
        entries=entries,
        lheo=lheo,
        incomplete_share=incomplete_share,
        jobs=jobs,
    )
    return [path for result in results for path in (result.extraction, *result.entries)]


def generate_years(
    out_dir: Path,
    *,
    sessions: int,
    years: Sequence[int],
    seed: int = DEFAULT_SEED,
    entries: bool = False,
    lheo: bool = False,
    incomplete_share: float = DEFAULT_INCOMPLETE_SHARE,
    jobs: int = 1,
) -> list[YearResult]:
    """As :func:`generate`, returning what was written for each year (files and counts).

    With ``jobs`` above 1, years are written by that many processes at once (the files are the
    same: a year depends on the parameters only).
    """
    check_sessions(sessions)
    if not years:
        raise ValueError("Aucune année demandée.")
    if not 0 <= incomplete_share <= 1:
        raise ValueError(f"Part d'actions incomplètes hors de 0..1 : {incomplete_share}.")
    out_dir.mkdir(parents=True, exist_ok=True)
    pool = Pool.for_sessions(sessions, seed)
    options = {"entries": entries, "lheo": lheo, "incomplete_share": incomplete_share}
    ordered = sorted(set(years))
    if jobs > 1 and len(ordered) > 1:
        with ProcessPoolExecutor(min(jobs, len(ordered))) as executor:
            futures = [
                executor.submit(_generate_year_in_process, out_dir, sessions, seed, year, options)
                for year in ordered
            ]
            results = [future.result() for future in futures]
    else:
        results = [generate_year(out_dir, pool, year, sessions, **options) for year in ordered]
    manifest = {
        "generator": "benchmarks.generate",
        "parameters": {
            "sessions": sessions,
            "years": [r.year for r in results],
            "seed": seed,
            "entries": entries,
            "lheo": lheo,
            "incomplete_share": incomplete_share,
        },
        "organisations": {"mandataires": pool.n_mandataires, "partenaires": pool.n_partenaires},
        "years": {str(r.year): r.as_dict(out_dir) for r in results},
    }
    (out_dir / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.generate",
        description="Génère l'extraction Région et les saisies des organismes (N sessions par "
        "année), pour les bancs d'essai et les reprises d'historique.",
    )
    parser.add_argument(
        "--sessions", type=int, required=True, help="sessions par année (≥ 5, ex. 500000)"
    )
    parser.add_argument("--years", default="2025", help="années : 2025, 2019-2025, 2019,2021-2023")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="graine (défaut : 42)")
    parser.add_argument(
        "--entries", action="store_true", help="écrit aussi les saisies des mandataires"
    )
    parser.add_argument(
        "--lheo", action="store_true", help="saisies en LHEO 2.3 (XML) au lieu de classeurs"
    )
    parser.add_argument(
        "--incomplete",
        type=float,
        default=DEFAULT_INCOMPLETE_SHARE,
        help="part des actions laissées incomplètes (défaut : 0.02)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="années écrites en parallèle (défaut : 1)"
    )
    parser.add_argument("--out", type=Path, required=True, help="dossier de sortie")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 done, 2 wrong arguments)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        years = parse_years(args.years)
        started = time.perf_counter()
        results = generate_years(
            args.out,
            sessions=args.sessions,
            years=years,
            seed=args.seed,
            entries=args.entries or args.lheo,
            lheo=args.lheo,
            incomplete_share=args.incomplete,
            jobs=args.jobs,
        )
    except ValueError as error:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"Erreur : {error}\n")
        return 2
    elapsed = time.perf_counter() - started
    out = sys.stdout
    for r in results:
        c = r.extraction_counts
        out.write(
            f"{r.year} : {r.extraction.name} ({c.programmes} programmes, {c.organismes} "
            f"organismes, {c.lots} lots, {c.actions} actions, {r.sessions} sessions)"
        )
        if r.entries:
            e = r.entry_counts
            out.write(
                f", {len(r.entries)} saisies ({e.formations} formations, {e.actions} actions "
                f"dont {e.incomplete} incomplètes, {e.sessions} sessions, "
                f"{e.informations_collectives} informations collectives)"
            )
        out.write(f" en {_french(r.seconds, 1)} s\n")
    total = sum(r.sessions for r in results)
    rate = _french(total / max(elapsed, 1e-9), 0)
    out.write(
        f"{_french(total, 0)} sessions en {_french(elapsed, 1)} s ({rate} sessions/s) dans "
        f"{args.out} (détail : {args.out / MANIFEST})\n"
    )
    return 0


def _french(number: float, decimals: int) -> str:
    """A number as French writes it: ``12 345,6``."""
    return f"{number:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


if __name__ == "__main__":
    sys.exit(main())
