"""Organismes are shared by every year: the most recent delivery wins, whatever the load order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic import command
from sqlalchemy import Engine

from pipelines.load.db import alembic_config
from pipelines.transform.frame import ValidatedExtraction
from tests.load import factories as f
from tests.load.helpers import at, dump, load


def two_years() -> tuple[ValidatedExtraction, ValidatedExtraction]:
    """2024 and 2025 with organismes in both (same or changed), or in one year only."""
    rows_2024 = f.standard_rows(2024)
    rows_2024["organismes"] += [f.organisme(500, "formateur", raison_sociale="Seulement 2024")]
    rows_2024["organismes"][0]["raison_sociale"] = "Ancien nom"  # 101, renamed in 2025
    rows_2024["organismes"][1]["email"] = None  # 102: an email appears in 2025
    rows_2025 = f.standard_rows(2025)
    rows_2025["organismes"] += [f.organisme(600, "cotraitant", raison_sociale="Seulement 2025")]
    rows_2025["organismes"][2]["role"] = "cotraitant"  # 103 changes role in 2025
    return (
        f.make_extraction(2024, date=dt.date(2024, 11, 30), **rows_2024),
        f.make_extraction(2025, date=dt.date(2025, 1, 15), **rows_2025),
    )


def organismes_without_ids(engine: Engine) -> list[dict[str, Any]]:
    """Organismes by natural key, with their delivery named by file, without ids and times."""
    store = dump(engine)
    files = {d["id"]: d["file_name"] for d in store["deliveries"]}
    skip = {"id", "created_at", "updated_at", "delivery_id"}
    rows = [
        {**{k: v for k, v in o.items() if k not in skip}, "delivery": files[o["delivery_id"]]}
        for o in store["organismes"]
    ]
    return sorted(rows, key=lambda o: (o["of_cr"], o["siret"]))


def test_loading_years_in_any_order_gives_the_same_organismes(engine: Engine) -> None:
    year_2024, year_2025 = two_years()
    load(engine, year_2024, now=at(0))
    load(engine, year_2025, now=at(1))
    forward = organismes_without_ids(engine)

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        command.upgrade(config, "head")
    load(engine, year_2025, now=at(2))
    load(engine, year_2024, now=at(3))
    backward = organismes_without_ids(engine)

    assert backward == forward
    named = {o["of_cr"]: o for o in forward}
    assert named[101]["raison_sociale"] == "Organisme 101"  # 2025's name, not "Ancien nom"
    assert named[102]["email"] == "contact102@example.org"
    assert named[103]["role"] == "cotraitant"
    assert named[500]["raison_sociale"] == "Seulement 2024"
    assert named[500]["source_rank"] == 2024_2024_11_30
    assert {o["source_rank"] for o in forward if o["of_cr"] != 500} == {2025_2025_01_15}
    assert {o["delivery"] for o in forward if o["of_cr"] != 500} == {"prf_2025_20250115.xlsx"}


def test_an_older_delivery_does_not_overwrite_a_newer_one(engine: Engine) -> None:
    year_2024, year_2025 = two_years()
    load(engine, year_2025, now=at(0))
    before = {o["of_cr"]: o for o in dump(engine)["organismes"]}

    result = load(engine, year_2024, now=at(1))

    after = {o["of_cr"]: o for o in dump(engine)["organismes"]}
    assert result.counts["organismes"].inserted == 1  # 500, only in 2024
    assert result.counts["organismes"].updated == 0
    assert {k: v for k, v in after.items() if k != 500} == before  # not even updated_at


def test_same_content_from_a_newer_delivery_is_attributed_to_it_without_an_update(
    engine: Engine,
) -> None:
    load(engine, f.standard(2024, date=dt.date(2024, 12, 1)), now=at(0))
    first = {o["of_cr"]: o for o in dump(engine)["organismes"]}

    result = load(engine, f.standard(2025), now=at(1))

    after = {o["of_cr"]: o for o in dump(engine)["organismes"]}
    assert result.counts["organismes"].unchanged == 4
    for of_cr, organisme in after.items():
        assert organisme["updated_at"] == first[of_cr]["updated_at"]
        assert organisme["row_hash"] == first[of_cr]["row_hash"]
        assert organisme["source_rank"] == 2025_2025_01_15
        assert organisme["delivery_id"] == result.delivery_id
