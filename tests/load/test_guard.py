"""The mass-withdrawal guard: stops before writing anything, strictly above the threshold."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from pipelines.errors import MassWithdrawalError
from pipelines.load.db import open_session
from pipelines.load.deliveries import find_delivery, record_refused_delivery
from pipelines.load.guard import check_mass_withdrawal
from tests.load import factories as f
from tests.load.helpers import at, dump, load

LATER = dt.date(2025, 3, 1)


def without(rows: dict[str, list[dict]], *, lots: int = 0, actions: int = 0) -> dict:
    """The standard rows minus the last ``lots`` lots (and their actions), then ``actions``."""
    kept_lots = rows["lots"][: len(rows["lots"]) - lots]
    numeros = {lot["numero_lot"] for lot in kept_lots}
    kept_actions = [a for a in rows["actions"] if a["numero_lot"] in numeros]
    return {**rows, "lots": kept_lots, "actions": kept_actions[: len(kept_actions) - actions]}


def test_half_the_actions_stops_the_delivery_before_any_write(engine: Engine) -> None:
    load(engine, f.standard(), now=at(0))
    before = dump(engine)
    truncated = f.make_extraction(2025, date=LATER, **without(f.standard_rows(), actions=5))

    with pytest.raises(MassWithdrawalError) as caught:
        load(engine, truncated, now=at(1))

    error = caught.value
    assert (error.kind, error.year, error.withdrawn, error.total) == ("actions", 2025, 5, 10)
    assert "5 actions sur 10 (50 %)" in error.message
    assert dump(engine) == before  # deliveries included: not even the delivery row


def test_allow_mass_withdrawal_lets_it_through(engine: Engine) -> None:
    load(engine, f.standard(), now=at(0))
    truncated = f.make_extraction(2025, date=LATER, **without(f.standard_rows(), actions=5))

    result = load(engine, truncated, now=at(1), allow_mass_withdrawal=True)

    assert result.counts["actions"].withdrawn == 5
    assert sum(a["withdrawn_at"] is None for a in dump(engine)["actions_region"]) == 5


@pytest.mark.parametrize(
    ("removed", "stops"),
    [(1, False), (2, False), (3, True)],  # of 10 actions, threshold 20 %
)
def test_threshold_is_strict(engine: Engine, removed: int, stops: bool) -> None:
    load(engine, f.standard(), now=at(0))
    rows = without(f.standard_rows(), actions=removed)

    if stops:
        with pytest.raises(MassWithdrawalError):
            load(engine, f.make_extraction(2025, date=LATER, **rows), threshold=0.2)
    else:
        result = load(engine, f.make_extraction(2025, date=LATER, **rows), threshold=0.2)
        assert result.counts["actions"].withdrawn == removed


def test_lots_are_guarded_too(engine: Engine) -> None:
    # 2 lots of 5 (40 %) with their 4 actions of 10 (40 %): the lots are the first counted.
    load(engine, f.standard(), now=at(0))
    rows = without(f.standard_rows(), lots=2)

    with pytest.raises(MassWithdrawalError) as caught:
        load(engine, f.make_extraction(2025, date=LATER, **rows), threshold=0.3)

    assert (caught.value.kind, caught.value.withdrawn, caught.value.total) == ("lots", 2, 5)


def test_no_guard_for_a_year_the_store_does_not_hold(engine: Engine) -> None:
    load(engine, f.standard(2024), now=at(0))

    result = load(engine, f.standard(2025, n_lots=1, actions_per_lot=1), now=at(1))

    assert result.counts["lots"].inserted == 1


def test_rejected_rows_do_not_count_as_withdrawn(engine: Engine) -> None:
    load(engine, f.standard(), now=at(0))
    rows = without(f.standard_rows(), actions=5)
    rejected: dict[str, set[object]] = {"actions": {202500402, 202500501, 202500502, 202500302}}

    result = load(engine, f.make_extraction(2025, date=LATER, rejected_keys=rejected, **rows))

    assert result.counts["actions"].withdrawn == 1  # 202500401 only: 1 of 10


def test_a_stopped_delivery_is_recorded_then_accepted_on_retry(engine: Engine) -> None:
    load(engine, f.standard(), now=at(0))
    truncated = f.make_extraction(2025, date=LATER, **without(f.standard_rows(), actions=5))
    with pytest.raises(MassWithdrawalError) as caught:
        load(engine, truncated, now=at(1))
    with open_session(engine, write=True) as db, db.begin():
        record_refused_delivery(db, truncated.info, caught.value, "stopped", at(1))

    stopped = [d for d in dump(engine)["deliveries"] if d["status"] == "stopped"]
    assert [(d["year"], d["message"]) for d in stopped] == [(2025, caught.value.message)]

    result = load(engine, truncated, now=at(2), allow_mass_withdrawal=True)

    deliveries = dump(engine)["deliveries"]
    assert [d["status"] for d in deliveries] == ["accepted", "accepted"]
    assert deliveries[1]["id"] == stopped[0]["id"] == result.delivery_id
    assert deliveries[1]["received_at"] == "2025-01-21T02:00:00+00:00"  # first received
    assert deliveries[1]["message"] is None
    with open_session(engine) as db:
        found = find_delivery(db, "extraction", truncated.info.sha256)
        assert found is not None and found.status == "accepted"


@pytest.mark.parametrize(
    ("withdrawn", "active", "threshold", "stops"),
    [(0, 0, 0.0, False), (1, 5, 0.2, False), (2, 5, 0.2, True), (3, 10, 0.3, False),
     (1, 3, 0.3, True), (5, 5, 1.0, False), (1, 100, 0.0, True)],
)  # fmt: skip
def test_check_mass_withdrawal(withdrawn: int, active: int, threshold: float, stops: bool) -> None:
    if stops:
        with pytest.raises(MassWithdrawalError):
            check_mass_withdrawal("f.xlsx", 2025, "lots", withdrawn, active, threshold)
    else:
        check_mass_withdrawal("f.xlsx", 2025, "lots", withdrawn, active, threshold)
