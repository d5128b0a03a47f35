"""Merging sessions with what hangs under them: informations collectives, référents and the
période d'inscription, each compared as a whole and replaced when it changed."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Table, delete, insert, orm, select

from pipelines.load.frame_index import FrameIndex
from pipelines.load.offer_rows import (
    BATCH_SIZE,
    IN_CHUNK,
    Key,
    Merge,
    as_text,
    history,
    ids_of,
    records,
    upsert,
)
from pipelines.transform.entries import ValidatedEntries
from schemas import store

T_ACTIONS: Table = store.Action.__table__  # type: ignore[assignment]
T_SESSIONS: Table = store.Session.__table__  # type: ignore[assignment]
T_INFOS: Table = store.InformationCollective.__table__  # type: ignore[assignment]
T_REFERENTS: Table = store.Referent.__table__  # type: ignore[assignment]
T_PERIODES: Table = store.PeriodeInscription.__table__  # type: ignore[assignment]
SESSION_FIELDS = (
    "action_id", "lieu_adresse", "lieu_code_postal", "lieu_commune", "date_debut", "date_fin",
    "esp", "rythme", "periodes", "type_parcours", "modalites_pedagogiques",
    "modalite_enseignement", "duree_centre_h", "duree_entreprise_h", "duree_hebdo_h",
    "commentaire_duree", "organisme_responsable_id", "etat_recrutement",
    "modalites_recrutement",
)  # fmt: skip
INFO_FIELDS = ("date", "heure_debut", "heure_fin", "lieu", "commentaire")
REFERENT_TYPES = ("pmr", "mobilite", "prf")
CONTACT = ("nom", "email", "telephone")
#: each type of référent with its contact's fields and the entry columns giving them
_REFERENT_COLUMNS = tuple(
    (t, tuple((k, f"referent_{t}_{k}") for k in CONTACT)) for t in REFERENT_TYPES
)


def merge_sessions(
    merge: Merge, entries: ValidatedEntries, index: FrameIndex, action_ids: dict[Key, int]
) -> None:
    """Sessions with their informations collectives, référents and période d'inscription."""
    incoming = records(entries.frames["sessions"])
    wanted = {(r["action_siret"], r["ref_action"]) for r in incoming}
    actions = ids_of(merge.db, T_ACTIONS, "ref_action", wanted, action_ids)
    mandataires = _mandataires(merge.db, set(actions.values()))
    infos: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for info in records(entries.frames["informations_collectives"]):
        infos[(info["session_siret"], info["ref_session"])].append(
            {f: as_text(info.get(f)) if f == "date" else info.get(f) for f in INFO_FIELDS}
        )
    rows: list[dict[str, Any]] = []
    children: dict[Key, dict[str, Any]] = {}
    for r in incoming:
        action_id = actions[(r["action_siret"], r["ref_action"])]
        row = {f: r.get(f) for f in SESSION_FIELDS}
        row.update(
            siret=r["siret"],
            ref_session=r["ref_session"],
            action_id=action_id,
            organisme_responsable_id=index.responsable_id(
                mandataires[action_id], r.get("organisme_responsable") or r["siret"]
            ),
            modalites_recrutement=[
                m for m in (r.get("modalites_recrutement") or "").split(";") if m
            ],
        )
        rows.append(row)
        children[(r["siret"], r["ref_session"])] = {
            "informations_collectives": sorted(
                infos[(r["siret"], r["ref_session"])], key=lambda i: (i["date"], i["heure_debut"] or "")
            ),
            "referents": {
                t: {k: r.get(column) for k, column in columns}
                for t, columns in _REFERENT_COLUMNS
                if any(r.get(column) for _, column in columns)
            },
            "periodes_inscription": [
                {"type": r.get("periode_inscription_type"),
                 "date_debut": as_text(r.get("periode_inscription_debut")),
                 "date_fin": as_text(r.get("periode_inscription_fin"))}
            ] if r.get("periode_inscription_type") or r.get("periode_inscription_debut") else [],
        }  # fmt: skip
    done = upsert(merge, T_SESSIONS, "sessions", ("siret", "ref_session"), rows, SESSION_FIELDS)
    # a new session has nothing stored under it yet
    stored = _children(merge.db, [i for i, changed in done.values() if "*" not in changed])
    owners = {(r["siret"], r["ref_session"]): r["action_id"] for r in rows}
    replaced: dict[str, list[tuple[int, bool]]] = {name: [] for name in _EMPTY}
    for key, (session_id, changed) in done.items():
        wanted_children = children[key]
        before = stored.get(session_id, {})
        moved = {n for n, v in wanted_children.items() if before.get(n, _EMPTY[n]) != v}
        for name in moved:
            replaced[name].append((session_id, "*" in changed))
        if moved and "*" not in changed:
            history(
                merge,
                "sessions",
                session_id,
                ((n, before.get(n), wanted_children[n]) for n in sorted(moved)),
            )
            if not changed:  # only its children moved: count the session as updated
                merge.count("sessions", "updated")
                merge.count("sessions", "unchanged", -1)
        merge.touch(owners[key], "session", changed | moved)
    by_id = {session_id: children[key] for key, (session_id, _) in done.items()}
    _replace_children(merge, replaced, by_id)


_EMPTY: dict[str, Any] = {
    "informations_collectives": [],
    "referents": {},
    "periodes_inscription": [],
}


def _mandataires(db: orm.Session, action_ids: set[int]) -> dict[int, int]:
    """Action id -> the N° OF of its lot's mandataire."""
    found: dict[int, int] = {}
    ids = sorted(action_ids)
    for start in range(0, len(ids), IN_CHUNK):
        statement = (
            select(T_ACTIONS.c.id, store.Lot.of_mandataire_cr)
            .join(store.ActionRegion, T_ACTIONS.c.action_region_id == store.ActionRegion.id)
            .join(store.Lot, store.ActionRegion.lot_id == store.Lot.id)
            .where(T_ACTIONS.c.id.in_(ids[start : start + IN_CHUNK]))
        )
        found.update({a: of for a, of in db.execute(statement)})
    return found


def _children(db: orm.Session, session_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What the store holds under each session, in the form the merge compares."""
    found: dict[int, dict[str, Any]] = defaultdict(
        lambda: {k: type(v)() for k, v in _EMPTY.items()}
    )
    for start in range(0, len(session_ids), 500):
        chunk = session_ids[start : start + 500]
        for row in db.execute(select(T_INFOS).where(T_INFOS.c.session_id.in_(chunk))).mappings():
            found[row["session_id"]]["informations_collectives"].append(
                {f: as_text(row[f]) if f == "date" else row[f] for f in INFO_FIELDS}
            )
        for row in db.execute(
            select(T_REFERENTS).where(T_REFERENTS.c.session_id.in_(chunk))
        ).mappings():
            found[row["session_id"]]["referents"][row["type"]] = {
                k: row[k] for k in ("nom", "email", "telephone")
            }
        for row in db.execute(
            select(T_PERIODES).where(T_PERIODES.c.session_id.in_(chunk))
        ).mappings():
            found[row["session_id"]]["periodes_inscription"].append(
                {"type": row["type"], "date_debut": as_text(row["date_debut"]),
                 "date_fin": as_text(row["date_fin"])}
            )  # fmt: skip
    for children in found.values():
        children["informations_collectives"].sort(key=lambda i: (i["date"], i["heure_debut"] or ""))
    return found


def _replace_children(
    merge: Merge, replaced: dict[str, list[tuple[int, bool]]], children: dict[int, dict[str, Any]]
) -> None:
    """Replace what hangs under sessions, table by table, in batches.

    Args:
        merge: the merge.
        replaced: per kind of child, the sessions whose children of that kind changed, each
            with whether it is new (nothing stored to delete).
        children: session id -> its children as the file gives them.
    """
    for name, table in (
        ("informations_collectives", T_INFOS),
        ("referents", T_REFERENTS),
        ("periodes_inscription", T_PERIODES),
    ):
        stale = [session_id for session_id, new in replaced[name] if not new]
        for start in range(0, len(stale), IN_CHUNK):
            chunk = stale[start : start + IN_CHUNK]
            merge.db.execute(delete(table).where(table.c.session_id.in_(chunk)))
        rows = [
            row
            for session_id, _ in replaced[name]
            for row in _child_rows(name, session_id, children[session_id][name])
        ]
        for start in range(0, len(rows), BATCH_SIZE):
            merge.db.execute(insert(table), rows[start : start + BATCH_SIZE])


def _child_rows(name: str, session_id: int, value: Any) -> list[dict[str, Any]]:
    """The rows of one kind of child of a session, as the store holds them."""
    if name == "informations_collectives":
        return [
            {**i, "date": dt.date.fromisoformat(i["date"]), "session_id": session_id} for i in value
        ]
    if name == "referents":
        return [{"session_id": session_id, "type": t, **v} for t, v in value.items()]
    return [
        {"session_id": session_id, "type": p["type"],
         "date_debut": p["date_debut"] and dt.date.fromisoformat(p["date_debut"]),
         "date_fin": p["date_fin"] and dt.date.fromisoformat(p["date_fin"])}
        for p in value
    ]  # fmt: skip
