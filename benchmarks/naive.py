"""The naive baseline: the same job on the same data, done the way peers usually do it.

* **read**: ``pandas.read_excel(engine="openpyxl", dtype=str)``, every sheet at once;
* **validate**: the same vectorised checks as the floor (validation is cheap either way, so
  the baseline is not made slower than it would be);
* **load**: one ORM object per row (``session.add`` then ``flush``: one ``INSERT`` each), one
  commit at the end, into plain tables of text columns;
* **approve**: the store's ORM objects loaded, changed and flushed one by one, with one
  transition object each;
* **export**: the whole LHEO document as one ``xml.etree`` tree, written in one go, then
  parsed whole by lxml and validated whole against the XSD. The tree is obtained by parsing
  the pipeline's own ``lheo.xml`` with ``xml.etree`` (a lower bound on building the same
  elements from rows in Python, which peers do).

The naive end to end is the sum of the naive ingest, merge, approval and export (times added,
peak memory the largest of them): see ``benchmarks.bench``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.floors import XSD, canonical_extraction, check_extraction, entry_tables
from benchmarks.stages import Context


def read_workbook_naive(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet of a workbook through ``pandas.read_excel`` with openpyxl (as text: SIRETs
    and postal codes would otherwise become numbers)."""
    return pd.read_excel(path, sheet_name=None, engine="openpyxl", dtype=str)


def orm_insert(url: str, tables: dict[str, pd.DataFrame]) -> int:
    """One ORM object per row, flushed one at a time, committed at the end; return the rows."""
    from sqlalchemy import Column, Integer, Text, create_engine, orm

    from pipelines.load.db import normalise_url

    engine = create_engine(normalise_url(url))

    class Base(orm.DeclarativeBase):
        pass

    models = {}
    for name, df in tables.items():
        attributes: dict[str, Any] = {
            "__tablename__": f"naive_{name}",
            "id": Column(Integer, primary_key=True),
        }
        attributes.update({f"c{i}": Column(Text) for i in range(len(df.columns))})
        models[name] = type(f"Naive_{name}", (Base,), attributes)
    Base.metadata.create_all(engine)
    rows = 0
    with orm.Session(engine) as session:
        for name, df in tables.items():
            model = models[name]
            for _, row in df.iterrows():
                values = {f"c{i}": None if pd.isna(v) else str(v) for i, v in enumerate(row)}
                session.add(model(**values))
                session.flush()
                rows += 1
        session.commit()
    engine.dispose()
    return rows


def _preload() -> None:
    """Import before the clock starts what the timed work imports (openpyxl, the rules)."""
    import openpyxl  # noqa: F401

    import schemas.extraction  # noqa: F401


def naive_read_validate(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``read_excel`` (openpyxl) of the extraction, then the checks."""
    path = ctx.extraction
    _preload()

    def work() -> dict[str, Any]:
        frames = canonical_extraction(read_workbook_naive(path))
        failing = check_extraction(frames)
        assert not any(failing.values()), failing
        return {}

    return work


def naive_ingest_extraction(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``read_excel`` (openpyxl) + checks + row-by-row ORM inserts of the extraction."""
    path, url = ctx.extraction, ctx.url
    assert url is not None
    _preload()

    def work() -> dict[str, Any]:
        frames = canonical_extraction(read_workbook_naive(path))
        failing = check_extraction(frames)
        assert not any(failing.values()), failing
        return {"rows": orm_insert(url, frames)}

    return work


def naive_merge_entries(ctx: Context) -> Callable[[], dict[str, Any]]:
    """``read_excel`` (openpyxl) of every entry workbook + row-by-row ORM inserts."""
    paths, url = ctx.entries, ctx.url
    assert url is not None
    _preload()

    def work() -> dict[str, Any]:
        return {"rows": orm_insert(url, entry_tables(paths, read_workbook_naive))}

    return work


def naive_approve(ctx: Context) -> Callable[[], dict[str, Any]]:
    """The store's actions waiting for validation, changed and flushed one ORM object at a time."""
    from sqlalchemy import orm, select

    from pipelines.load.db import make_engine
    from schemas.store import Action, ActionTransition

    assert ctx.url is not None
    engine = make_engine(ctx.url)

    def work() -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        count = 0
        with orm.Session(engine) as session:
            waiting = select(Action).where(Action.etat == "en_attente_validation")
            for action in session.scalars(waiting).all():
                session.add(ActionTransition(
                    action_id=action.id, from_etat=action.etat, to_etat="validee", at=now,
                    who="bench", why="validée par le Carif-Oref",
                ))  # fmt: skip
                action.etat = "validee"
                session.flush()
                count += 1
            session.commit()
        assert count, "no action to approve"
        return {"approved": count}

    return work


def naive_publish(ctx: Context) -> Callable[[], dict[str, Any]]:
    """The whole document as one ``xml.etree`` tree, written whole, then validated whole."""
    from lxml import etree

    assert ctx.lheo is not None and ctx.output_dir is not None
    source, target = ctx.lheo, ctx.output_dir / "naive-lheo.xml"
    target.parent.mkdir(parents=True, exist_ok=True)

    def work() -> dict[str, Any]:
        tree = ET.parse(source)  # stands for building every element in Python
        tree.write(target, encoding="utf-8", xml_declaration=True)
        del tree
        schema = etree.XMLSchema(etree.parse(str(XSD)))
        document = etree.parse(str(target), etree.XMLParser(huge_tree=True))
        schema.assertValid(document)
        target.unlink()
        return {}

    return work


NAIVE: dict[str, Callable[[Context], Callable[[], dict[str, Any]]]] = {
    "read_validate": naive_read_validate,
    "ingest_extraction": naive_ingest_extraction,
    "merge_entries": naive_merge_entries,
    "approve": naive_approve,
    "publish": naive_publish,
}
