"""The bundled entry samples, through the whole entry pipeline: every defect of
``data/samples/saisies/expected.csv`` is found (rejected rows, rules broken, warnings), and
nothing else is."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, select

from pipelines.ingest import Limits, ingest_path
from pipelines.ingest_entries import ingest_entry_path
from pipelines.load.db import open_session
from schemas import store
from schemas.rules import load_rulebook

LIMITS = Limits(200 * 2**20, 2**30)
T0 = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)


def test_sample_entries_give_exactly_their_expected_defects(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    out = tmp_path / "out"
    frame = ingest_path(sample("prf_2025_20250115.xlsx"), engine=engine, output_dir=out,
                        limits=LIMITS, threshold=0.2, now=T0)  # fmt: skip
    assert frame.status == "integree"
    rulebook = load_rulebook()
    rejected, files = set(), sorted(sample("saisies").glob("saisie_*.xlsx"))
    for path in files:
        result = ingest_entry_path(path, engine=engine, output_dir=out, limits=LIMITS,
                                   rulebook=rulebook, threshold=0.2, now=T0)  # fmt: skip
        assert result.status == "integree", result.report.refusal
        rejected |= {(path.name, e.sheet, e.row, e.reason) for e in result.report.errors}
    with sample("saisies/expected.csv").open(encoding="utf-8") as fh:
        expected = list(csv.DictReader(fh))
    assert rejected == {
        (r["file"], r["sheet"], int(r["row"]), r["code"])
        for r in expected
        if r["severity"] == "rejet"
    }
    with open_session(engine) as db:
        issues = {
            (siret, ref, rule, severity)
            for siret, ref, rule, severity in db.execute(
                select(store.Action.siret, store.Action.ref_action, store.ActionIssue.rule,
                       store.ActionIssue.severity)
                .join(store.ActionIssue, store.ActionIssue.action_id == store.Action.id)
            )
        }  # fmt: skip
        states = dict(db.execute(select(store.Action.ref_action, store.Action.etat)).tuples().all())
    found = {(ref, rule, severity) for _, ref, rule, severity in issues}
    wanted = {
        (r["ref_action"], r["code"], r["severity"]) for r in expected if r["severity"] != "rejet"
    }
    assert found == wanted
    for ref, _, severity in wanted:
        assert states[ref] == (
            "en_cours_de_saisie" if severity == "bloquant" else "en_attente_validation"
        )
    blocked = {ref for ref, _, severity in wanted if severity == "bloquant"}
    assert sum(1 for s in states.values() if s == "en_cours_de_saisie") == len(blocked)
