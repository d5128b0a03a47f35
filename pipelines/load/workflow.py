"""The validation workflow of the offer's actions, as in SOFI.

``en_cours_de_saisie`` (incomplete or failing a rule) → ``en_attente_validation`` (complete,
every rule passes, waits for the Carif-Oref's offer service) → ``validee`` (published);
``refusee`` (sent back with a reason). A published action that changes goes back to
``en_attente_validation``, unless the change only touches the recruitment state, the places
remaining or the informations collectives. Every transition is recorded (who, when, why).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, insert, literal, orm, select, update

from pipelines.transform.bundle import Issue
from schemas import store

logger = logging.getLogger(__name__)

EN_COURS = "en_cours_de_saisie"
EN_ATTENTE = "en_attente_validation"
VALIDEE = "validee"
REFUSEE = "refusee"
STATES = (EN_COURS, EN_ATTENTE, VALIDEE, REFUSEE)
#: changes that leave a published action published (spec: recruitment, places, infos coll.)
LIGHT_CHANGES = frozenset(
    {
        "session.etat_recrutement",
        "dispositif.nb_places_restantes",
        "session.informations_collectives",
    }
)
T_ACTIONS: Table = store.Action.__table__  # type: ignore[assignment]
T_TRANSITIONS: Table = store.ActionTransition.__table__  # type: ignore[assignment]
T_ISSUES: Table = store.ActionIssue.__table__  # type: ignore[assignment]
#: Values per ``IN (...)``.
IN_CHUNK = 500


def next_state(current: str, changed: set[str], blocking: bool, new: bool) -> str:
    """The state an action goes to after an entry touched it.

    Args:
        current: its state before.
        changed: the fields that changed (``session.date_debut``...); empty when unchanged.
        blocking: a publication rule fails (severity « bloquant »).
        new: the action was created by this entry.
    """
    if blocking:
        return EN_COURS
    if new:
        return EN_ATTENTE
    if not changed:
        return EN_ATTENTE if current == EN_COURS else current
    if current == VALIDEE:
        return VALIDEE if changed <= LIGHT_CHANGES else EN_ATTENTE
    return EN_ATTENTE


@dataclass(frozen=True)
class Transition:
    """One change of state of one action."""

    action_id: int
    from_etat: str | None
    to_etat: str
    why: str | None


def record_issues(db: orm.Session, issues: Mapping[int, Sequence[Issue]]) -> None:
    """Replace the stored issues of the given actions with their last evaluation."""
    ids = sorted(issues)
    for start in range(0, len(ids), 500):
        db.execute(delete(T_ISSUES).where(T_ISSUES.c.action_id.in_(ids[start : start + 500])))
    rows = [
        {"action_id": action_id, "rule": i.rule, "severity": i.severity, "record": i.record,
         "field": i.field, "message": i.message}
        for action_id in ids
        for i in issues[action_id]
    ]  # fmt: skip
    if rows:
        db.execute(insert(T_ISSUES), rows)


def same_issues(db: orm.Session, issues: Mapping[int, Sequence[Issue]]) -> set[int]:
    """The actions whose stored issues are exactly ``issues`` (nothing to record for them)."""
    ids = sorted(issues)
    stored: dict[int, list[tuple[Any, ...]]] = {i: [] for i in ids}
    columns = (T_ISSUES.c.rule, T_ISSUES.c.severity, T_ISSUES.c.record, T_ISSUES.c.field,
               T_ISSUES.c.message)  # fmt: skip
    for start in range(0, len(ids), 500):
        statement = select(T_ISSUES.c.action_id, *columns).where(
            T_ISSUES.c.action_id.in_(ids[start : start + 500])
        )
        for action_id, *values in db.execute(statement):
            stored[action_id].append(tuple(values))
    return {
        action_id
        for action_id in ids
        if sorted(stored[action_id], key=repr)
        == sorted(
            ((i.rule, i.severity, i.record, i.field, i.message) for i in issues[action_id]),
            key=repr,
        )  # fmt: skip
    }


def apply(db: orm.Session, transitions: Iterable[Transition], *, now: dt.datetime, who: str) -> int:
    """Write the transitions (new state on the action, one history row each).

    Set-based: one ``UPDATE … WHERE id IN (…)`` per target state (and slice of ids), and the
    history rows inserted in one batch, in the order of ``transitions``.
    """
    moves = [t for t in transitions if t.from_etat != t.to_etat]
    final = {t.action_id: t.to_etat for t in moves}  # an action moved twice ends in its last
    by_target: dict[str, list[int]] = defaultdict(list)
    for action_id, target in final.items():
        by_target[target].append(action_id)
    for target, ids in by_target.items():
        for start in range(0, len(ids), IN_CHUNK):
            db.execute(
                update(T_ACTIONS)
                .where(T_ACTIONS.c.id.in_(ids[start : start + IN_CHUNK]))
                .values(etat=target)
            )
    if moves:
        db.execute(
            insert(T_TRANSITIONS),
            [
                {"action_id": t.action_id, "from_etat": t.from_etat, "to_etat": t.to_etat,
                 "at": now, "who": who, "why": t.why}
                for t in moves
            ],
        )  # fmt: skip
    logger.info("%d transitions by %s", len(moves), who)
    return len(moves)


def states_of(db: orm.Session, action_ids: Iterable[int]) -> dict[int, str]:
    """Current state of each action."""
    ids = sorted(set(action_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        statement = select(T_ACTIONS.c.id, T_ACTIONS.c.etat).where(
            T_ACTIONS.c.id.in_(ids[start : start + 500])
        )
        found.update({a: e for a, e in db.execute(statement)})
    return found


def settle(
    db: orm.Session,
    issues: Mapping[int, Sequence[Issue]],
    changes: Mapping[int, set[str]],
    new_actions: set[int],
    *,
    now: dt.datetime,
    who: str,
) -> dict[str, int]:
    """Record the evaluation of touched actions and move them to their next state.

    Returns:
        How many of these actions are in each state afterwards.
    """
    record_issues(db, issues)
    current = states_of(db, issues)
    transitions = []
    for action_id, found in issues.items():
        blocking = [i for i in found if i.severity == "bloquant"]
        target = next_state(
            current[action_id], changes.get(action_id, set()), bool(blocking),
            action_id in new_actions,
        )  # fmt: skip
        why = (
            f"{len(blocking)} règle(s) non respectée(s) : "
            + ", ".join(sorted({i.rule for i in blocking}))
            if blocking
            else "saisie complète"
        )
        before = None if action_id in new_actions else current[action_id]
        transitions.append(Transition(action_id, before, target, why))
    apply(db, transitions, now=now, who=who)
    counts = dict.fromkeys(STATES, 0)
    for t in transitions:  # every evaluated action is now in its target state
        counts[t.to_etat] += 1
    return counts


def select_actions(
    db: orm.Session,
    *,
    all_valid: bool = False,
    lot: str | None = None,
    siret: str | None = None,
    fas: str | None = None,
    states: Sequence[str] = (EN_ATTENTE,),
) -> list[int]:
    """The actions a validation applies to, among those in ``states``.

    Args:
        all_valid: every action in ``states``.
        lot: the actions of a lot (``numero_lot``).
        siret: the actions of a site dispensateur.
        fas: one action by its FAS code (``F-A`` or ``F-A-S``).
        states: the states an action must be in to be selected.

    Raises:
        ValueError: no selection given, or a FAS code that is not one.
    """
    statement = select(T_ACTIONS.c.id).where(T_ACTIONS.c.etat.in_(list(states)))
    if lot is not None:
        statement = (
            statement.join(
                store.ActionRegion, T_ACTIONS.c.action_region_id == store.ActionRegion.id
            )
            .join(store.Lot, store.ActionRegion.lot_id == store.Lot.id)
            .where(store.Lot.numero_lot == lot.strip().upper())
        )
    if siret is not None:
        statement = statement.where(T_ACTIONS.c.siret == siret.strip())
    if fas is not None:
        parts = fas.strip().split("-")
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise ValueError(f"code FAS « {fas} » invalide : attendu formation-action[-session]")
        statement = statement.where(
            T_ACTIONS.c.formation_id == int(parts[0]), T_ACTIONS.c.id == int(parts[1])
        )
    if not (all_valid or lot or siret or fas):
        raise ValueError("choisir --all-valid, --lot, --siret ou --fas")
    return [a for (a,) in db.execute(statement.order_by(T_ACTIONS.c.id))]


def decide(
    db: orm.Session,
    action_ids: Sequence[int],
    *,
    refuse: bool,
    reason: str | None,
    now: dt.datetime,
    who: str,
) -> list[Transition]:
    """Validate (or refuse, with a reason) the selected actions, recording each transition.

    Raises:
        ValueError: a refusal without a reason.
    """
    if refuse and not (reason and reason.strip()):
        raise ValueError("un refus doit dire pourquoi (--reason)")
    target = REFUSEE if refuse else VALIDEE
    why = reason.strip() if reason else "validée par le Carif-Oref"
    current = states_of(db, action_ids)
    transitions = [Transition(a, current[a], target, why) for a in action_ids
                   if current.get(a) != target]  # fmt: skip
    moved = [t.action_id for t in transitions]
    if all(a < b for a, b in zip(moved, moved[1:], strict=False)):
        _move_in_order(db, moved, target, why, now=now, who=who)
    else:
        apply(db, transitions, now=now, who=who)
    return transitions


def _move_in_order(
    db: orm.Session, ids: list[int], target: str, why: str, *, now: dt.datetime, who: str
) -> None:
    """:func:`apply` for actions sorted by id going to one state for one reason, set-based:
    per slice of ids, the history rows copied from the actions (``INSERT … SELECT``, by id)
    before one ``UPDATE``."""
    columns = ("action_id", "from_etat", "to_etat", "at", "who", "why")
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        history = (
            select(
                T_ACTIONS.c.id,
                T_ACTIONS.c.etat,
                literal(target, T_TRANSITIONS.c.to_etat.type),
                literal(now, T_TRANSITIONS.c.at.type),
                literal(who, T_TRANSITIONS.c.who.type),
                literal(why, T_TRANSITIONS.c.why.type),
            )
            .where(T_ACTIONS.c.id.in_(chunk))
            .order_by(T_ACTIONS.c.id)
        )
        db.execute(insert(T_TRANSITIONS).from_select(columns, history))
        db.execute(update(T_ACTIONS).where(T_ACTIONS.c.id.in_(chunk)).values(etat=target))
    logger.info("%d transitions by %s", len(ids), who)
