"""Merging an organisation's validated entries into the FASD store, in the caller's transaction.

Records are matched by the organisation's references (``(siret, ref_*)``): a re-sent record
updates its row and keeps its FAS code (the surrogate ids, never reused), a new one gets a new
code. Only what changed is written; every changed field of an existing record is kept in
``change_history`` (field, old, new, when, which delivery). The frame wins over the entry for
the codes externes, the places and the organisme responsable (the lot's mandataire).

Sessions of the organisation absent from the file (for the frame years the file covers) are
withdrawn, softly, under the same mass-withdrawal guard as the Région's file; rows of the file
that were rejected keep their stored version.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
from sqlalchemy import Table, orm, select, update

from pipelines.load.frame_index import FrameIndex
from pipelines.load.guard import check_mass_withdrawal
from pipelines.load.offer_rows import (
    IN_CHUNK,
    Merge,
    MergeResult,
    history,
    ids_of,
    records,
    upsert,
    write_history,
)
from pipelines.load.offer_sessions import merge_sessions
from pipelines.transform.entries import ValidatedEntries
from schemas import store

logger = logging.getLogger(__name__)

Key = tuple[str, str]
T_FORMATIONS: Table = store.Formation.__table__  # type: ignore[assignment]
T_ACTIONS: Table = store.Action.__table__  # type: ignore[assignment]
T_DISPOSITIFS: Table = store.Dispositif.__table__  # type: ignore[assignment]
T_SESSIONS: Table = store.Session.__table__  # type: ignore[assignment]

FORMATION_FIELDS = (
    "intitule_formation", "objectif_formation", "resultats_attendus", "contenu_formation",
    "code_niveau_sortie", "famille_metier", "formacodes", "domaine_principal", "certifiante",
    "code_certifinfo", "type_certification",
)  # fmt: skip
ACTION_FIELDS = (
    "formation_id", "action_region_id", "complement_intitule", "complement_programme",
    "objectifs", "resultats_attendus", "plus_formation", "url_video", "url_pdf", "url_action",
    "type_equipement", "niveau_entree", "prerequis", "commentaires",
)  # fmt: skip
DISPOSITIF_FIELDS = (
    "programme_id", "lot_id", "action_region_id", "public", "nb_places_dispositif",
    "nb_places_restantes", "effectif_minimal", "capacite_simultanee", "frais_ht", "taux_tva",
    "frais_ttc", "frais_additionnels", "frais_certification", "prise_en_charge_frais",
)  # fmt: skip


def merge_entries(
    db: orm.Session,
    entries: ValidatedEntries,
    index: FrameIndex,
    *,
    delivery_id: int,
    now: dt.datetime,
    threshold: float,
    allow_mass_withdrawal: bool,
) -> MergeResult:
    """Merge validated entries into the store (never commits).

    Raises:
        MassWithdrawalError: the file would withdraw more than ``threshold`` of the
            organisation's sessions of its years; nothing was written.
    """
    org_sirets = index.sirets_of_organisation(entries.organisation)
    session_keys = _keys(entries.frames["sessions"], "ref_session")
    keep = session_keys | entries.rejected_keys.get("sessions", set())
    active = _active_sessions(db, org_sirets, entries.years)
    gone = {key: sid for key, sid in active.items() if key not in keep}
    if not allow_mass_withdrawal:
        check_mass_withdrawal(
            entries.info.file_name, min(entries.years, default=0), "sessions", len(gone),
            len(active), threshold,
        )  # fmt: skip
    merge = Merge(db, now, delivery_id, MergeResult())
    formation_ids = _merge_formations(merge, entries.frames["formations"])
    action_ids = _merge_actions(merge, entries, index, formation_ids)
    merge_sessions(merge, entries, index, action_ids)
    _withdraw_sessions(merge, gone)
    write_history(merge)
    logger.info("%s: %s", entries.info.file_name, merge.result.counts)
    return merge.result


def _keys(frame: pd.DataFrame, ref: str) -> set[Key]:
    return set(zip(frame["siret"], frame[ref], strict=True))


def _active_sessions(db: orm.Session, sirets: set[str], years: set[int]) -> dict[Key, int]:
    """The organisation's active sessions of actions of ``years``: key -> id."""
    if not years:
        return {}
    # The year is filtered here, not in SQL: with it in the WHERE clause, SQLite's planner
    # starts from the year's index and walks every action and session of the year for each
    # file (quadratic over a nightly); from the organisation's SIRETs it reads only its own.
    statement = (
        select(T_SESSIONS.c.siret, T_SESSIONS.c.ref_session, T_SESSIONS.c.id,
               store.ActionRegion.annee)
        .join(T_ACTIONS, T_SESSIONS.c.action_id == T_ACTIONS.c.id)
        .join(store.ActionRegion, T_ACTIONS.c.action_region_id == store.ActionRegion.id)
        .where(T_SESSIONS.c.withdrawn_at.is_(None), T_SESSIONS.c.siret.in_(sorted(sirets)))
    )  # fmt: skip
    return {(s, r): i for s, r, i, annee in db.execute(statement) if annee in years}


def _merge_formations(merge: Merge, frame: pd.DataFrame) -> dict[Key, int]:
    rows = []
    for record in records(frame):
        codes = [c for c in (record.get("formacodes") or "").split(";") if c]
        rows.append(
            {
                "siret": record["siret"],
                "ref_formation": record["ref_formation"],
                **{f: record.get(f) for f in FORMATION_FIELDS if f in record},
                "intitule_formation": record.get("intitule_formation") or "",
                "formacodes": codes,
                "domaine_principal": codes[0] if codes else None,
                "certifiante": bool(record.get("certifiante")),
            }
        )
    done = upsert(merge, T_FORMATIONS, "formations", ("siret", "ref_formation"), rows,
                   FORMATION_FIELDS, newest_wins=True)  # fmt: skip
    merge.formation_changes = {v[0]: v[1] for v in done.values() if v[1]}
    return {(k[0], k[1]): v[0] for k, v in done.items()}


def _merge_actions(
    merge: Merge, entries: ValidatedEntries, index: FrameIndex, formation_ids: dict[Key, int]
) -> dict[Key, int]:
    """Actions and their dispositif; the frame gives programme, lot, places and codes."""
    incoming = records(entries.frames["actions"])
    wanted = {(r["formation_siret"], r["ref_formation"]) for r in incoming}
    formations = ids_of(merge.db, T_FORMATIONS, "ref_formation", wanted, formation_ids)
    rows = []
    for r in incoming:
        row = {f: r.get(f) for f in ACTION_FIELDS}
        row.update(
            siret=r["siret"],
            ref_action=r["ref_action"],
            formation_id=formations[(r["formation_siret"], r["ref_formation"])],
            action_region_id=r["action_region_id"],
        )
        rows.append(row)
    done = upsert(merge, T_ACTIONS, "actions", ("siret", "ref_action"), rows, ACTION_FIELDS)
    ids = {(k[0], k[1]): v[0] for k, v in done.items()}
    for action_id, changed in done.values():
        if "*" in changed:
            merge.result.new_actions.add(action_id)
        merge.touch(action_id, "action", changed)
    for row in rows:
        action_id = ids[(row["siret"], row["ref_action"])]
        if row["formation_id"] in merge.formation_changes:
            merge.touch(action_id, "formation", merge.formation_changes[row["formation_id"]])
    dispositifs = []
    for r in incoming:
        fa = index.by_id[r["action_region_id"]]
        row = {f: r.get(f) for f in DISPOSITIF_FIELDS}
        row.update(
            action_id=ids[(r["siret"], r["ref_action"])],
            programme_id=fa.programme_id,
            lot_id=fa.lot_id,
            action_region_id=fa.id,
            nb_places_dispositif=fa.nb_places,  # the frame wins (bon de commande)
        )
        dispositifs.append(row)
    done_d = upsert(merge, T_DISPOSITIFS, "dispositifs", ("action_id",), dispositifs,
                     DISPOSITIF_FIELDS)  # fmt: skip
    for (action_id,), (_, changed) in done_d.items():
        merge.touch(action_id, "dispositif", changed)
    return ids


def _withdraw_sessions(merge: Merge, gone: dict[Key, int]) -> None:
    """Soft-withdraw the organisation's sessions its full file no longer has."""
    if not gone:
        return
    ids = sorted(gone.values())
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        merge.db.execute(
            update(T_SESSIONS)
            .where(T_SESSIONS.c.id.in_(chunk))
            .values(withdrawn_at=merge.now, updated_at=merge.now, delivery_id=merge.delivery_id)
        )
        rows = merge.db.execute(select(T_SESSIONS.c.action_id).where(T_SESSIONS.c.id.in_(chunk)))
        for (action_id,) in rows:
            merge.touch(action_id, "session", {"withdrawn_at"})
    for session_id in ids:
        history(merge, "sessions", session_id, [("withdrawn_at", None, merge.now)])
    merge.count("sessions", "withdrawn", len(ids))
