"""What an entry is checked against: the Région's frame and the offer already in the store.

Read once per entry file, as plain dictionaries: only the part the file can reach (its
organisation, its SIRETs, the Région actions it names), so that the cost of a file does not grow
with the store.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, orm, select

from schemas.store import Action, ActionRegion, Formation, Lot, Organisme, Programme, Session


@dataclass(frozen=True)
class FrameAction:
    """An action of the Région with its lot and programme."""

    id: int
    id_action_cr: int
    annee: int
    lot_id: int
    numero_lot: str
    programme_id: int
    code_programme: str
    of_mandataire_cr: int
    siret_formateur: str
    nb_places: int
    date_debut_prevue: dt.date | None
    forfait_recrutement: bool
    withdrawn: bool


@dataclass
class FrameIndex:
    """The frame and the offer's keys, for authorisation and references.

    Attributes:
        actions: ``id_action_cr`` -> the action of the Région.
        of_crs_of_siret: SIRET -> the N° OF it belongs to (usually one).
        sirets_of_of_cr: N° OF -> its establishments' SIRETs.
        organisme_ids: ``(of_cr, siret)`` -> ``organismes.id``.
        described: ``actions_region.id`` -> ``(siret, ref_action)`` of the offer's action
            describing it.
    """

    actions: dict[int, FrameAction] = field(default_factory=dict)
    of_crs_of_siret: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    sirets_of_of_cr: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    organisme_ids: dict[tuple[int, str], int] = field(default_factory=dict)
    described: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: natural keys ``(siret, ref)`` of the offer's records already in the store, by table,
    #: each with the Région actions (``actions_region.id``) it belongs to: its own for an
    #: action, its action's for a session, its actions' for a formation
    stored: dict[str, dict[tuple[str, str], set[int]]] = field(
        default_factory=lambda: {"formations": {}, "actions": {}, "sessions": {}}
    )
    #: ``actions_region.id`` -> the action of the Région
    by_id: dict[int, FrameAction] = field(default_factory=dict)

    def sirets_of_organisation(self, siret: str) -> set[str]:
        """Every SIRET of the organisation(s) owning ``siret`` (itself included)."""
        sirets = {siret}
        for of_cr in self.of_crs_of_siret.get(siret, ()):
            sirets |= self.sirets_of_of_cr[of_cr]
        return sirets

    def region_actions_of(self, table: str, key: tuple[str, str]) -> list[FrameAction | None]:
        """The Région actions a stored record belongs to (none when it is not stored); None for
        one this index did not read (its scope): callers treat it as out of reach."""
        return [self.by_id.get(i) for i in sorted(self.stored[table].get(key, ()))]

    def mandataire_sirets(self, of_cr: int) -> set[str]:
        """The establishments of a lot's mandataire."""
        return set(self.sirets_of_of_cr.get(of_cr, ()))

    def responsable_id(self, of_cr: int, siret: str | None) -> int | None:
        """The establishment of the mandataire to name as organisme responsable.

        ``siret`` when it is one of the mandataire's establishments, else its first one.
        """
        if siret is not None and (of_cr, siret) in self.organisme_ids:
            return self.organisme_ids[(of_cr, siret)]
        sirets = sorted(self.sirets_of_of_cr.get(of_cr, ()))
        return self.organisme_ids[(of_cr, sirets[0])] if sirets else None


@dataclass(frozen=True)
class Scope:
    """The part of the store one entry file can reach.

    Attributes:
        organisation: the sending organisation's SIRET (from the file name).
        sirets: the SIRETs the file's records are written under.
        id_actions_cr: the Région actions the file's actions name.
    """

    organisation: str
    sirets: frozenset[str]
    id_actions_cr: frozenset[int]


#: Values per ``IN (...)``.
IN_CHUNK = 500


def read_frame_index(db: orm.Session, scope: Scope | None = None) -> FrameIndex:
    """Read the frame (every year) and the offer's keys from the store, or what ``scope`` reaches.

    With a scope, the index holds every organisme, the Région actions the file names or that
    belong to lots of the organisation, and the offer's records under the file's and the
    organisation's SIRETs with every Région action they belong to. Every lookup an entry file
    makes (its SIRETs, its actions, the records it references) then gets the same answer as
    from the whole index, at a cost that grows with the organisation, not with the store.
    """
    index = FrameIndex()
    for organisme_id, of_cr, siret in db.execute(
        select(Organisme.id, Organisme.of_cr, Organisme.siret)
    ):
        index.of_crs_of_siret[siret].add(of_cr)
        index.sirets_of_of_cr[of_cr].add(siret)
        index.organisme_ids[(of_cr, siret)] = organisme_id
    if scope is None:
        _read_actions(db, index)
        _read_formations(db, index)
        _read_offer_actions(db, index)
        _read_sessions(db, index)
        return index
    org_sirets = index.sirets_of_organisation(scope.organisation)
    of_crs = {of for s in org_sirets for of in index.of_crs_of_siret.get(s, ())}
    for chunk in _chunks(of_crs):
        _read_actions(db, index, Lot.of_mandataire_cr.in_(chunk))
    # the actions the file names are mostly its organisation's, read just above
    for chunk in _chunks(scope.id_actions_cr - set(index.actions)):
        _read_actions(db, index, ActionRegion.id_action_cr.in_(chunk))
    named = [fa.id for id_cr, fa in index.actions.items() if id_cr in scope.id_actions_cr]
    for chunk in _chunks(named):  # who already describes them
        _read_offer_actions(db, index, Action.action_region_id.in_(chunk))
    for chunk in _chunks(scope.sirets | org_sirets):
        _read_formations(db, index, Formation.siret.in_(chunk))
        _read_offer_actions(db, index, Action.siret.in_(chunk))
        _read_offer_actions(db, index, Formation.siret.in_(chunk))  # its formations' every action
        _read_sessions(db, index, Session.siret.in_(chunk))
    belong = {i for records in index.stored.values() for ids in records.values() for i in ids}
    for chunk in _chunks(belong - set(index.by_id)):
        _read_actions(db, index, ActionRegion.id.in_(chunk))
    return index


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    """Sorted ``values`` in slices of at most :data:`IN_CHUNK`."""
    ordered = sorted(values)
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start : start + IN_CHUNK]


def _read_actions(db: orm.Session, index: FrameIndex, *where: ColumnElement[bool]) -> None:
    """Add the Région actions matching ``where`` (all of them without) to the index."""
    rows = db.execute(
        select(
            ActionRegion.id,
            ActionRegion.id_action_cr,
            ActionRegion.annee,
            ActionRegion.lot_id,
            Lot.numero_lot,
            Lot.programme_id,
            Programme.code_programme,
            Lot.of_mandataire_cr,
            ActionRegion.siret_formateur,
            ActionRegion.nb_places,
            ActionRegion.date_debut_prevue,
            Lot.forfait_recrutement,
            ActionRegion.withdrawn_at,
            Lot.withdrawn_at,
        )
        .join(Lot, ActionRegion.lot_id == Lot.id)
        .join(Programme, Lot.programme_id == Programme.id)
        .where(*where)
    )
    for row in rows:
        index.actions[row[1]] = FrameAction(
            id=row[0],
            id_action_cr=row[1],
            annee=row[2],
            lot_id=row[3],
            numero_lot=row[4],
            programme_id=row[5],
            code_programme=row[6],
            of_mandataire_cr=row[7],
            siret_formateur=row[8],
            nb_places=row[9],
            date_debut_prevue=row[10],
            forfait_recrutement=row[11],
            withdrawn=row[12] is not None or row[13] is not None,
        )
        index.by_id[row[0]] = index.actions[row[1]]


def _read_formations(db: orm.Session, index: FrameIndex, *where: ColumnElement[bool]) -> None:
    """Add the keys of the offer's formations matching ``where`` to the index."""
    statement = select(Formation.siret, Formation.ref_formation).where(*where)
    for key in db.execute(statement).tuples():
        index.stored["formations"].setdefault(key, set())


def _read_offer_actions(db: orm.Session, index: FrameIndex, *where: ColumnElement[bool]) -> None:
    """Add the offer's actions matching ``where``: their keys, the Région action each describes,
    and that action as one its formation belongs to."""
    statement = select(
        Action.action_region_id, Action.siret, Action.ref_action, Formation.siret,
        Formation.ref_formation,
    ).join(Formation, Action.formation_id == Formation.id)  # fmt: skip
    stored = index.stored
    for region_id, siret, ref_action, formation_siret, ref_formation in db.execute(
        statement.where(*where)
    ):
        index.described[region_id] = (siret, ref_action)
        stored["actions"][(siret, ref_action)] = {region_id}
        stored["formations"].setdefault((formation_siret, ref_formation), set()).add(region_id)


def _read_sessions(db: orm.Session, index: FrameIndex, *where: ColumnElement[bool]) -> None:
    """Add the keys of the offer's sessions matching ``where``, with their Région action."""
    statement = select(Session.siret, Session.ref_session, Action.action_region_id).join(
        Action, Session.action_id == Action.id
    )
    for siret, ref_session, region_id in db.execute(statement.where(*where)):
        index.stored["sessions"].setdefault((siret, ref_session), set()).add(region_id)
