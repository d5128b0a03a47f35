"""Read the store back as plain, JSON-ready data (``catalogue show`` / ``status``, tests).

Dates are ISO strings and timestamps ISO strings in UTC, whatever the database, so that two
stores (SQLite or PostgreSQL) can be compared as data.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, cast

from sqlalchemy import Table, func, or_, orm, select

from schemas.store import ActionRegion, Delivery, Lot, Organisme, Programme, Reject

DELIVERIES = cast(Table, Delivery.__table__)
REJECTS = cast(Table, Reject.__table__)
PROGRAMMES = cast(Table, Programme.__table__)
ORGANISMES = cast(Table, Organisme.__table__)
LOTS = cast(Table, Lot.__table__)
ACTIONS = cast(Table, ActionRegion.__table__)
#: The tables :func:`dump_store` returns, by name.
DUMPED = (DELIVERIES, REJECTS, PROGRAMMES, ORGANISMES, LOTS, ACTIONS)
#: ``of_cr`` (up to 12 digits), a SIRET (14 digits), or ``of_cr:siret``.
_ORGANISME_KEY = re.compile(
    r"^(?:(?P<of_cr>\d{1,12}):(?P<siret>\d{14})|(?P<only>\d{1,12}|\d{14}))$"
)


def plain(value: Any) -> Any:
    """Return a database value as JSON-ready data (dates and timestamps as ISO text)."""
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
        return moment.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _rows(db: orm.Session, statement: Any) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in db.execute(statement).mappings()]


def dump_store(db: orm.Session) -> dict[str, list[dict[str, Any]]]:
    """Return every row of the deliveries and the frame tables, by table, sorted by id.

    Args:
        db: a session on the store.

    Returns:
        Table name -> rows (every column, JSON-ready). Deterministic: two equal stores give
        equal dumps.
    """
    return {t.name: _rows(db, select(t).order_by(t.c.id)) for t in DUMPED}


def _status(row: dict[str, Any]) -> str:
    return "withdrawn" if row.get("withdrawn_at") else "active"


def _file_name(db: orm.Session, delivery_id: int | None) -> str | None:
    if delivery_id is None:
        return None
    return db.scalar(select(DELIVERIES.c.file_name).where(DELIVERIES.c.id == delivery_id))


def _with_deliveries(db: orm.Session, row: dict[str, Any]) -> dict[str, Any]:
    row["status"] = _status(row)
    row["delivery"] = _file_name(db, row.get("delivery_id"))
    if "withdrawn_by_delivery_id" in row:
        row["withdrawn_by"] = _file_name(db, row["withdrawn_by_delivery_id"])
    return row


def show_lot(db: orm.Session, numero_lot: str) -> dict[str, Any] | None:
    """Return a lot with its programme, mandataire and actions, or None.

    Args:
        db: a session on the store.
        numero_lot: the lot's number (case and blanks aside).
    """
    found = _rows(db, select(LOTS).where(LOTS.c.numero_lot == numero_lot.strip().upper()))
    if not found:
        return None
    lot = _with_deliveries(db, found[0])
    programme = _rows(db, select(PROGRAMMES).where(PROGRAMMES.c.id == lot["programme_id"]))[0]
    lot["programme"] = {
        k: programme[k] for k in ("code_programme", "libelle_programme", "code_dispositif")
    }
    mandataire = select(ORGANISMES).where(ORGANISMES.c.of_cr == lot["of_mandataire_cr"])
    lot["mandataire"] = _rows(db, mandataire.order_by(ORGANISMES.c.siret))
    columns = ("id_action_cr", "intitule", "commune", "nb_places", "siret_formateur")
    actions = select(*(ACTIONS.c[c] for c in columns), ACTIONS.c.withdrawn_at).where(
        ACTIONS.c.lot_id == lot["id"]
    )
    lot["actions"] = [
        {**{c: a[c] for c in columns}, "status": _status(a)}
        for a in _rows(db, actions.order_by(ACTIONS.c.id_action_cr))
    ]
    return lot


def show_action(db: orm.Session, id_action_cr: int) -> dict[str, Any] | None:
    """Return an action of the Région with its lot, mandataire and formateur, or None."""
    found = _rows(db, select(ACTIONS).where(ACTIONS.c.id_action_cr == int(id_action_cr)))
    if not found:
        return None
    action = _with_deliveries(db, found[0])
    action["numero_lot"] = db.scalar(select(LOTS.c.numero_lot).where(LOTS.c.id == action["lot_id"]))
    action["mandataire"] = _rows(
        db, select(ORGANISMES).where(ORGANISMES.c.of_cr == action["of_mandataire_cr"])
    )
    action["formateur"] = _rows(
        db, select(ORGANISMES).where(ORGANISMES.c.siret == action["siret_formateur"])
    )
    return action


def show_organisme(db: orm.Session, key: str) -> list[dict[str, Any]]:
    """Return the establishments matching a key, each with its lots and actions ([] if none).

    Args:
        db: a session on the store.
        key: ``of_cr`` (up to 12 digits: every SIRET of that organisation), a 14-digit SIRET,
            or ``"of_cr:siret"``. Blanks are ignored.

    Raises:
        ValueError: the key is none of these.
    """
    match = _ORGANISME_KEY.match(re.sub(r"\s", "", key))
    if not match:
        raise ValueError(f"organisme key {key!r}: expected an N° OF, a SIRET or 'of_cr:siret'")
    if match["only"] and len(match["only"]) == 14:
        where = ORGANISMES.c.siret == match["only"]
    elif match["only"]:
        where = ORGANISMES.c.of_cr == int(match["only"])
    else:
        where = (ORGANISMES.c.of_cr == int(match["of_cr"])) & (ORGANISMES.c.siret == match["siret"])
    found = _rows(db, select(ORGANISMES).where(where).order_by(ORGANISMES.c.of_cr, "siret"))
    for organisme in found:
        organisme["delivery"] = _file_name(db, organisme["delivery_id"])
        organisme["lots"] = list(
            db.scalars(
                select(LOTS.c.numero_lot)
                .where(LOTS.c.of_mandataire_cr == organisme["of_cr"])
                .order_by(LOTS.c.numero_lot)
            )
        )
        organisme["actions"] = list(
            db.scalars(
                select(ACTIONS.c.id_action_cr)
                .where(ACTIONS.c.siret_formateur == organisme["siret"])
                .order_by(ACTIONS.c.id_action_cr)
            )
        )
    return found


def _active_withdrawn(db: orm.Session, table: Table, year: int) -> dict[str, int]:
    rows = db.execute(
        select(table.c.withdrawn_at.is_(None), func.count())
        .where(table.c.annee == year)
        .group_by(table.c.withdrawn_at.is_(None))
    ).tuples()
    counts = {active: n for active, n in rows}
    return {"active": counts.get(True, 0), "withdrawn": counts.get(False, 0)}


def store_status(db: orm.Session) -> dict[str, Any]:
    """Return the deliveries received and, per year, what the store holds.

    Returns:
        ``{"deliveries": [...], "years": [{"annee", "programmes", "lots": {"active",
        "withdrawn"}, "actions": {...}, "organismes"}], "organismes": total}``; organismes of
        a year are those tied to its active lots (mandataire) or actions (formateur).
    """
    rejects = select(func.count()).where(REJECTS.c.delivery_id == DELIVERIES.c.id).scalar_subquery()
    deliveries = _rows(db, select(DELIVERIES, rejects.label("rejects")).order_by(DELIVERIES.c.id))
    years = sorted(set(db.scalars(select(PROGRAMMES.c.annee).distinct())))
    per_year = []
    for year in years:
        mandataires = select(LOTS.c.of_mandataire_cr).where(
            LOTS.c.annee == year, LOTS.c.withdrawn_at.is_(None)
        )
        formateurs = select(ACTIONS.c.siret_formateur).where(
            ACTIONS.c.annee == year, ACTIONS.c.withdrawn_at.is_(None)
        )
        organismes = (
            select(func.count())
            .select_from(ORGANISMES)
            .where(or_(ORGANISMES.c.of_cr.in_(mandataires), ORGANISMES.c.siret.in_(formateurs)))
        )
        per_year.append(
            {
                "annee": year,
                "programmes": db.scalar(
                    select(func.count()).select_from(PROGRAMMES).where(PROGRAMMES.c.annee == year)
                ),
                "lots": _active_withdrawn(db, LOTS, year),
                "actions": _active_withdrawn(db, ACTIONS, year),
                "organismes": db.scalar(organismes),
            }
        )
    total = db.scalar(select(func.count()).select_from(ORGANISMES))
    return {"deliveries": deliveries, "years": per_year, "organismes": total}


def canonical_store(db: orm.Session) -> dict[str, list[str]]:
    """The store's content with no surrogate ids and no times, to compare two stores built apart.

    Every table but ``runs``: each row as canonical JSON in which the primary key is left out, a
    foreign key (and ``change_history.entity_id``) is replaced by the canonical form of the row
    it points to (a delivery by its kind and SHA-256), and a timestamp only says whether it is
    set (a withdrawal, say). Two stores loaded with the same deliveries in any order, at any
    time, under any ids, give equal results exactly when they hold the same data. Rows are
    sorted; what only tells the order of loading is left out: the runs, a delivery's counts of
    rows inserted or found unchanged (organismes shared by two years are inserted by whichever
    comes first), and which delivery first wrote a formation several years share unchanged.

    Returns:
        Table name -> sorted canonical rows.
    """
    from sqlalchemy import DateTime

    from schemas.store import Base

    forms: dict[str, dict[Any, str]] = {}
    result: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:  # referenced tables come first
        if table.name == "runs":
            continue
        forms[table.name] = {}
        for row in db.execute(select(table)).mappings():
            item: dict[str, Any] = {}
            for column in table.columns:
                value = row[column.key]
                if column.primary_key:
                    continue
                if column.foreign_keys and value is not None:
                    target = next(iter(column.foreign_keys)).column.table.name
                    value = forms[target][value]
                elif table.name == "change_history" and column.key == "entity_id":
                    value = forms.get(row["entity"], {}).get(value, value)
                elif isinstance(column.type, DateTime):
                    value = value is not None
                item[column.key] = plain(value)
            if table.name == "deliveries":
                item.pop("counts")
            elif table.name == "formations":  # shared by years: first writer of equal content
                item.pop("delivery_id")
            text = json.dumps(item, ensure_ascii=False, sort_keys=True, default=str)
            forms[table.name][row["id"] if "id" in row else text] = text
        result[table.name] = sorted(forms[table.name].values())
        if table.name == "deliveries":  # referred to by identity, not by content
            rows = db.execute(select(table.c.id, table.c.kind, table.c.sha256))
            forms["deliveries"] = {i: f"{kind}:{sha}" for i, kind, sha in rows}
    return result
