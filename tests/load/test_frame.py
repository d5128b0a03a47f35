"""Loading validated extractions into the store: upserts, no-op reloads, withdrawals."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from pipelines.load import upsert
from pipelines.transform.report import RowError
from tests.load import factories as f
from tests.load.helpers import at, by_key, dump, frame_tables, load


@pytest.fixture(autouse=True, params=["executemany", "copy"])
def write_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice on PostgreSQL: rows sent by executemany, and by ``COPY`` into a
    temporary table (the path of large loads), which must leave the very same store."""
    if request.param == "copy":
        engine: Engine = request.getfixturevalue("engine")
        if engine.dialect.name != "postgresql":
            pytest.skip("COPY is PostgreSQL's")
        monkeypatch.setattr(upsert, "COPY_MIN_ROWS", 1)
    else:
        monkeypatch.setattr(upsert, "COPY_MIN_ROWS", 10**9)
    return str(request.param)


def test_first_load_inserts_every_row_and_the_delivery(engine: Engine) -> None:
    error = RowError("prf_2025_20250115.xlsx", "lots", 9, "nb_places", "-3", "valeur-negative", "m")
    validated = f.standard(errors=[error])

    result = load(engine, validated, archive_path="archive/ab/abc")

    assert {s: (c.inserted, c.updated, c.unchanged) for s, c in result.counts.items()} == {
        "programmes": (2, 0, 0),
        "organismes": (4, 0, 0),
        "lots": (5, 0, 0),
        "actions": (10, 0, 0),
    }
    store = dump(engine)
    [delivery] = store["deliveries"]
    assert delivery["id"] == result.delivery_id
    assert (delivery["kind"], delivery["status"], delivery["year"]) == (
        "extraction",
        "accepted",
        2025,
    )
    assert delivery["sha256"] == validated.info.sha256
    assert delivery["delivery_date"] == "2025-01-15"
    assert delivery["archive_path"] == "archive/ab/abc"
    assert delivery["received_at"] == delivery["loaded_at"] == "2025-01-20T02:00:00+00:00"
    assert delivery["counts"]["lots"] == {
        "accepted": 5, "rejected": 1, "inserted": 5, "updated": 0, "unchanged": 0,
        "withdrawn": 0, "reactivated": 0,
    }  # fmt: skip
    assert [
        (r["sheet"], r["row"], r["column"], r["value"], r["reason"]) for r in store["rejects"]
    ] == [("lots", 9, "nb_places", "-3", "valeur-negative")]
    programmes = {p["code_programme"]: p["id"] for p in store["programmes"]}
    lots = by_key(store["lots"], "numero_lot")
    assert lots["PSS2025_1"]["programme_id"] == programmes["PSS"]
    assert lots["PE2025_2"]["programme_id"] == programmes["PE"]
    assert lots["PSS2025_1"]["annee"] == 2025
    assert lots["PSS2025_1"]["date_debut_prevue"] == "2025-01-06"
    assert lots["PSS2025_1"]["date_fin_prevue"] is None
    assert lots["PSS2025_1"]["forfait_recrutement"] is False
    actions = by_key(store["actions_region"], "id_action_cr")
    assert actions[202500101]["lot_id"] == lots["PSS2025_1"]["id"]
    assert actions[202500101]["duree_centre_h"] == 350.5
    assert actions[202500101]["duree_entreprise_h"] is None
    for row in store["lots"] + store["actions_region"] + store["organismes"]:
        assert row["delivery_id"] == result.delivery_id
        assert row["created_at"] == row["updated_at"] == "2025-01-20T02:00:00+00:00"
        assert row["withdrawn_at"] is None
        assert len(row["row_hash"]) == 64
    assert {o["source_rank"] for o in store["organismes"]} == {2025_2025_01_15}


def test_same_content_again_writes_nothing(engine: Engine) -> None:
    load(engine, f.standard(), now=at(0))
    before = frame_tables(engine)

    # The same content in another file (another SHA-256), loaded a week later.
    result = load(engine, f.standard(salt="re-saved"), now=at(7))

    assert frame_tables(engine) == before  # not even updated_at
    assert {s: c.unchanged for s, c in result.counts.items()} == {
        "programmes": 2, "organismes": 4, "lots": 5, "actions": 10,
    }  # fmt: skip
    assert all(
        (c.inserted, c.updated, c.withdrawn, c.reactivated) == (0, 0, 0, 0)
        for c in result.counts.values()
    )


def test_the_same_file_twice_is_refused_and_changes_nothing(engine: Engine) -> None:
    validated = f.standard()
    load(engine, validated, now=at(0))
    before = dump(engine)

    with pytest.raises(ValueError, match="already accepted"):
        load(engine, validated, now=at(1))

    assert dump(engine) == before


def test_a_later_delivery_updates_only_what_changed_and_keeps_ids(engine: Engine) -> None:
    first = load(engine, f.standard(), now=at(0))
    before = dump(engine)
    rows = f.standard_rows()
    rows["actions"][3]["nb_places"] = 12  # action 202500202
    rows["lots"][0]["intitule_lot"] = "Lot PSS2025_1 – révisé"

    second = load(engine, f.make_extraction(2025, date=f.dt.date(2025, 3, 1), **rows), now=at(40))

    assert (second.counts["actions"].updated, second.counts["actions"].unchanged) == (1, 9)
    assert (second.counts["lots"].updated, second.counts["lots"].unchanged) == (1, 4)
    after = dump(engine)
    for table in ("lots", "actions_region", "programmes", "organismes"):
        assert [r["id"] for r in after[table]] == [r["id"] for r in before[table]]
    old_actions = by_key(before["actions_region"], "id_action_cr")
    for action in after["actions_region"]:
        old = old_actions[action["id_action_cr"]]
        assert action["created_at"] == old["created_at"]
        if action["id_action_cr"] == 202500202:
            assert action["nb_places"] == 12
            assert action["updated_at"] == "2025-03-01T02:00:00+00:00"
            assert action["delivery_id"] == second.delivery_id
            assert action["row_hash"] != old["row_hash"]
        else:
            assert action == old
    lots = by_key(after["lots"], "numero_lot")
    assert lots["PSS2025_1"]["intitule_lot"] == "Lot PSS2025_1 – révisé"
    assert lots["PSS2025_1"]["delivery_id"] == second.delivery_id
    assert lots["PE2025_2"]["delivery_id"] == first.delivery_id


def test_absent_rows_are_withdrawn_then_reactivated_when_they_come_back(engine: Engine) -> None:
    load(engine, f.standard(), now=at(0))
    ids = {r["numero_lot"]: r["id"] for r in dump(engine)["lots"]}
    rows = f.standard_rows()
    rows["lots"] = [lot for lot in rows["lots"] if lot["numero_lot"] != "PE2025_4"]
    rows["actions"] = [a for a in rows["actions"] if a["numero_lot"] != "PE2025_4"]

    second = load(engine, f.make_extraction(2025, date=f.dt.date(2025, 2, 1), **rows), now=at(10))

    assert (second.counts["lots"].withdrawn, second.counts["actions"].withdrawn) == (1, 2)
    store = dump(engine)
    lot = by_key(store["lots"], "numero_lot")["PE2025_4"]
    assert lot["id"] == ids["PE2025_4"]  # still there: never deleted
    assert lot["withdrawn_at"] == "2025-01-30T02:00:00+00:00"
    assert lot["withdrawn_by_delivery_id"] == second.delivery_id
    withdrawn = [a for a in store["actions_region"] if a["withdrawn_at"]]
    assert sorted(a["id_action_cr"] for a in withdrawn) == [202500401, 202500402]
    assert all(a["withdrawn_by_delivery_id"] == second.delivery_id for a in withdrawn)
    assert sum(lot["withdrawn_at"] is None for lot in store["lots"]) == 4

    third = load(engine, f.standard(date=f.dt.date(2025, 3, 1)), now=at(20))

    assert (third.counts["lots"].reactivated, third.counts["actions"].reactivated) == (1, 2)
    assert (third.counts["lots"].unchanged, third.counts["actions"].unchanged) == (4, 8)
    store = dump(engine)
    lot = by_key(store["lots"], "numero_lot")["PE2025_4"]
    assert lot["id"] == ids["PE2025_4"]
    assert (lot["withdrawn_at"], lot["withdrawn_by_delivery_id"]) == (None, None)
    assert lot["delivery_id"] == third.delivery_id
    assert all(a["withdrawn_at"] is None for a in store["actions_region"])


def test_rejected_keys_keep_their_stored_version(engine: Engine) -> None:
    load(engine, f.standard(), now=at(0))
    before = dump(engine)
    rows = f.standard_rows()
    rows["lots"] = [lot for lot in rows["lots"] if lot["numero_lot"] != "PSS2025_3"]
    rows["actions"] = [a for a in rows["actions"] if a["numero_lot"] != "PSS2025_3"]
    rows["actions"] = [a for a in rows["actions"] if a["id_action_cr"] != 202500101]
    rejected: dict[str, set[object]] = {
        "lots": {"pss2025_3 "},  # as the file wrote it: compared upper-case and trimmed
        "actions": {202500301, 202500302, 202500101},
    }

    result = load(
        engine, f.make_extraction(2025, rejected_keys=rejected, salt="x", **rows), now=at(5)
    )

    assert result.counts["lots"].withdrawn == result.counts["actions"].withdrawn == 0
    assert frame_tables(engine) == {t: before[t] for t in frame_tables(engine)}


def test_an_action_of_another_year_id_is_moved_not_duplicated(engine: Engine) -> None:
    load(engine, f.standard(2024, n_lots=1, actions_per_lot=1), now=at(0))
    rows = f.standard_rows(2025, n_lots=1, actions_per_lot=1)
    rows["actions"][0]["id_action_cr"] = 202400101  # the Région reused an id of 2024

    load(engine, f.make_extraction(2025, **rows), now=at(1))

    [action] = dump(engine)["actions_region"]
    assert (action["id_action_cr"], action["annee"]) == (202400101, 2025)


def test_years_are_independent(engine: Engine) -> None:
    load(engine, f.standard(2024), now=at(0))
    load(engine, f.standard(2025), now=at(1))

    store = dump(engine)
    assert sorted({lot["annee"] for lot in store["lots"]}) == [2024, 2025]
    assert all(lot["withdrawn_at"] is None for lot in store["lots"])
    assert len(store["organismes"]) == 4  # shared by both years


def test_absent_optional_columns_load_as_empty(engine: Engine) -> None:
    validated = f.standard(n_lots=1, actions_per_lot=1)
    validated.frames["lots"] = validated.frames["lots"].drop(
        columns=["forfait_recrutement", "territoire"]
    )

    load(engine, validated)

    [lot] = dump(engine)["lots"]
    assert (lot["forfait_recrutement"], lot["territoire"]) == (False, None)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda v: v.frames.pop("actions"), "no 'actions' frame"),
        (lambda v: v.frames.__setitem__("lots", v.frames["lots"].drop(columns="nb_places")),
         "columns missing from the validated frame: nb_places"),
        (lambda v: v.frames.__setitem__("actions", v.frames["actions"].iloc[[0, 0]]),
         "duplicated keys"),
        (lambda v: v.frames["actions"].__setitem__("numero_lot", "PSS2025_99"),
         "unknown numero_lot PSS2025_99"),
    ],
)  # fmt: skip
def test_an_inconsistent_validated_extraction_writes_nothing(
    engine: Engine, spoil: object, message: str
) -> None:
    load(engine, f.standard(2024), now=at(0))
    before = dump(engine)
    validated = f.standard()
    spoil(validated)  # type: ignore[operator]

    with pytest.raises(ValueError, match=message):
        load(engine, validated, now=at(1))

    assert dump(engine) == before
