"""The offer as it is published: the actions the Carif-Oref validated, streamed from the store
in FAS-code order, in batches (memory does not grow with the size of the offer)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Table, orm, select

from pipelines.load.bundles import build_bundles
from pipelines.load.frame_index import FrameIndex, read_frame_index
from pipelines.load.workflow import VALIDEE
from pipelines.transform.bundle import ActionBundle
from schemas import store

T_ACTIONS: Table = store.Action.__table__  # type: ignore[assignment]
T_REGION: Table = store.ActionRegion.__table__  # type: ignore[assignment]
T_LOTS: Table = store.Lot.__table__  # type: ignore[assignment]
BATCH = 500


def published_action_ids(db: orm.Session) -> list[int]:
    """Ids of the publishable actions, in FAS-code order (formation, then action).

    Publishable: validated by the Carif-Oref, not withdrawn, and its action of the Région and
    lot not withdrawn either.
    """
    statement = (
        select(T_ACTIONS.c.id)
        .join(T_REGION, T_ACTIONS.c.action_region_id == T_REGION.c.id)
        .join(T_LOTS, T_REGION.c.lot_id == T_LOTS.c.id)
        .where(
            T_ACTIONS.c.etat == VALIDEE,
            T_ACTIONS.c.withdrawn_at.is_(None),
            T_REGION.c.withdrawn_at.is_(None),
            T_LOTS.c.withdrawn_at.is_(None),
        )
        .order_by(T_ACTIONS.c.formation_id, T_ACTIONS.c.id)
    )
    return [a for (a,) in db.execute(statement)]


def iter_published(
    db: orm.Session, *, index: FrameIndex | None = None, batch: int = BATCH
) -> Iterator[ActionBundle]:
    """Yield each publishable action with everything the feeds need, in FAS-code order.

    Only active sessions are in a bundle; an action without any is still yielded (feeds
    decide). Batches of ``batch`` actions are read at a time.
    """
    index = index or read_frame_index(db)
    ids = published_action_ids(db)
    for start in range(0, len(ids), batch):
        bundles = build_bundles(db, ids[start : start + batch], index)
        yield from sorted(bundles, key=lambda b: (b.formation["id"], b.action["id"]))
