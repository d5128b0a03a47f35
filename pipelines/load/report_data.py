"""What the run report (``rapport/index.html``) tells, read from the store as plain data.

Every list is sorted in Python on stable keys (ids, codes), never by the database's collation,
so that SQLite and PostgreSQL give the same report for the same store.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, case, func, orm, select

from pipelines.extract.source import parse_entry_name
from pipelines.load.dashboard import offer_states
from pipelines.load.published import publishable, published_actions
from pipelines.load.workflow import REFUSEE, STATES, VALIDEE
from schemas import store

T_DELIVERIES = cast(Table, store.Delivery.__table__)
T_REJECTS = cast(Table, store.Reject.__table__)
T_PROGRAMMES = cast(Table, store.Programme.__table__)
T_LOTS = cast(Table, store.Lot.__table__)
T_REGION = cast(Table, store.ActionRegion.__table__)
T_ORGANISMES = cast(Table, store.Organisme.__table__)
T_FORMATIONS = cast(Table, store.Formation.__table__)
T_ACTIONS = cast(Table, store.Action.__table__)
T_SESSIONS = cast(Table, store.Session.__table__)
T_DISPOSITIFS = cast(Table, store.Dispositif.__table__)
T_ISSUES = cast(Table, store.ActionIssue.__table__)
T_TRANSITIONS = cast(Table, store.ActionTransition.__table__)
KIND_ENTRY = "saisie"
#: Where the rejects of the Région's extraction are counted, among organisations.
REGION = "Région"
NO_PROGRAMME = "(sans programme)"


@dataclass(frozen=True)
class RejectRow:
    """A rejected row stored in the quarantine, with the delivery it came from."""

    id: int
    delivery_id: int
    file: str
    kind: str
    sheet: str
    row: int | None
    column: str | None
    value: str | None
    reason: str
    message: str

    @property
    def siret(self) -> str | None:
        """The organisation of an entry delivery, by its file name (None for the Région)."""
        return entry_siret(self.kind, self.file)

    def sort_key(self) -> tuple[Any, ...]:
        """Delivery, sheet, row, column, reason (then value, message and id: total order)."""
        return (
            self.delivery_id,
            self.sheet,
            self.row is not None,
            self.row or 0,
            self.column or "",
            self.reason,
            self.value or "",
            self.message,
            self.id,
        )


def entry_siret(kind: str, file_name: str) -> str | None:
    """The SIRET an entry delivery's name announces (``saisie_<siret>_<date>``), else None."""
    return parse_entry_name(file_name)[0] if kind == KIND_ENTRY else None


def read_rejects(db: orm.Session) -> list[RejectRow]:
    """Every rejected row stored, joined to its delivery, in the quarantine's order."""
    rows = db.execute(
        select(
            T_REJECTS.c.id,
            T_REJECTS.c.delivery_id,
            T_DELIVERIES.c.file_name,
            T_DELIVERIES.c.kind,
            T_REJECTS.c.sheet,
            T_REJECTS.c.row,
            T_REJECTS.c.column,
            T_REJECTS.c.value,
            T_REJECTS.c.reason,
            T_REJECTS.c.message,
        ).join(T_DELIVERIES, T_REJECTS.c.delivery_id == T_DELIVERIES.c.id)
    ).tuples()
    return sorted((RejectRow(*row) for row in rows), key=RejectRow.sort_key)


def organisation_names(db: orm.Session) -> dict[str, str]:
    """SIRET -> raison sociale (of its lowest N° OF when several share a SIRET)."""
    rows = db.execute(
        select(T_ORGANISMES.c.siret, T_ORGANISMES.c.of_cr, T_ORGANISMES.c.raison_sociale)
    ).tuples()
    names: dict[str, str] = {}
    for siret, _, name in sorted(rows, key=lambda r: (r[0], r[1])):
        names.setdefault(siret, name)
    return names


def frame_per_year(db: orm.Session) -> list[dict[str, Any]]:
    """Per year: programmes, lots and actions of the Région, active and withdrawn."""
    kinds = (("programmes", T_PROGRAMMES), ("lots", T_LOTS), ("actions", T_REGION))
    years: dict[int, dict[str, dict[str, int]]] = defaultdict(
        lambda: {name: {"actives": 0, "retirees": 0} for name, _ in kinds}
    )
    for name, table in kinds:
        active = table.c.withdrawn_at.is_(None)
        rows = db.execute(
            select(table.c.annee, active, func.count()).group_by(table.c.annee, active)
        ).tuples()
        for year, is_active, n in rows:
            years[year][name]["actives" if is_active else "retirees"] += n
    return [{"annee": year, **years[year]} for year in sorted(years)]


def _count(db: orm.Session, table: Table, *where: Any) -> int:
    return db.scalar(select(func.count()).select_from(table).where(*where)) or 0


def offer_counts(db: orm.Session) -> dict[str, Any]:
    """The offer: actions by state (active ones), withdrawn, formations, sessions."""
    return {
        "etats": offer_states(db),
        "formations": _count(db, T_FORMATIONS, T_FORMATIONS.c.withdrawn_at.is_(None)),
        "actions_retirees": _count(db, T_ACTIONS, T_ACTIONS.c.withdrawn_at.is_not(None)),
        "sessions_actives": _count(db, T_SESSIONS, T_SESSIONS.c.withdrawn_at.is_(None)),
        "sessions_retirees": _count(db, T_SESSIONS, T_SESSIONS.c.withdrawn_at.is_not(None)),
    }


def per_programme(db: orm.Session) -> list[dict[str, Any]]:
    """Per programme and year: active actions and sessions, and how many are published.

    Counted by the database (one grouped query: memory does not grow with the offer). A
    published action (:func:`~pipelines.load.published.published_actions`) publishes its
    sessions that are not withdrawn; an action under several dispositifs counts in each.
    """
    sessions = (
        select(T_SESSIONS.c.action_id, func.count().label("n"))
        .where(T_SESSIONS.c.withdrawn_at.is_(None))
        .group_by(T_SESSIONS.c.action_id)
        .subquery()
    )
    # the conditions of ``published_actions`` on the action's own Région action and lot (joins
    # of one row each), not a subquery: PostgreSQL, planning on the statistics of a store just
    # loaded, ran such a subquery once per action (100 s at 100 000 sessions)
    is_published = and_(T_REGION.c.id.is_not(None), T_LOTS.c.id.is_not(None), *publishable())
    n = func.coalesce(sessions.c.n, 0)
    rows = db.execute(
        select(
            T_PROGRAMMES.c.code_programme,
            T_PROGRAMMES.c.annee,
            func.max(T_PROGRAMMES.c.libelle_programme),
            func.count(),
            func.sum(n),
            func.sum(case((is_published, 1), else_=0)),
            func.sum(case((is_published, n), else_=0)),
        )
        .select_from(T_ACTIONS)
        .outerjoin(T_DISPOSITIFS, T_DISPOSITIFS.c.action_id == T_ACTIONS.c.id)
        .outerjoin(T_PROGRAMMES, T_PROGRAMMES.c.id == T_DISPOSITIFS.c.programme_id)
        .outerjoin(sessions, sessions.c.action_id == T_ACTIONS.c.id)
        .outerjoin(T_REGION, T_ACTIONS.c.action_region_id == T_REGION.c.id)
        .outerjoin(T_LOTS, T_REGION.c.lot_id == T_LOTS.c.id)
        .where(T_ACTIONS.c.withdrawn_at.is_(None))
        .group_by(T_PROGRAMMES.c.code_programme, T_PROGRAMMES.c.annee)
    ).tuples()
    table: dict[tuple[str, int], dict[str, Any]] = {}
    counted = ("actions", "sessions", "actions_publiees", "sessions_publiees")
    for code, year, label, *counts in rows:
        key = (code or NO_PROGRAMME, year or 0)
        line = table.setdefault(key, {"code": key[0], "annee": year, "libelle": "",
                                      **dict.fromkeys(counted, 0)})  # fmt: skip
        line["libelle"] = max(line["libelle"], label or "")
        for name, value in zip(counted, counts, strict=True):
            line[name] += int(value or 0)
    return [table[k] for k in sorted(table)]


def published_counts(db: orm.Session) -> tuple[int, int]:
    """The publishable actions, selected as the feeds select them, and their sessions that are
    not withdrawn: two counts from the database."""
    published = published_actions().order_by(None).subquery()
    actions = db.scalar(select(func.count()).select_from(published)) or 0
    sessions = _count(
        db, T_SESSIONS, T_SESSIONS.c.withdrawn_at.is_(None),
        T_SESSIONS.c.action_id.in_(select(published.c.id)),
    )  # fmt: skip
    return actions, sessions


def issues_by_rule(db: orm.Session, severity: str, *, held_back: bool) -> list[dict[str, Any]]:
    """Rules broken by active actions: actions concerned, occurrences, an example message.

    Args:
        db: the store.
        severity: ``bloquant`` or ``avertissement``.
        held_back: only the actions not validated (else every active action).
    """
    where = [T_ACTIONS.c.withdrawn_at.is_(None), T_ISSUES.c.severity == severity]
    if held_back:
        where.append(T_ACTIONS.c.etat != VALIDEE)
    rows = (
        db.execute(
            select(
                T_ISSUES.c.rule,
                func.count(func.distinct(T_ISSUES.c.action_id)),
                func.count(),
                func.min(T_ISSUES.c.id),
            )
            .join(T_ACTIONS, T_ISSUES.c.action_id == T_ACTIONS.c.id)
            .where(*where)
            .group_by(T_ISSUES.c.rule)
        )
        .tuples()
        .all()
    )
    first_ids = [r[3] for r in rows]
    examples = dict(
        db.execute(select(T_ISSUES.c.id, T_ISSUES.c.message).where(T_ISSUES.c.id.in_(first_ids)))
        .tuples()
        .all()
    )
    return [
        {"regle": rule, "actions": actions, "occurrences": n, "exemple": examples.get(first, "")}
        for rule, actions, n, first in sorted(rows, key=lambda r: (-r[1], r[0]))
    ]


def refusals(db: orm.Session) -> list[dict[str, Any]]:
    """Why the active refused actions were sent back (their last refusal), with counts."""
    last = (
        select(func.max(T_TRANSITIONS.c.id))
        .where(T_TRANSITIONS.c.to_etat == REFUSEE)
        .group_by(T_TRANSITIONS.c.action_id)
    )
    refused = select(T_ACTIONS.c.id).where(
        T_ACTIONS.c.etat == REFUSEE, T_ACTIONS.c.withdrawn_at.is_(None)
    )
    whys = db.scalars(
        select(T_TRANSITIONS.c.why).where(
            T_TRANSITIONS.c.id.in_(last), T_TRANSITIONS.c.action_id.in_(refused)
        )
    )
    counts = Counter(why or "(sans motif)" for why in whys)
    return [
        {"motif": w, "actions": n} for w, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))
    ]


def rejects_by_reason(rejects: Iterable[RejectRow]) -> list[dict[str, Any]]:
    """Reason code, rows, and the message of its first row (quarantine order)."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for r in rejects:
        counts[r.reason] += 1
        examples.setdefault(r.reason, r.message)
    return [
        {"motif": reason, "lignes": n, "exemple": examples[reason]}
        for reason, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))
    ]


def rejects_by_organisation(
    deliveries: Iterable[dict[str, Any]], names: dict[str, str]
) -> list[dict[str, Any]]:
    """Per organisation (SIRET of the entry file's name, or the Région): files, rejected rows.

    Args:
        deliveries: rows of ``store_status()["deliveries"]`` (with their ``rejects``).
        names: SIRET -> raison sociale.
    """
    table: dict[str, dict[str, Any]] = {}
    for d in deliveries:
        siret = entry_siret(d["kind"], d["file_name"])
        key = REGION if d["kind"] != KIND_ENTRY else siret or ""
        line = table.setdefault(
            key,
            {
                "siret": siret,
                "nom": names.get(siret or "", ""),
                "region": d["kind"] != KIND_ENTRY,
                "livraisons": 0,
                "lignes": 0,
            },
        )
        line["livraisons"] += 1
        line["lignes"] += d.get("rejects") or 0
    order = sorted(table, key=lambda k: (not table[k]["region"], k == "", k))
    return [table[k] for k in order]


def held_back(db: orm.Session, states: dict[str, int], published: int) -> dict[str, Any]:
    """The active actions not published, by state and why."""
    return {
        "etats": [(s, states.get(s, 0)) for s in STATES if s != VALIDEE],
        "validees_non_publiees": states.get(VALIDEE, 0) - published,
        "regles": issues_by_rule(db, "bloquant", held_back=True),
        "refus": refusals(db),
    }


def as_moment(value: Any) -> dt.datetime | None:
    """A stored timestamp (or its ISO text) as an aware datetime (UTC if naive)."""
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
