"""Generate the sample entry workbooks of training organisations (``data/samples/saisies``).

Run from the project root::

    .venv/bin/python data/samples/make_entries.py

It ingests the sample extraction ``prf_2025_20250115.xlsx`` into a throw-away SQLite store,
asks the store which actions of the Région each organisation has to describe
(``frame_actions_for``), pre-fills the entry template with them (``template_rows``), fills the
blanks with realistic French content, applies the documented defects, and writes with the
template code (``write_entries``), deterministically (fixed dates, no randomness):

* ``saisie_<siret>_20250301.xlsx``: one workbook per organisation (4 organisations);
* ``expected.csv``: each defective record, with the rule or reason expected;
* ``README.md``: what each file holds and the table of defects.

The ``lheo/`` subfolder is not written here. Invented data only: people, e-mails
(``example.org``) and phone numbers (``02 40 00 00 xx``) are fake but well-formed.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from entries_content import (
    Bundle,
    build_bundle,
    informations_collectives,
    slug,
)
from entries_defects import DEFECTS, STRUCTURAL, Defect, broken_rules
from pipelines.ingest import Limits, ingest_path
from pipelines.load.db import make_engine, open_session, upgrade_store
from pipelines.load.template import frame_actions_for, organisme_for, write_entries
from schemas.store import ActionRegion, Lot, Organisme

HERE = Path(__file__).resolve().parent
EXTRACTION = HERE / "prf_2025_20250115.xlsx"
OUT = HERE / "saisies"
DATE = "20250301"
CREATED = dt.datetime(2025, 3, 1, 8, 0)
#: The sending organisations: one establishment (SIRET) of each.
ORGANISATIONS = ("65494103800048", "65375688200037", "96274521200010", "55477415800014")
SHEETS = ("formations", "actions", "sessions", "informations_collectives")


@dataclass
class Frame:
    """What the generator reads from the store."""

    organismes: dict[str, dict[str, Any]]
    files: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]
    region_actions: dict[int, dict[str, Any]]


def load_frame() -> Frame:
    """Ingest the sample extraction into a temporary store and read the frame back."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'store.db'}")
        try:
            upgrade_store(engine)
            result = ingest_path(
                EXTRACTION,
                engine=engine,
                output_dir=Path(tmp),
                limits=Limits(2**28, 2**30),
                threshold=0.2,
                now=dt.datetime(2025, 1, 20, 2, 0, tzinfo=dt.UTC),
            )
            assert result.status == "integree", result.status
            with open_session(engine) as db:
                organismes = {
                    o.siret: {
                        "of_cr": o.of_cr,
                        "raison_sociale": o.raison_sociale.strip(),
                        "adresse": o.adresse,
                        "code_postal": o.code_postal,
                        "commune": o.commune,
                    }
                    for o in db.scalars(select(Organisme).order_by(Organisme.of_cr))
                }
                files = {}
                for siret in ORGANISATIONS:
                    organisme = organisme_for(db, siret)
                    assert organisme is not None, siret
                    files[siret] = (organisme, frame_actions_for(db, siret))
                region = {
                    a.id_action_cr: {
                        "numero_lot": lot.numero_lot,
                        "siret_formateur": a.siret_formateur,
                        "of_mandataire_cr": a.of_mandataire_cr,
                    }
                    for a, lot in db.execute(
                        select(ActionRegion, Lot).join(Lot, ActionRegion.lot_id == Lot.id)
                    ).all()
                }
        finally:
            engine.dispose()
    return Frame(organismes, files, region)


@dataclass
class Expected:
    """One defective record and what is expected of it."""

    file: str
    sheet: str
    row_ref: dict[str, Any]
    reference: str
    column: str
    ref_action: str
    code: str
    severity: str
    description: str
    row: int = 0


@dataclass
class EntryFile:
    """The rows of one organisation's workbook and what it holds."""

    siret: str
    organisme: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {s: [] for s in SHEETS})
    programmes: Counter[str] = field(default_factory=Counter)
    complete: int = 0
    defective: int = 0

    @property
    def name(self) -> str:
        """The file's name."""
        return f"saisie_{self.siret}_{DATE}.xlsx"

    def add(self, bundle: Bundle) -> None:
        """Append an action's rows."""
        self.rows["formations"].extend(bundle.formations)
        self.rows["actions"].append(bundle.action)
        self.rows["sessions"].extend(bundle.sessions)
        self.rows["informations_collectives"].extend(bundle.ics)


def build_file(siret: str, frame: Frame, expected: list[Expected]) -> EntryFile:
    """Build one organisation's rows: every frame action, complete or with its one defect."""
    organisme, actions = frame.files[siret]
    entry = EntryFile(siret, organisme)
    for number, frame_action in enumerate(actions):
        bundle = build_bundle(frame_action, frame.organismes, number)
        defect: Defect | None = DEFECTS.get(frame_action["id_action_cr"])
        marked = defect.apply(bundle) if defect else None
        informations_collectives(bundle)
        broken = broken_rules(bundle, frame_action)
        if defect is None:
            assert not broken, (frame_action["id_action_cr"], broken)
            entry.complete += 1
        else:
            assert broken == {defect.code}, (frame_action["id_action_cr"], defect.code, broken)
            assert marked is not None
            sheet, row, column = marked
            entry.defective += 1
            expected.append(
                Expected(
                    entry.name,
                    sheet,
                    row,
                    row[_REF[sheet]],
                    column or "",
                    bundle.action["ref_action"],
                    defect.code,
                    defect.severity,
                    defect.description,
                )
            )
        entry.programmes[frame_action["code_programme"]] += 1
        entry.add(bundle)
    for structural in STRUCTURAL.get(siret, ()):
        sheet, row, column = structural.apply(entry.rows, frame.region_actions)
        expected.append(
            Expected(
                entry.name,
                sheet,
                row,
                row[_REF[sheet]],
                column,
                row.get("ref_action", ""),
                structural.code,
                "rejet",
                structural.description,
            )
        )
    return entry


_REF = {
    "formations": "ref_formation",
    "actions": "ref_action",
    "sessions": "ref_session",
    "informations_collectives": "ref_session",
}


def locate_rows(entry: EntryFile, expected: list[Expected]) -> None:
    """Give each expected record of the file its row number as Excel shows it (header = 1)."""
    for item in expected:
        if item.file != entry.name:
            continue
        rows = entry.rows[item.sheet]
        item.row = next(i for i, r in enumerate(rows) if r is item.row_ref) + 2


def write_expected(expected: list[Expected]) -> None:
    """Write ``expected.csv``, sorted by file, sheet order and row."""
    order = {s: i for i, s in enumerate(SHEETS)}
    with (OUT / "expected.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(
            ["file", "sheet", "row", "reference", "column", "ref_action", "code", "severity"]
        )
        for e in sorted(expected, key=lambda e: (e.file, order[e.sheet], e.row)):
            writer.writerow(
                [e.file, e.sheet, e.row, e.reference, e.column, e.ref_action, e.code, e.severity]
            )


def write_readme(entries: list[EntryFile], expected: list[Expected]) -> None:
    """Write ``README.md``: the files and the table of defects."""
    lines = [
        "# Sample entry workbooks of organisations (input 2)",
        "",
        "Generated by `data/samples/make_entries.py` — do not edit by hand; regenerate with",
        "`.venv/bin/python data/samples/make_entries.py` (deterministic, same bytes each run).",
        "They answer the Région's frame of `data/samples/prf_2025_20250115.xlsx`: each file",
        "holds one row per action of the Région the organisation must describe (as",
        "`frame_actions_for` lists them: the actions of the lots it holds as mandataire and",
        "those it delivers), written with the template code (`pipelines/load/template.py`).",
        "People, e-mails (`example.org`) and phone numbers (`02 40 00 00 xx`) are invented.",
        "The `lheo/` subfolder is maintained separately.",
        "",
        "| file | organisation | programmes (actions) | actions | complete | one rule broken"
        " | rows F / A / S / IC | structural rejects |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        programmes = ", ".join(f"{p} {n}" for p, n in sorted(e.programmes.items()))
        counts = " / ".join(str(len(e.rows[s])) for s in SHEETS)
        rejects = sum(1 for x in expected if x.file == e.name and x.severity == "rejet")
        lines.append(
            f"| `{e.name}` | {e.organisme['raison_sociale']} (OF {e.organisme['of_cr']}) "
            f"| {programmes} | {e.complete + e.defective} | {e.complete} | {e.defective} "
            f"| {counts} | {rejects} |"
        )
    total = sum(e.complete + e.defective for e in entries)
    complete = sum(e.complete for e in entries)
    lines += [
        "",
        f"In all: {total} actions of the Région, {complete} complete (every rule passes: they",
        "go to « en attente de validation »), "
        f"{total - complete} each breaking exactly one publication rule, plus the structural",
        "defects the importer rejects. A complete action has every mandatory field, at least",
        "one information collective per session (date, hours, lieu), référents PMR, mobilité",
        "and PRF, public « demandeur d'emploi », prise en charge des frais « oui », the frame's",
        "places and codes externes, dates fin ≥ début, and in a lot under forfait recrutement",
        "sessions starting on the action's planned date. PSS 2025: the procedure's intitulé,",
        "Formacodes 44022;44004;15084, Certif Info non, ESP « entrée/sortie à dates fixes »,",
        "sessions starting in 2025. PE 2025: Certif Info oui 93561, type « Autre certification",
        "sans niveau spécifique », ESP cadencées/séquencées or dates fixes, rythme « temps",
        "plein », type de parcours « mixte - modulaire », sessions starting in 2025.",
        "",
        "## Defects",
        "",
        "`expected.csv` lists each defective record: `file, sheet, row` (as Excel shows it, the",
        "header being row 1), `reference` (the organisation's reference of the record), `column`",
        "(canonical name, empty when the defect is an absence), `ref_action` (the action the",
        "publication rule is reported on), `code` (rule code of `shared/spec/regles-programmes.md`",
        "or the importer's reason code) and `severity`: `bloquant` (the action stays « en cours",
        "de saisie »), `avertissement` (flagged, the frame wins, not blocking) or `rejet` (the",
        "importer rejects the row).",
        "",
        "| file | sheet | row | reference | column | code | severity | what is wrong |",
        "|---|---|---|---|---|---|---|---|",
    ]
    order = {s: i for i, s in enumerate(SHEETS)}
    for x in sorted(expected, key=lambda e: (e.file, order[e.sheet], e.row)):
        lines.append(
            f"| {x.file.removeprefix('saisie_').removesuffix('.xlsx')} | {x.sheet} | {x.row} "
            f"| {x.reference} | {x.column} | `{x.code}` | {x.severity} | {x.description} |"
        )
    lines += [
        "",
        "Structural defects have no dependent rows (the duplicated session and the session",
        "naming an unknown action have no information collective; the rejected actions have no",
        "session), so each rejection is the only one its row causes.",
        "",
    ]
    (OUT / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    """Generate the entry workbooks, ``expected.csv`` and ``README.md``."""
    OUT.mkdir(exist_ok=True)
    frame = load_frame()
    expected: list[Expected] = []
    entries = [build_file(siret, frame, expected) for siret in ORGANISATIONS]
    described = Counter(r["id_action_cr"] for e in entries for r in e.rows["actions"])
    assert max(described.values()) == 1, "an action of the Région described twice"
    for entry in entries:
        locate_rows(entry, expected)
        write_entries(
            OUT / entry.name,
            entry.rows,
            organisme=entry.organisme,
            n_actions=entry.complete + entry.defective,
            created=CREATED,
        )
        print(f"{entry.name}: {entry.complete} complete, {entry.defective} defective")  # noqa: T201
    write_expected(expected)
    write_readme(entries, expected)
    print(f"{len(expected)} defective records -> {OUT / 'expected.csv'}")  # noqa: T201


if __name__ == "__main__":
    slug  # re-exported for the content module's users
    main()
