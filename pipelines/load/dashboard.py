"""The organisation's dashboard, as SOFI shows it (per SIRET), and what it still has to fix.

Counters of ``regles-programmes.md``: sessions actives; inactives dans moins d'un mois (ending
within 30 days); inactives; du programme Région; ouvertes à distance; actions en cours de
saisie; en attente de validation; dont le code Certifinfo a été remplacé par le Carif-Oref.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BindParameter, Table, bindparam, func, orm, select

from pipelines.load.bundles import fas_code
from pipelines.load.workflow import EN_ATTENTE, EN_COURS, STATES
from schemas import store

T_ACTIONS: Table = store.Action.__table__  # type: ignore[assignment]
T_SESSIONS: Table = store.Session.__table__  # type: ignore[assignment]
T_FORMATIONS: Table = store.Formation.__table__  # type: ignore[assignment]
T_DISPOSITIFS: Table = store.Dispositif.__table__  # type: ignore[assignment]
T_ISSUES: Table = store.ActionIssue.__table__  # type: ignore[assignment]
SOON = dt.timedelta(days=30)


#: the queries of :func:`dashboard`, built once (bound to a SIRET at each call)
_SIRET: BindParameter[str] = bindparam("siret")
_SESSIONS = (
    select(
        T_SESSIONS.c.date_fin,
        T_SESSIONS.c.withdrawn_at,
        T_SESSIONS.c.modalite_enseignement,
        T_DISPOSITIFS.c.id.label("dispositif"),
    )
    .join(T_ACTIONS, T_SESSIONS.c.action_id == T_ACTIONS.c.id)
    .outerjoin(T_DISPOSITIFS, T_DISPOSITIFS.c.action_id == T_ACTIONS.c.id)
    .where(T_SESSIONS.c.siret == _SIRET)
)
_STATES = (
    select(T_ACTIONS.c.etat, func.count())
    .where(T_ACTIONS.c.siret == _SIRET, T_ACTIONS.c.withdrawn_at.is_(None))
    .group_by(T_ACTIONS.c.etat)
)
_REPLACED = (
    select(func.count())
    .select_from(T_ACTIONS)
    .join(T_FORMATIONS, T_ACTIONS.c.formation_id == T_FORMATIONS.c.id)
    .where(T_ACTIONS.c.siret == _SIRET, T_FORMATIONS.c.certifinfo_remplace.is_(True))
)
_ISSUES = (
    select(
        T_ISSUES.c.rule,
        T_ISSUES.c.severity,
        T_ISSUES.c.record,
        T_ISSUES.c.field,
        T_ISSUES.c.message,
        T_ACTIONS.c.etat,
        T_ACTIONS.c.formation_id,
        T_ACTIONS.c.id,
    )
    .join(T_ACTIONS, T_ISSUES.c.action_id == T_ACTIONS.c.id)
    .where(T_ACTIONS.c.siret == _SIRET)
    .order_by(T_ACTIONS.c.id, T_ISSUES.c.id)
)


def dashboard(db: orm.Session, siret: str, today: dt.date) -> dict[str, Any]:
    """The counters of a SIRET's offer on ``today``, and its list of things to fix.

    Returns:
        ``{"siret", "date", "compteurs": {...}, "a_corriger": [{"regle", "gravite", "fiche",
        "champ", "message", "etat"}]}``.
    """
    bound = {"siret": siret}
    sessions = db.execute(_SESSIONS, bound).all()
    active = [
        s
        for s in sessions
        if s.withdrawn_at is None and (s.date_fin is None or s.date_fin >= today)
    ]
    states = {state: n for state, n in db.execute(_STATES, bound)}
    replaced = db.scalar(_REPLACED, bound)
    counters = {
        "sessions_actives": len(active),
        "sessions_inactives_dans_moins_d_un_mois": sum(
            1 for s in active if s.date_fin is not None and s.date_fin <= today + SOON
        ),
        "sessions_inactives": len(sessions) - len(active),
        "sessions_programme_region": sum(1 for s in active if s.dispositif is not None),
        "sessions_ouvertes_a_distance": sum(
            1 for s in active if "distance" in (s.modalite_enseignement or "").lower()
        ),
        "actions_en_cours_de_saisie": states.get(EN_COURS, 0),
        "actions_en_attente_de_validation": states.get(EN_ATTENTE, 0),
        "actions_certifinfo_remplace": replaced or 0,
    }
    issues = db.execute(_ISSUES, bound).all()
    to_fix = [
        {
            "action": fas_code(i.formation_id, i.id),
            "regle": i.rule,
            "gravite": i.severity,
            "fiche": i.record,
            "champ": i.field,
            "message": i.message,
            "etat": i.etat,
        }
        for i in issues
    ]
    return {"siret": siret, "date": today.isoformat(), "compteurs": counters, "a_corriger": to_fix}


def offer_states(db: orm.Session) -> dict[str, int]:
    """How many active actions of the offer are in each workflow state."""
    counts = dict.fromkeys(STATES, 0)
    rows = db.execute(
        select(T_ACTIONS.c.etat, func.count())
        .where(T_ACTIONS.c.withdrawn_at.is_(None))
        .group_by(T_ACTIONS.c.etat)
    ).tuples()
    counts.update({state: n for state, n in rows})
    return counts
