"""What a mandataire enters for an action of the Région: formation, action, sessions and
informations collectives.

``describe_action`` gives the rows of one action, complete under the publication rules
(``schemas/rules``: mandatory fields, an information collective per session, référents, public
« demandeur d'emploi », the PSS and PE 2025 values) unless the action is drawn to stay
incomplete. Rows depend on the plan, the seed and the action only.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from benchmarks.lots import ActionRow, LotRows
from benchmarks.organisations import Organisation, rng_for
from benchmarks.plan import YearPlan
from benchmarks.reference import secteurs
from benchmarks.texts import banks, entry_constants, paragraph, people, slug

#: What an incomplete action lacks (one each): an information collective for its first session
#: (rule information-collective-obligatoire), its modalités pédagogiques or its référent
#: mobilité (rule champ-obligatoire).
INCOMPLETE_KINDS = (
    "sans-information-collective",
    "sans-modalites-pedagogiques",
    "sans-referent-mobilite",
)


@dataclass
class Described:
    """What the mandataire enters for one action of the Région.

    Attributes:
        formation_key: ``(siret, ref_formation)``: the actions of a lot with one intitulé at
            one site share their formation.
        formation: the formation's row (written once per key).
        action, sessions, informations_collectives: the rows.
        incomplete: what the action lacks on purpose (:data:`INCOMPLETE_KINDS`), None when
            complete.
    """

    formation_key: tuple[str, str]
    formation: dict[str, Any]
    action: dict[str, Any]
    sessions: list[dict[str, Any]]
    informations_collectives: list[dict[str, Any]]
    incomplete: str | None = None


def formation_intitule(lot: LotRows, action: ActionRow) -> str:
    """The formation's intitulé: the PSS and PE ones the rules expect, else the action's."""
    constants = entry_constants()
    if lot.code_programme == "PSS":
        return constants["pss_intitule"]
    if lot.code_programme == "PE":
        return constants["pe_intitule"]
    return action.intitule


def formation_ref(lot: LotRows, action: ActionRow) -> str:
    """The formation's reference: one per lot (so per year and mandataire) and intitulé."""
    return f"F-{lot.numero_lot}-{slug(formation_intitule(lot, action))[:60]}"


def describe_action(
    plan: YearPlan, lot: LotRows, action: ActionRow, incomplete_share: float
) -> Described:
    """The entries of one action, complete unless drawn (``incomplete_share``) to break a rule.

    Rows are written under the SIRET of the action's site, as the template suggests; the
    organisme responsable is the mandataire's head office.
    """
    rng = rng_for(plan.pool.seed, plan.year, "entries", action.id_action_cr)
    programme = lot.code_programme
    bank = banks()[programme]
    constants = entry_constants()
    siret = action.site.siret
    intitule = formation_intitule(lot, action)
    ref_formation = formation_ref(lot, action)
    formation = dict(_formation(plan, lot, intitule, ref_formation), siret=siret)
    places = action.nb_places
    per_head = round(action.montant_ht / places, 2)
    ref_action = f"A-{action.id_action_cr}"
    site_org = action.owner
    row = {
        "siret": siret,
        "ref_action": ref_action,
        "ref_formation": ref_formation,
        "id_action_cr": action.id_action_cr,
        "numero_lot": lot.numero_lot,
        "of_mandataire_cr": lot.mandataire.of_cr,
        "complement_intitule": action.site.commune.name if rng.random() < 0.15 else None,
        "complement_programme": paragraph(rng, bank.complement, 120, 450),
        "objectifs": paragraph(rng, bank.objectifs, 250, 800),
        "resultats_attendus": paragraph(rng, bank.resultats_action, 60, 250),
        "plus_formation": rng.choice(bank.plus),
        "url_video": None,
        "url_pdf": f"https://www.{site_org.domain}/plaquettes/{action.id_action_cr}.pdf"
        if rng.random() < 0.3
        else None,
        "url_action": f"https://www.{site_org.domain}/formations/{action.id_action_cr}",
        "type_equipement": bank.action["type_equipement"],
        "niveau_entree": "niveau 4 (bac)" if programme == "PAS" else "sans niveau spécifique",
        "prerequis": paragraph(rng, bank.prerequis, 60, 300),
        "commentaires": paragraph(rng, bank.commentaires, 40, 300),
        "public": "demandeur d'emploi",
        "nb_places_dispositif": places,
        "nb_places_restantes": rng.randint(0, places),
        "effectif_minimal": min(6, places),
        "capacite_simultanee": places,
        "frais_ht": per_head,
        "taux_tva": action.taux_tva,
        "frais_ttc": round(per_head * (1 + action.taux_tva / 100), 2),
        "frais_additionnels": "Aucun",
        "frais_certification": 0.0,
        "prise_en_charge_frais": True,
    }
    responsable = lot.mandataire.siret
    entreprise = action.duree_entreprise_h or 0.0
    pattern = rng.randrange(6)
    rythme = "temps partiel" if programme == "PCA" and pattern % 2 else "temps plein"
    if programme == "PE":
        esp = constants["cadencees"] if pattern % 2 else constants["dates_fixes"]
    elif programme == "PCA" and pattern % 3 == 0:
        esp = "entrée/sortie permanente"
    else:
        esp = constants["dates_fixes"]
    referents = _referents(site_org, action.id_action_cr)
    sessions = []
    for number, (start, end) in enumerate(action.sessions, start=1):
        session = {
            "siret": siret,
            "ref_session": f"S-{action.id_action_cr}-{number}",
            "ref_action": ref_action,
            "lieu_adresse": action.site.adresse,
            "lieu_code_postal": action.site.commune.code_postal,
            "lieu_commune": action.site.commune.name,
            "date_debut": start,
            "date_fin": end,
            "esp": esp,
            "rythme": rythme,
            "periodes": "cours de jour",
            "type_parcours": {"PE": "mixte - modulaire", "PCA": "individualisé"}.get(
                programme, "collectif"
            ),
            "modalites_pedagogiques": "en établissement de formation;en entreprise"
            if entreprise
            else "en établissement de formation",
            "modalite_enseignement": "formation mixte"
            if programme == "PE" and pattern == 2
            else "formation en présentiel",
            "duree_centre_h": action.duree_centre_h,
            "duree_entreprise_h": entreprise,
            "duree_hebdo_h": 35.0 if rythme == "temps plein" else 24.0,
            "commentaire_duree": f"Dont {entreprise:g} heures de stage en entreprise."
            if entreprise
            else None,
            "organisme_responsable": responsable,
            "etat_recrutement": "ouvert" if rng.random() < 0.9 else "suspendu",
            "modalites_recrutement": "information collective;entretien ou RDV individuel",
            "periode_inscription_type": "candidature individuelle",
            "periode_inscription_debut": start - dt.timedelta(days=56),
            "periode_inscription_fin": start - dt.timedelta(days=5),
            **referents,
        }
        sessions.append(session)
    ics = _informations_collectives(action, sessions, rng)
    described = Described((siret, ref_formation), formation, row, sessions, ics)
    if incomplete_share and rng.random() < incomplete_share:
        _make_incomplete(described, rng)
    return described


def _formation(plan: YearPlan, lot: LotRows, intitule: str, ref_formation: str) -> dict[str, Any]:
    """The formation's row but its SIRET: it depends on its reference only (whichever action
    comes first, at whichever site), as one LHEO ``<formation>`` gives it to every site."""
    rng = rng_for(plan.pool.seed, plan.year, "formation", ref_formation)
    bank = banks()[lot.code_programme]
    formation = {
        "ref_formation": ref_formation,
        "intitule_formation": intitule,
        "objectif_formation": bank.formation["objectif_formation"],
        "resultats_attendus": paragraph(rng, bank.resultats_formation, 80, 300),
        "contenu_formation": paragraph(rng, bank.contenu, 300, 900),
        "code_niveau_sortie": bank.formation["code_niveau_sortie"],
        "famille_metier": bank.formation.get("famille_metier"),
        "formacodes": ";".join(lot.formacodes) or None,
        "certifiante": bank.formation["certifiante"],
        "code_certifinfo": bank.formation.get("code_certifinfo"),
        "type_certification": bank.formation.get("type_certification"),
    }
    if lot.code_programme == "1E1F":
        formation["famille_metier"] = secteurs()[lot.plan.secteur].famille_metier
    return formation


def _referents(owner: Organisation, id_action_cr: int) -> dict[str, str]:
    found = {}
    names = people()
    for offset, kind in enumerate(("pmr", "mobilite", "prf")):
        first, last = names[(owner.index * 3 + offset + id_action_cr % 2) % len(names)]
        found[f"referent_{kind}_nom"] = f"{first} {last}"
        found[f"referent_{kind}_email"] = f"{slug(first, '')}.{slug(last, '')}@{owner.domain}"
        found[f"referent_{kind}_telephone"] = (
            f"{owner.etablissements[0].telephone[:5]} 00 {10 + offset:02d} "
            f"{owner.index % 90 + 10:02d}"
        )
    return found


def _informations_collectives(
    action: ActionRow, sessions: list[dict[str, Any]], rng: random.Random
) -> list[dict[str, Any]]:
    """One information collective three weeks before each session (two for one in three)."""
    found = []
    morning = rng.random() < 0.5
    for number, session in enumerate(sessions):
        day = session["date_debut"] - dt.timedelta(days=21)
        while day.weekday() not in (1, 3):  # Tuesdays and Thursdays
            day -= dt.timedelta(days=1)
        days = [day - dt.timedelta(days=14), day] if number == 0 and rng.random() < 1 / 3 else [day]
        for when in days:
            found.append(
                {
                    "siret": session["siret"],
                    "ref_session": session["ref_session"],
                    "date": when,
                    "heure_debut": dt.time(9, 30) if morning else dt.time(14, 0),
                    "heure_fin": dt.time(11, 30) if morning else dt.time(16, 0),
                    "lieu": f"{action.site.adresse}, {action.site.commune.code_postal} "
                    f"{action.site.commune.name}",
                    "commentaire": "Inscription auprès de France Travail ou de la Mission locale.",
                }
            )
    return found


def _make_incomplete(described: Described, rng: random.Random) -> None:
    """Leave out what an organisation often forgets: a rule keeps the action in entry."""
    kind = rng.choice(INCOMPLETE_KINDS)
    first = described.sessions[0]
    if kind == "sans-information-collective":
        described.informations_collectives = [
            ic
            for ic in described.informations_collectives
            if ic["ref_session"] != first["ref_session"]
        ]
    elif kind == "sans-modalites-pedagogiques":
        first["modalites_pedagogiques"] = None
    else:
        for key in ("nom", "email", "telephone"):
            first[f"referent_mobilite_{key}"] = None
    described.incomplete = kind
