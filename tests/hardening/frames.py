"""A frame with two mandataires sharing a formateur site, and entry files against it.

* OF 3012 (``SIRET_A``, ``SIRET_B``) holds lots ``PSS2025_1``, ``PE2025_2``, ``1E1F2025_3``;
* OF 5000 (``SIRET_D``) holds lot ``PSS2025_4`` (actions 100005 and 100006);
* OF 4100 (``SIRET_C``) is the formateur of action 100002 (lot of 3012) *and* of action 100005
  (lot of 5000): its site is writable by mandataire 3012 for its own lot only.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from pipelines.ingest import IngestResult, Limits, ingest_path
from pipelines.ingest_entries import ingest_entry_path
from pipelines.load.db import open_session
from pipelines.load.inspect import plain
from schemas.rules import load_rulebook
from schemas.store import Base
from tests.entries import (
    ACTIONS_HEADER,
    FORMATIONS_HEADER,
    INFOS_HEADER,
    SESSIONS_HEADER,
    minimal_entries,
    write_entries,
)
from tests.workbooks import SIRET_A, SIRET_B, SIRET_C, make_siret, minimal_sheets, write_workbook

SIRET_D = make_siret("41816609", "0001")  # mandataire 5000
LIMITS = Limits(50 * 2**20, 2**30)
T0 = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)
RULES = load_rulebook()
__all__ = [
    "SIRET_A",
    "SIRET_B",
    "SIRET_C",
    "SIRET_D",
    "ingest_frame",
    "ingest_entries",
    "entries_of",
    "merged",
    "dump",
    "without",
    "two_mandataires",
]


def two_mandataires() -> dict[str, list[list[Any]]]:
    """The minimal frame plus mandataire 5000, its lot PSS2025_4 and actions 100005-100006."""
    sheets = minimal_sheets()
    sheets["Organismes"].append([5000, SIRET_D, "Autre mandataire", "mandataire", None])
    sheets["Lots"].append(["PSS2025_4", "PSS", "Prépa sanitaire – Bassin de Cholet", 5000, 20,
                           "oui", None, None])  # fmt: skip
    sheets["Actions"] += [
        [100005, "PSS2025_4", 5000, SIRET_C, "Formation aide-soignant – Cholet", "49300",
         "Cholet", 10, 20, 1500],
        [100006, "PSS2025_4", 5000, SIRET_D, "Formation aide-soignant – Cholet 2", "49300",
         "Cholet", 10, 20, 1500],
    ]  # fmt: skip
    return sheets


def ingest_frame(engine: Engine, folder: Path, sheets: dict[str, Any], day: str) -> IngestResult:
    """Ingest an extraction of 2025 delivered on ``day`` (withdrawals allowed)."""
    path = write_workbook(folder / f"prf_2025_{day}.xlsx", sheets)
    return ingest_path(path, engine=engine, output_dir=folder / "out", limits=LIMITS,
                       threshold=1.0, allow_mass_withdrawal=True, now=T0)  # fmt: skip


def ingest_entries(
    engine: Engine, folder: Path, sheets: dict[str, Any], siret: str, day: str
) -> IngestResult:
    """Write ``saisie_<siret>_<day>.xlsx`` and ingest it."""
    path = write_entries(folder / "in", sheets, siret=siret, day=day)
    return ingest_entry_path(path, engine=engine, output_dir=folder / "out", limits=LIMITS,
                             rulebook=RULES, threshold=1.0, now=T0)  # fmt: skip


def entries_of(siret: str, action: int, lot: str, of_cr: int, suffix: str) -> dict[str, Any]:
    """One formation, action, session and information collective of ``siret``."""
    base = minimal_entries()
    formation = copy.deepcopy(base["Formations"][1])
    formation[0:2] = [siret, f"F-{suffix}"]
    row = copy.deepcopy(base["Actions"][1])
    row[0:6] = [siret, f"A-{suffix}", f"F-{suffix}", action, lot, of_cr]
    row[10] = 10
    session = copy.deepcopy(base["Sessions"][1])
    session[0:3] = [siret, f"S-{suffix}", f"A-{suffix}"]
    info = copy.deepcopy(base["Informations collectives"][1])
    info[0:2] = [siret, f"S-{suffix}"]
    return {
        "Formations": [list(FORMATIONS_HEADER), formation],
        "Actions": [list(ACTIONS_HEADER), row],
        "Sessions": [list(SESSIONS_HEADER), session],
        "Informations collectives": [list(INFOS_HEADER), info],
    }


def merged(*files: dict[str, Any]) -> dict[str, Any]:
    """The rows of several entry files in one (headers once)."""
    out = copy.deepcopy(files[0])
    for more in files[1:]:
        for name, rows in more.items():
            out[name] += copy.deepcopy(rows[1:])
    return out


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the store, as data (``dump_store`` has the frame only)."""
    with open_session(engine) as db:
        return {
            table.name: [{k: plain(v) for k, v in row.items()}
                         for row in db.execute(select(table).order_by(*table.primary_key))
                         .mappings()]
            for table in Base.metadata.sorted_tables
        }  # fmt: skip


def without(store: dict[str, Any], *tables: str) -> dict[str, Any]:
    """The dump less the tables a refused or rejected row may add to (deliveries, rejects)."""
    return {name: rows for name, rows in store.items() if name not in tables}
