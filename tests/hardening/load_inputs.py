"""Inputs of the load tests: one night of 50 organisations' entry files, from the generator.

:func:`write_night` writes, with the benchmarks' generator (:mod:`benchmarks.generate`), the
Région's extraction of one year and one entry workbook per mandataire holding a lot: exactly
:data:`ORGANISATIONS` files, each with the counts the generator says it wrote (per file, not
only the year's total of ``generation.json``). The plan is small (about 560 sessions, a few per
organisation) so that a night is ingested in seconds: the pool is the one of a large year (many
organisations to draw from), the year holds few sessions, and the seed is chosen so that 50
distinct mandataires hold its lots.

It also writes two files a night may receive that must be refused, each for its own reason:
a workbook that is not one (``fichier-illisible``) and entries named after an organisation
absent from the frame (``organisme-inconnu``: a real entry workbook, saved at another time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.generate import entry_name, extraction_name
from benchmarks.organisations import Pool
from benchmarks.plan import YearPlan, plan_year
from benchmarks.workbooks import (
    EntryCounts,
    ExtractionCounts,
    write_entry_workbook,
    write_extraction,
)

YEAR = 2025
SEED = 42
#: The pool of a year of 150 000 sessions (1 000 mandataires) ...
POOL_SESSIONS = 150_000
#: ... and a year of 560 sessions: its 54 lots fall to exactly 50 distinct mandataires.
SESSIONS = 560
ORGANISATIONS = 50
INCOMPLETE_SHARE = 0.05
#: A well-formed SIRET of no organisation of the frame (Luhn key valid).
UNKNOWN_SIRET = "73282932000074"


@dataclass
class Night:
    """The files of one night, and what the generator wrote in each.

    Attributes:
        extraction: the Région's extraction.
        extraction_counts: its rows per sheet.
        entries: entry file -> its rows per sheet (formations, actions, sessions,
            informations collectives) and the actions left incomplete on purpose.
        refused: file -> the reason it must be refused with.
        plan: the year's plan (lots, organisations).
    """

    extraction: Path
    extraction_counts: ExtractionCounts
    entries: dict[Path, EntryCounts] = field(default_factory=dict)
    refused: dict[Path, str] = field(default_factory=dict)
    plan: YearPlan | None = None

    @property
    def files(self) -> list[Path]:
        """Every file of the night: the extraction, the entries, the files to refuse."""
        return [self.extraction, *self.entries, *self.refused]

    def total(self) -> EntryCounts:
        """The entries' counts added up (what ``generation.json`` calls ``entry_counts``)."""
        total = EntryCounts()
        for counts in self.entries.values():
            total.add(counts)
        return total

    def expected_counts(self, path: Path) -> dict[str, dict[str, int]]:
        """The counts the store must record for a delivery: every row accepted."""
        if path == self.extraction:
            rows = asdict(self.extraction_counts)
        else:
            rows = asdict(self.entries[path])
            rows.pop("incomplete")
        return {sheet: {"accepted": n, "rejected": 0} for sheet, n in rows.items()}


def plan_night() -> YearPlan:
    """The year's plan: 560 sessions whose lots belong to 50 mandataires."""
    plan = plan_year(Pool.for_sessions(POOL_SESSIONS, SEED), YEAR, SESSIONS)
    assert len(plan.by_mandataire) == ORGANISATIONS, len(plan.by_mandataire)
    return plan


def write_night(folder: Path) -> Night:
    """Write the night's files into ``folder`` (see the module's docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = plan_night()
    extraction = folder / extraction_name(YEAR)
    night = Night(extraction, write_extraction(extraction, plan, created=dt.datetime(YEAR, 1, 15)))
    night.plan = plan
    created = dt.datetime(YEAR, 3, 1, 8, 0)
    for mandataire in sorted(plan.by_mandataire):
        path = folder / entry_name(plan.pool.organisation(mandataire).siret, YEAR)
        night.entries[path] = write_entry_workbook(
            path, plan, mandataire, created=created, incomplete_share=INCOMPLETE_SHARE
        )
    broken = folder / entry_name(plan.pool.organisation(0).siret, YEAR).replace("0301", "0302")
    broken.write_bytes(b"PK\x03\x04 ceci n'est pas un classeur")
    night.refused[broken] = "fichier-illisible"
    stranger = folder / entry_name(UNKNOWN_SIRET, YEAR)  # another time: other bytes
    first = min(plan.by_mandataire)
    write_entry_workbook(stranger, plan, first, created=created.replace(hour=9),
                         incomplete_share=INCOMPLETE_SHARE)  # fmt: skip
    night.refused[stranger] = "organisme-inconnu"
    return night
