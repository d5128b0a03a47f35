"""What an organisation has to describe, read from the Région's frame in the store, and the
rows that pre-fill its entry template.

``frame_actions_for`` lists the active actions of the Région an establishment (SIRET) must
describe: those it delivers (``siret_formateur``) and every action of the lots its organisation
holds as mandataire. ``template_rows`` turns them into one Formations, Actions and Sessions row
each, with suggested references (``F-``, ``A-``, ``S-<id_action_cr>-1``) and what the frame
already knows (codes externes, places, planned dates, place, durations, mandataire).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import or_, orm, select

from schemas.store import ActionRegion, Lot, Organisme, Programme

Rows = dict[str, list[dict[str, Any]]]

_LOT_NUMBER = re.compile(r"^(.*?)(\d+)$")


def _lot_order(numero_lot: str) -> tuple[str, int]:
    """Sort lots naturally: PSS2025_2 before PSS2025_10."""
    match = _LOT_NUMBER.match(numero_lot)
    return (match[1], int(match[2])) if match else (numero_lot, 0)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def organisme_for(db: orm.Session, siret: str) -> dict[str, Any] | None:
    """Return the active establishment with this SIRET (its first N° OF), or None.

    Args:
        db: a session on the store.
        siret: 14 digits.

    Returns:
        ``of_cr``, ``siret``, ``raison_sociale``, ``role``, ``code_postal``, ``commune``.
    """
    row = db.execute(
        select(
            Organisme.of_cr,
            Organisme.siret,
            Organisme.raison_sociale,
            Organisme.role,
            Organisme.code_postal,
            Organisme.commune,
        )
        .where(Organisme.siret == siret, Organisme.withdrawn_at.is_(None))
        .order_by(Organisme.of_cr)
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def _mandataire_sirets(db: orm.Session, of_crs: Iterable[int]) -> dict[int, list[str]]:
    """Map each N° OF to the SIRETs of its active establishments (sorted)."""
    found: dict[int, list[str]] = {}
    statement = (
        select(Organisme.of_cr, Organisme.siret)
        .where(Organisme.of_cr.in_(set(of_crs)), Organisme.withdrawn_at.is_(None))
        .order_by(Organisme.of_cr, Organisme.siret)
    )
    for of_cr, siret in db.execute(statement):
        found.setdefault(of_cr, []).append(siret)
    return found


def frame_actions_for(
    db: orm.Session, siret: str, annee: int | None = None
) -> list[dict[str, Any]]:
    """List the active actions of the Région's frame an establishment has to describe.

    An action is listed when ``siret`` is its formateur (``siret_formateur``), or when ``siret``
    is an establishment of the lot's mandataire (``organismes.of_cr`` = the lot's
    ``of_mandataire_cr``): a mandataire describes every action of its lots.

    Args:
        db: a session on the store.
        siret: the establishment's SIRET (14 digits).
        annee: only the frame of that year (every year when None).

    Returns:
        One dict per action, sorted by year, lot (natural order) and ``id_action_cr``:
        ``id_action_cr``, ``annee``, ``numero_lot``, ``intitule_lot``, ``code_programme``,
        ``libelle_programme``, ``forfait_recrutement``, ``formacodes`` (the lot's), the
        action's ``of_mandataire_cr``, ``siret_mandataire`` (the mandataire's establishment
        proposed as organisme responsable), ``siret_formateur``, ``intitule``, ``code_postal``,
        ``commune``, ``nb_places``, ``duree_centre_h``, ``duree_entreprise_h``,
        ``date_debut_prevue``, ``date_fin_prevue`` (dates), ``montant_ht``, ``taux_tva``.
    """
    own_of_crs = select(Organisme.of_cr).where(
        Organisme.siret == siret, Organisme.withdrawn_at.is_(None)
    )
    statement = (
        select(ActionRegion, Lot, Programme)
        .join(Lot, ActionRegion.lot_id == Lot.id)
        .join(Programme, Lot.programme_id == Programme.id)
        .where(
            ActionRegion.withdrawn_at.is_(None),
            Lot.withdrawn_at.is_(None),
            or_(ActionRegion.siret_formateur == siret, Lot.of_mandataire_cr.in_(own_of_crs)),
        )
    )
    if annee is not None:
        statement = statement.where(ActionRegion.annee == annee)
    found = db.execute(statement).all()
    mandataires = _mandataire_sirets(db, (lot.of_mandataire_cr for _, lot, _ in found))
    actions = []
    for action, lot, programme in found:
        sirets = mandataires.get(lot.of_mandataire_cr, [])
        preferred = [s for s in (action.siret_formateur, siret) if s in sirets]
        actions.append(
            {
                "id_action_cr": action.id_action_cr,
                "annee": action.annee,
                "numero_lot": lot.numero_lot,
                "intitule_lot": lot.intitule_lot,
                "code_programme": programme.code_programme,
                "libelle_programme": programme.libelle_programme,
                "forfait_recrutement": lot.forfait_recrutement,
                "formacodes": lot.formacodes,
                "of_mandataire_cr": action.of_mandataire_cr,
                "siret_mandataire": (preferred or sirets or [None])[0],
                "siret_formateur": action.siret_formateur,
                "intitule": action.intitule,
                "code_postal": action.code_postal,
                "commune": action.commune,
                "nb_places": action.nb_places,
                "duree_centre_h": action.duree_centre_h,
                "duree_entreprise_h": action.duree_entreprise_h,
                "date_debut_prevue": _as_date(action.date_debut_prevue),
                "date_fin_prevue": _as_date(action.date_fin_prevue),
                "montant_ht": action.montant_ht,
                "taux_tva": action.taux_tva,
            }
        )
    actions.sort(key=lambda a: (a["annee"], _lot_order(a["numero_lot"]), a["id_action_cr"]))
    return actions


def suggested_refs(id_action_cr: int) -> tuple[str, str, str]:
    """The references the template suggests for an action of the Région: F-, A-, S-...-1."""
    return f"F-{id_action_cr}", f"A-{id_action_cr}", f"S-{id_action_cr}-1"


def template_rows(actions: Sequence[Mapping[str, Any]]) -> Rows:
    """Pre-fill rows for the actions an organisation has to describe.

    Args:
        actions: as :func:`frame_actions_for` returns them (``id_action_cr`` and
            ``siret_formateur`` at least).

    Returns:
        Entry table name -> rows (canonical column -> value): one formation, one action and
        one session skeleton per action, no information collective.
    """
    rows: Rows = {"formations": [], "actions": [], "sessions": [], "informations_collectives": []}
    for frame in actions:
        id_action_cr = int(frame["id_action_cr"])
        siret = frame["siret_formateur"]
        ref_formation, ref_action, ref_session = suggested_refs(id_action_cr)
        rows["formations"].append(
            {
                "siret": siret,
                "ref_formation": ref_formation,
                "intitule_formation": frame.get("intitule"),
                "formacodes": frame.get("formacodes"),
            }
        )
        rows["actions"].append(
            {
                "siret": siret,
                "ref_action": ref_action,
                "ref_formation": ref_formation,
                "id_action_cr": id_action_cr,
                "numero_lot": frame.get("numero_lot"),
                "of_mandataire_cr": frame.get("of_mandataire_cr"),
                "nb_places_dispositif": frame.get("nb_places"),
            }
        )
        rows["sessions"].append(
            {
                "siret": siret,
                "ref_session": ref_session,
                "ref_action": ref_action,
                "lieu_code_postal": frame.get("code_postal"),
                "lieu_commune": frame.get("commune"),
                "date_debut": frame.get("date_debut_prevue"),
                "date_fin": frame.get("date_fin_prevue"),
                "duree_centre_h": frame.get("duree_centre_h"),
                "duree_entreprise_h": frame.get("duree_entreprise_h"),
                "organisme_responsable": frame.get("siret_mandataire"),
            }
        )
    return rows
