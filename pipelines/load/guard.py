"""The mass-withdrawal guard: which stored lots and actions a delivery would withdraw.

A delivery of a year replaces the year's frame: the lots and actions the store holds for that
year and the delivery no longer has are withdrawn. A truncated export must not unpublish the
catalogue, so a delivery that would withdraw strictly more than a share of the year's active
lots, or of its actions, is stopped before anything is written. Rows the delivery has but
rejected are not withdrawn: their stored version stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pipelines.errors import MassWithdrawalError
from pipelines.load.upsert import Existing, Key

#: Sheets that can be withdrawn, with their natural key.
WITHDRAWABLE = {"lots": "numero_lot", "actions": "id_action_cr"}


def check_mass_withdrawal(
    file: str, year: int, kind: str, withdrawn: int, active: int, threshold: float
) -> None:
    """Stop a delivery that would withdraw strictly more than ``threshold`` of the active rows.

    Args:
        file: the delivery's file name (for the message).
        year: the frame's year.
        kind: ``"lots"`` or ``"actions"``.
        withdrawn: how many active rows the delivery would withdraw.
        active: how many rows of that year are active in the store (0: no guard).
        threshold: the share allowed (0..1).

    Raises:
        MassWithdrawalError: ``withdrawn / active > threshold``.
    """
    if active and withdrawn / active > threshold:
        raise MassWithdrawalError(file, year, kind, withdrawn, active, threshold)


def withdrawals(
    sheet: str,
    rows: Sequence[dict[str, Any]],
    stored: dict[Key, Existing],
    rejected_keys: Iterable[object],
) -> list[int]:
    """Return the ids of the stored active rows the delivery no longer has.

    Args:
        sheet: ``"lots"`` or ``"actions"``.
        rows: the delivery's accepted rows of that sheet.
        stored: what the store holds for the year (from ``read_existing``).
        rejected_keys: natural keys of the rows present in the delivery but rejected.

    Returns:
        The ids to withdraw, sorted.
    """
    key = WITHDRAWABLE[sheet]
    kept = {(row[key],) for row in rows} | normalise_keys(sheet, rejected_keys)
    return sorted(e.id for k, e in stored.items() if not e.withdrawn and k not in kept)


def active_count(stored: dict[Key, Existing]) -> int:
    """Return how many of the stored rows are active (not withdrawn)."""
    return sum(not e.withdrawn for e in stored.values())


def normalise_keys(sheet: str, keys: Iterable[object]) -> set[Key]:
    """Return rejected keys as the store writes them: lot numbers upper-case, action ids int."""
    found: set[Key] = set()
    for key in keys:
        if key is None:
            continue
        text = str(key).strip()
        if sheet == "lots":
            found.add((text.upper(),))
            continue
        try:
            found.add((int(text),))
        except ValueError:
            continue  # a rejected id that is not a number matches nothing stored
    return found
