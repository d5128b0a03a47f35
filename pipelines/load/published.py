"""The offer as it is published: the actions the Carif-Oref validated, streamed from the store
in FAS-code order, in batches (memory does not grow with the size of the offer).

A batch reads only its own part of the Région's frame (its actions' programme and year); the
organisations' establishments (a lot's mandataire's SIRETs) are read once per pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import ColumnElement, Select, Table, orm, select

from pipelines.load.bundles import build_bundles
from pipelines.load.frame_index import FrameAction, FrameIndex
from pipelines.load.workflow import VALIDEE
from pipelines.transform.bundle import ActionBundle
from schemas import store

T_ACTIONS: Table = store.Action.__table__  # type: ignore[assignment]
T_REGION: Table = store.ActionRegion.__table__  # type: ignore[assignment]
T_LOTS: Table = store.Lot.__table__  # type: ignore[assignment]
T_PROGRAMMES: Table = store.Programme.__table__  # type: ignore[assignment]
T_ORGANISMES: Table = store.Organisme.__table__  # type: ignore[assignment]
BATCH = 500


def published_actions() -> Select[tuple[int]]:
    """The statement selecting the publishable actions' ids, in FAS-code order (formation,
    then action); usable as a subquery (``.in_(published_actions())``).

    Publishable: validated by the Carif-Oref, not withdrawn, and its action of the Région and
    lot not withdrawn either.
    """
    return (
        select(T_ACTIONS.c.id)
        .join(T_REGION, T_ACTIONS.c.action_region_id == T_REGION.c.id)
        .join(T_LOTS, T_REGION.c.lot_id == T_LOTS.c.id)
        .where(*publishable())
        .order_by(T_ACTIONS.c.formation_id, T_ACTIONS.c.id)
    )


def publishable() -> tuple[ColumnElement[bool], ...]:
    """What makes an action publishable, on ``actions`` joined to its Région action and lot
    (``actions_region``, ``lots``): see :func:`published_actions`."""
    return (
        T_ACTIONS.c.etat == VALIDEE,
        T_ACTIONS.c.withdrawn_at.is_(None),
        T_REGION.c.withdrawn_at.is_(None),
        T_LOTS.c.withdrawn_at.is_(None),
    )


def published_action_ids(db: orm.Session) -> list[int]:
    """Ids of the publishable actions, in FAS-code order (see :func:`published_actions`)."""
    return list(db.scalars(published_actions()))


def iter_published(
    db: orm.Session, *, index: FrameIndex | None = None, batch: int = BATCH
) -> Iterator[ActionBundle]:
    """Yield each publishable action with everything the feeds need, in FAS-code order.

    Only active sessions are in a bundle; an action without any is still yielded (feeds
    decide). Batches of ``batch`` actions are read at a time, each with its own part of the
    frame unless ``index`` (the whole frame) is given.
    """
    ids = published_action_ids(db)
    sirets = None if index is not None else _sirets_of_of_cr(db)
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        frame = index or _frame_of(db, chunk, sirets or {})
        bundles = build_bundles(db, chunk, frame)
        yield from sorted(bundles, key=lambda b: (b.formation["id"], b.action["id"]))


def _sirets_of_of_cr(db: orm.Session) -> dict[int, set[str]]:
    """N° OF -> its establishments' SIRETs (a lot's mandataire's, in a bundle)."""
    found: dict[int, set[str]] = defaultdict(set)
    for of_cr, siret in db.execute(select(T_ORGANISMES.c.of_cr, T_ORGANISMES.c.siret)):
        found[of_cr].add(siret)
    return found


def _frame_of(db: orm.Session, action_ids: list[int], sirets: dict[int, set[str]]) -> FrameIndex:
    """The part of the frame a batch of actions answers: their actions of the Région (with lot
    and programme), as :func:`~pipelines.load.frame_index.read_frame_index` reads them."""
    region = T_REGION.c
    statement = (
        select(
            region.id, region.id_action_cr, region.annee, region.lot_id, T_LOTS.c.numero_lot,
            T_LOTS.c.programme_id, T_PROGRAMMES.c.code_programme, T_LOTS.c.of_mandataire_cr,
            region.siret_formateur, region.nb_places, region.date_debut_prevue,
            T_LOTS.c.forfait_recrutement, region.withdrawn_at, T_LOTS.c.withdrawn_at,
        )
        .join(T_LOTS, region.lot_id == T_LOTS.c.id)
        .join(T_PROGRAMMES, T_LOTS.c.programme_id == T_PROGRAMMES.c.id)
        .where(region.id.in_(select(T_ACTIONS.c.action_region_id)
                             .where(T_ACTIONS.c.id.in_(action_ids))))
    )  # fmt: skip
    index = FrameIndex(sirets_of_of_cr=sirets)
    for row in db.execute(statement):
        action = FrameAction(
            id=row[0], id_action_cr=row[1], annee=row[2], lot_id=row[3], numero_lot=row[4],
            programme_id=row[5], code_programme=row[6], of_mandataire_cr=row[7],
            siret_formateur=row[8], nb_places=row[9], date_debut_prevue=row[10],
            forfait_recrutement=row[11], withdrawn=row[12] is not None or row[13] is not None,
        )  # fmt: skip
        index.actions[action.id_action_cr] = index.by_id[action.id] = action
    return index
