"""LHEO ``<session>`` -> rows of the entry tables ``sessions`` and ``informations_collectives``.

LHEO keeps at action level what SOFI keeps on the session (lieu, ESP, rythme, durées...): each
session row repeats them. The mapping is the table of ``pipelines/extract/lheo.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.extract.lheo_nodes import (
    Element,
    Lheo,
    digest,
    extra_name,
    lheo_date,
    numero,
    pick,
    text_of,
)
from pipelines.extract.lheo_tables import DICT_MODALITES_PEDAGOGIQUES, label, labels

Row = dict[str, str | None]
Rows = dict[str, list[tuple[int, Row]]]

#: ``extra/@info`` names read for session columns, on the session then on its action.
SESSION_EXTRAS: dict[str, tuple[str, ...]] = {
    "esp": ("esp", "entrees-sorties"),
    "type_parcours": ("type-parcours",),
    "periodes": ("periodes-formation", "periodes"),
    "duree_hebdo_h": ("duree-hebdo",),
    "periode_inscription_type": ("type-periode-inscription", "periode-inscription-type"),
}
#: ``contact-session/type-contact`` -> référent (dict-type-contact: 1 handicap, 2 mobilité
#: internationale); a SOFI type in an extra (``type-contact-sofi``) wins over the code.
REFERENT_CODES = {"1": "pmr", "2": "mobilite"}
REFERENT_NAMES = {
    "referent-pmr": "pmr",
    "referent-handicap": "pmr",
    "pmr": "pmr",
    "referent-mobilite": "mobilite",
    "mobilite": "mobilite",
    "referent-prf": "prf",
    "prf": "prf",
}
#: ``modalite-recrutement`` of an information collective (dict-modalite-recrutement).
INFORMATION_COLLECTIVE = "9"
#: Formacodes of ``code-modalite-pedagogique`` that are périodes de formation (9641x).
PERIODES_PREFIX = "9641"


@dataclass(frozen=True)
class ActionContext:
    """What the rows of an action's sessions take from the action and its formation."""

    siret: str | None
    ref_action: str
    siret_responsable: str | None
    parcours: str | None
    extras: dict[str, str]


def map_sessions(
    action: Element,
    sessions: list[Element],
    context: ActionContext,
    lh: Lheo,
    rows: Rows,
    unknown_dates: list[int],
) -> int:
    """Add the rows of ``action``'s sessions and informations collectives.

    Returns:
        How many session references were computed (no ``@numero``).
    """
    shared = _action_columns(action, context, lh)
    lieu = lh.find(action, "lieu-de-formation/coordonnees/adresse")
    computed, informations = 0, 0
    refs: list[str] = []
    for session in sessions:
        extras = [lh.extras([session]), context.extras]
        debut = lheo_date(lh.text(session, "periode/debut"))
        fin = lheo_date(lh.text(session, "periode/fin"), end=True)
        adresse = lieu if lieu is not None else lh.find(session, "adresse-inscription/adresse")
        lines, postal, town = lh.address(adresse)
        ref = numero(session)
        if ref is None:
            ref = digest("session", context.ref_action, debut, fin, postal)
            computed += 1
        refs.append(ref)
        row: Row = {
            "siret": context.siret,
            "ref_session": ref,
            "ref_action": context.ref_action,
            "lieu_adresse": lines,
            "lieu_code_postal": postal,
            "lieu_commune": town,
            "date_debut": debut,
            "date_fin": fin,
            **shared,
            **{c: pick(extras, names) or shared.get(c) for c, names in SESSION_EXTRAS.items()},
            "commentaire_duree": " ; ".join(
                t for t in (shared["commentaire_duree"], pick(extras, ("commentaire-duree",))) if t
            )
            or None,
            "etat_recrutement": label(
                "dict-etat-recrutement", lh.text(session, "etat-recrutement")
            ),
            "modalites_recrutement": _recrutement(session, lh) or shared["modalites_recrutement"],
            "periode_inscription_debut": lheo_date(
                lh.text(session, "periode-inscription/periode/debut")
            ),
            "periode_inscription_fin": lheo_date(
                lh.text(session, "periode-inscription/periode/fin"), end=True
            ),
            **_referents(session, lh),
        }
        rows["sessions"].append((int(session.sourceline or 0), row))
        informations += _informations(session, context.siret, ref, lh, rows)
    if not informations and refs:
        _dates_information(action, context.siret, refs[0], lh, rows, unknown_dates)
    return computed


def _action_columns(action: Element, context: ActionContext, lh: Lheo) -> Row:
    """The session columns LHEO holds at action (or formation) level."""
    codes = lh.texts(action, "code-modalite-pedagogique")
    periodes = [c for c in codes if c.startswith(PERIODES_PREFIX)]
    others = [c for c in codes if not c.startswith(PERIODES_PREFIX)]
    return {
        "esp": label("dict-modalites-es", lh.text(action, "modalites-entrees-sorties")),
        "rythme": lh.text(action, "rythme-formation"),
        "periodes": labels(DICT_MODALITES_PEDAGOGIQUES, periodes),
        "type_parcours": label("dict-type-parcours", context.parcours),
        "modalites_pedagogiques": lh.text(action, "modalites-pedagogiques")
        or labels(DICT_MODALITES_PEDAGOGIQUES, others),
        "modalite_enseignement": label(
            "dict-modalites-enseignement", lh.text(action, "modalites-enseignement")
        ),
        "duree_centre_h": lh.text(action, "nombre-heures-centre"),
        "duree_entreprise_h": lh.text(action, "nombre-heures-entreprise"),
        "commentaire_duree": lh.text(action, "duree-indicative"),
        "organisme_responsable": context.siret_responsable,
        "modalites_recrutement": lh.text(action, "modalites-recrutement"),
    }


def _recrutement(session: Element, lh: Lheo) -> str | None:
    """The labels of the session's ``recrutement/modalite-recrutement`` (2.3), joined by ``;``."""
    codes = lh.texts(session, "recrutement/modalite-recrutement")
    return labels("dict-modalite-recrutement", codes, separator=";")


def _referents(session: Element, lh: Lheo) -> Row:
    """Référents PMR, mobilité and PRF from ``contact-session`` (the first of each type)."""
    found: Row = {}
    for contact in lh.findall(session, "contact-session"):
        sofi = pick([lh.extras([contact])], ("type-contact-sofi", "type-referent"))
        kind = (
            REFERENT_NAMES.get(extra_name(sofi))
            if sofi
            else REFERENT_CODES.get(lh.text(contact, "type-contact") or "")
        )
        if kind is None or f"referent_{kind}_nom" in found:
            continue
        coordonnees = lh.find(contact, "coordonnees")
        names = (lh.text(coordonnees, "prenom"), lh.text(coordonnees, "nom"))
        found[f"referent_{kind}_nom"] = " ".join(n for n in names if n) or None
        found[f"referent_{kind}_email"] = lh.text(coordonnees, "courriel")
        found[f"referent_{kind}_telephone"] = lh.text(coordonnees, "telfixe/numtel") or lh.text(
            coordonnees, "portable/numtel"
        )
    return found


def _informations(session: Element, siret: str | None, ref: str, lh: Lheo, rows: Rows) -> int:
    """Add the session's informations collectives: 2.3 ``recrutement`` with modalité 9, and the
    pre-2.3 Offre Info ``extras info="info-collective"``. Returns how many."""
    added = 0
    for recrutement in lh.findall(session, "recrutement"):
        if lh.text(recrutement, "modalite-recrutement") != INFORMATION_COLLECTIVE:
            continue
        remote = lh.text(recrutement, "a-distance") == "1"
        row: Row = {
            "siret": siret,
            "ref_session": ref,
            "date": lheo_date(lh.text(recrutement, "periode/debut"))
            or lheo_date(lh.text(recrutement, "periode/fin")),
            "heure_debut": lh.text(recrutement, "heure-debut"),
            "heure_fin": lh.text(recrutement, "heure-fin"),
            "lieu": lh.address_text(lh.find(recrutement, "adresse"))
            or ("à distance" if remote else None),
            "commentaire": lh.text(recrutement, "commentaire"),
        }
        rows["informations_collectives"].append((int(recrutement.sourceline or 0), row))
        added += 1
    for extras in lh.findall(session, "extras"):
        if extra_name(extras.get("info")) != "info-collective":
            continue
        values = lh.extras([extras])
        row = {
            "siret": siret,
            "ref_session": ref,
            "date": lheo_date(values.get("date")),
            "heure_debut": values.get("heure-debut"),
            "heure_fin": values.get("heure-fin"),
            "lieu": values.get("lieu"),
            "commentaire": values.get("commentaire"),
        }
        rows["informations_collectives"].append((int(extras.sourceline or 0), row))
        added += 1
    return added


def _dates_information(
    action: Element, siret: str | None, ref: str, lh: Lheo, rows: Rows, unknown: list[int]
) -> None:
    """2.2 (and 2.3 without ``recrutement``): ``date-information`` [0,3] of the action, with
    ``adresse-information``, become informations collectives of its first session (LHEO ties
    them to no session). An unknown date (``00000000``) is no information collective."""
    lieu = lh.address_text(lh.find(action, "adresse-information/adresse"))
    for information in lh.findall(action, "date-information"):
        line = int(information.sourceline or 0)
        date = lheo_date(text_of(lh.find(information, "date")))
        if date is None:
            unknown.append(line)
            continue
        row: Row = {
            "siret": siret,
            "ref_session": ref,
            "date": date,
            "heure_debut": None,
            "heure_fin": None,
            "lieu": lieu,
            "commentaire": None,
        }
        rows["informations_collectives"].append((line, row))
