"""Building, from the store, what the publication rules look at for each action.

One query per table for a batch of actions (no query per action). FAS codes name the records:
``<formation>-<action>`` for an action, ``<formation>-<action>-<session>`` for a session.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import DateTime, Table, orm, select

from pipelines.load.frame_index import FrameIndex
from pipelines.load.inspect import plain
from pipelines.transform.bundle import ActionBundle, SessionView
from schemas import store

T_FORMATIONS: Table = store.Formation.__table__  # type: ignore[assignment]
T_ACTIONS: Table = store.Action.__table__  # type: ignore[assignment]
T_DISPOSITIFS: Table = store.Dispositif.__table__  # type: ignore[assignment]
T_SESSIONS: Table = store.Session.__table__  # type: ignore[assignment]
T_INFOS: Table = store.InformationCollective.__table__  # type: ignore[assignment]
T_REFERENTS: Table = store.Referent.__table__  # type: ignore[assignment]
T_PERIODES: Table = store.PeriodeInscription.__table__  # type: ignore[assignment]
T_ORGANISMES: Table = store.Organisme.__table__  # type: ignore[assignment]
T_LOTS: Table = store.Lot.__table__  # type: ignore[assignment]
T_REGION: Table = store.ActionRegion.__table__  # type: ignore[assignment]
T_PROGRAMMES: Table = store.Programme.__table__  # type: ignore[assignment]
CHUNK = 500


def fas_code(*ids: int) -> str:
    """The FAS code of a record: its formation's, action's (and session's) ids."""
    if len(ids) == 2:  # the usual cases, without a generator
        return f"{ids[0]}-{ids[1]}"
    if len(ids) == 3:
        return f"{ids[0]}-{ids[1]}-{ids[2]}"
    return "-".join(map(str, ids))


def build_bundles(
    db: orm.Session,
    action_ids: Iterable[int],
    index: FrameIndex,
    flags: dict[int, list[dict[str, Any]]] | None = None,
) -> list[ActionBundle]:
    """Build the bundle of each action (its active sessions only), ordered by action id."""
    ids = sorted(set(action_ids))
    bundles = []
    for start in range(0, len(ids), CHUNK):
        bundles.extend(_chunk(db, ids[start : start + CHUNK], index, flags or {}))
    return bundles


def _rows(db: orm.Session, table: Table, column: str, ids: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows of ``table`` whose ``column`` is in ``ids``, as :func:`plain_date` gives them
    (only timestamp columns hold a value it changes: the others are copied as they are)."""
    result = db.execute(select(table).where(table.c[column].in_(ids)).order_by(table.c.id))
    keys = list(result.keys())
    rows = [dict(zip(keys, row, strict=True)) for row in result]
    stamps = [k for k in keys if _is_timestamp(table, k)]
    if not stamps:
        return rows
    plain_of: dict[Any, Any] = {}  # rows written by one merge share their timestamps
    for row in rows:
        for key in stamps:
            value = row[key]
            if value is None:
                continue
            text = plain_of.get(value)
            if text is None:
                text = plain_of[value] = plain_date(value)
            row[key] = text
    return rows


def _is_timestamp(table: Table, key: str) -> bool:
    return isinstance(table.c[key].type, DateTime)


def plain_date(value: Any) -> Any:
    """Keep dates as dates (rules compare them), timestamps as ISO text."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return plain(value)


def _organismes_by_siret(db: orm.Session, sirets: Sequence[str]) -> dict[str, dict[str, Any]]:
    """One organisme row per SIRET (the most recent N° OF's when a SIRET has several)."""
    rows = _rows(db, T_ORGANISMES, "siret", sirets)
    found: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["source_rank"], r["id"])):
        found[row["siret"]] = row
    return found


def _chunk(
    db: orm.Session, ids: list[int], index: FrameIndex, flags: dict[int, list[dict[str, Any]]]
) -> list[ActionBundle]:
    actions = _rows(db, T_ACTIONS, "id", ids)
    formations = {
        r["id"]: r
        for r in _rows(db, T_FORMATIONS, "id", sorted({a["formation_id"] for a in actions}))
    }
    dispositifs = {r["action_id"]: r for r in _rows(db, T_DISPOSITIFS, "action_id", ids)}
    region = {
        r["id"]: r
        for r in _rows(db, T_REGION, "id", sorted({a["action_region_id"] for a in actions}))
    }
    lots = {
        r["id"]: r for r in _rows(db, T_LOTS, "id", sorted({r["lot_id"] for r in region.values()}))
    }
    sessions = [s for s in _rows(db, T_SESSIONS, "action_id", ids) if s["withdrawn_at"] is None]
    session_ids = [s["id"] for s in sessions]
    infos: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for info in _rows(db, T_INFOS, "session_id", session_ids):
        infos[info["session_id"]].append(info)
    referents: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for referent in _rows(db, T_REFERENTS, "session_id", session_ids):
        referents[referent["session_id"]][referent["type"]] = referent
    wanted = sorted(
        {s["organisme_responsable_id"] for s in sessions if s["organisme_responsable_id"]}
    )
    responsable_rows = _rows(db, T_ORGANISMES, "id", wanted)
    responsables = {r["id"]: r["siret"] for r in responsable_rows}
    sites = _organismes_by_siret(db, sorted({a["siret"] for a in actions}))
    organismes = {r["siret"]: r for r in responsable_rows} | sites
    periodes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for periode in _rows(db, T_PERIODES, "session_id", session_ids):
        periodes[periode["session_id"]].append(periode)
    programme_ids = sorted({lot["programme_id"] for lot in lots.values()})
    programmes = {r["id"]: r for r in _rows(db, T_PROGRAMMES, "id", programme_ids)}
    by_action: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in sessions:
        by_action[s["action_id"]].append(s)
    bundles = []
    for action in actions:
        formation = formations[action["formation_id"]]
        action_region = region[action["action_region_id"]]
        lot = lots[action_region["lot_id"]]
        fa = index.actions[action_region["id_action_cr"]]
        code = fas_code(formation["id"], action["id"])
        dispositif = dict(dispositifs.get(action["id"], {}))
        dispositif.update(
            numero_lot=lot["numero_lot"],
            id_action_cr=action_region["id_action_cr"],
            of_mandataire_cr=lot["of_mandataire_cr"],
        )
        views = []
        for s in by_action[action["id"]]:
            fields = s  # read for this bundle alone: completed in place, not copied
            fields["organisme_responsable_siret"] = responsables.get(s["organisme_responsable_id"])
            views.append(
                SessionView(
                    ref=fas_code(formation["id"], action["id"], s["id"]),
                    fields=fields,
                    informations_collectives=sorted(
                        infos[s["id"]], key=lambda i: (i["date"], i["heure_debut"] or "")
                    ),
                    referents=referents[s["id"]],
                    periodes_inscription=periodes[s["id"]],
                )
            )
        bundles.append(
            ActionBundle(
                ref=code,
                siret=action["siret"],
                programme=fa.code_programme,
                annee=fa.annee,
                formation=formation,
                action=action,
                dispositif=dispositif,
                lot=lot,
                action_region=action_region,
                mandataire_sirets=index.mandataire_sirets(lot["of_mandataire_cr"]),
                sessions=views,
                flags=list(flags.get(action["id"], [])),
                programme_row=programmes[lot["programme_id"]],
                organismes={
                    siret: organismes[siret]
                    for siret in {
                        action["siret"],
                        *(v.fields["organisme_responsable_siret"] for v in views),
                    }
                    if siret in organismes
                },
            )
        )
    return bundles
