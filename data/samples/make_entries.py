"""Generate the sample entry workbooks of training organisations (``data/samples/saisies``).

Run from the project root::

    .venv/bin/python data/samples/make_entries.py

It ingests the sample extraction ``prf_2025_20250115.xlsx`` (read with python-calamine by the
pipeline's reader) into a throw-away SQLite store, asks the store which actions of the Région
each organisation has to describe (``frame_actions_for``), pre-fills the entry template with
them (``template_rows``), fills the blanks with realistic French content, applies the
documented defects, and writes with the template code (``write_entries``). Deterministic: fixed
dates, no randomness, fixed workbook metadata. It writes:

* ``saisie_<siret>_20250301.xlsx``: one workbook per organisation (4 organisations);
* ``expected.csv``: each defective record, with the rule or reason code expected;
* ``README.md``: what each file holds and the table of defects.

Each action is checked here against the rules as ``shared/spec/regles-programmes.md`` states
them (:func:`broken_rules`): a complete action breaks none, a defective one exactly its own.
The ``lheo/`` subfolder is not written here. Invented data only: people, e-mails
(``example.org``) and phone numbers (``02 40 00 00 xx``) are fake but well-formed.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sample_frame import sample_frame_session
from sqlalchemy import select
from stdnum.fr import siret as stdnum_siret

from pipelines.load.template import frame_actions_for, organisme_for, template_rows, write_entries
from pipelines.load.template_fields import MANDATORY
from schemas.lists import fold_label
from schemas.store import ActionRegion, Lot, Organisme

HERE = Path(__file__).resolve().parent
OUT = HERE / "saisies"
DATE = "20250301"
CREATED = dt.datetime(2025, 3, 1, 8, 0)
YEAR = 2025
YEAR_END = dt.date(YEAR, 12, 19)
#: The sending organisations: one establishment (SIRET) of each (all mandataires).
ORGANISATIONS = ("65494103800048", "65375688200037", "96274521200010", "55477415800014")
SHEETS = ("formations", "actions", "sessions", "informations_collectives")
REF_OF = {
    "formations": "ref_formation",
    "actions": "ref_action",
    "sessions": "ref_session",
    "informations_collectives": "ref_session",
}
#: Actions given a second session (lots without forfait recrutement, room left in the year).
SECOND_SESSION = frozenset({143899, 143970, 144158, 144040})

# ============================================================================ the frame


@dataclass
class Frame:
    """What the generator reads from the store."""

    organismes: dict[str, dict[str, Any]]
    files: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]
    region: dict[int, dict[str, Any]]


def load_frame() -> Frame:
    """Ingest the sample extraction into a temporary store and read the frame back."""
    with sample_frame_session() as db:
        organismes = {
            o.siret: {
                "of_cr": o.of_cr,
                "raison_sociale": " ".join(o.raison_sociale.split()),
                "adresse": o.adresse,
                "commune": o.commune,
            }
            for o in db.scalars(select(Organisme).order_by(Organisme.of_cr))
        }
        files = {}
        for siret in ORGANISATIONS:
            organisme = organisme_for(db, siret)
            assert organisme is not None, siret
            files[siret] = (organisme, frame_actions_for(db, siret))
        rows = db.execute(select(ActionRegion, Lot).join(Lot)).all()
        region = {
            a.id_action_cr: {
                "numero_lot": lot.numero_lot,
                "siret_formateur": a.siret_formateur,
                "of_mandataire_cr": a.of_mandataire_cr,
            }
            for a, lot in rows
        }
    return Frame(organismes, files, region)


# ============================================================================ content

PSS_INTITULE = "Formation aide-soignant – Module préparatoire"
PSS_FORMACODES = "44022;44004;15084"
PE_INTITULE = "Actions de formation dispensées aux créateurs et repreneurs d'entreprise"
PE_TYPE = "Autre certification sans niveau spécifique"
DATES_FIXES, CADENCEES = "entrée/sortie à dates fixes", "entrées/sorties cadencées ou séquencées"

#: Per programme: formation fields, then action texts.
FORMATION: dict[str, dict[str, Any]] = {
    "PSS": {
        "objectif_formation": "Préparation à la qualification",
        "resultats_attendus": "Entrée en institut de formation d'aides-soignants (IFAS).",
        "contenu_formation": (
            "Remise à niveau contextualisée (français, calcul professionnel, biologie), "
            "découverte du métier d'aide-soignant, stage d'observation en structure sanitaire "
            "ou médico-sociale, préparation du dossier de sélection et de l'entretien IFAS."
        ),
        "code_niveau_sortie": "sans niveau spécifique",
        "famille_metier": "Santé – soins et aide à la personne",
        "certifiante": False,
    },
    "PE": {
        "objectif_formation": "Création d'entreprise",
        "resultats_attendus": "Projet de création ou de reprise d'entreprise chiffré et validé.",
        "contenu_formation": (
            "Étude de marché, stratégie commerciale, choix du statut juridique, fiscal et "
            "social, prévisionnel financier, recherche de financements et démarches de création."
        ),
        "code_niveau_sortie": "sans niveau spécifique",
        "famille_metier": "Création et reprise d'entreprise",
        "certifiante": True,
        "code_certifinfo": "93561",
        "type_certification": PE_TYPE,
    },
    "PAS": {
        "objectif_formation": "Préparation à la qualification",
        "resultats_attendus": "Admission dans une formation de l'enseignement supérieur.",
        "contenu_formation": (
            "Méthodologie du travail universitaire, remise à niveau disciplinaire, "
            "connaissance des filières, préparation des candidatures et des entretiens."
        ),
        "code_niveau_sortie": "niveau 4 (bac)",
        "famille_metier": "Orientation et accès aux études supérieures",
        "certifiante": False,
    },
    "PCA": {
        "objectif_formation": "Remise à niveau, maîtrise des savoirs de base, initiation",
        "resultats_attendus": "Savoirs de base consolidés et projet professionnel défini.",
        "contenu_formation": (
            "Français écrit et oral, mathématiques du quotidien, usages numériques, "
            "découverte des métiers et immersion en entreprise."
        ),
        "code_niveau_sortie": "sans niveau spécifique",
        "famille_metier": "Savoirs de base et insertion professionnelle",
        "certifiante": False,
    },
    "1E1F": {
        "objectif_formation": "Professionnalisation",
        "resultats_attendus": "Embauche sur le poste visé à l'issue de la formation.",
        "contenu_formation": (
            "Gestes professionnels du métier, sécurité et prévention des risques, qualité, "
            "période en entreprise chez l'employeur qui recrute."
        ),
        "code_niveau_sortie": "niveau 3 (CAP, BEP)",
        "certifiante": False,
    },
}

ACTION: dict[str, dict[str, str]] = {
    "PSS": {
        "complement_programme": (
            "Le module de remise à niveau contextualisé (35 heures) ouvre la session ; le stage "
            "se déroule en EHPAD ou en service hospitalier."
        ),
        "objectifs": (
            "Consolider les savoirs de base utiles au métier, confirmer le projet professionnel "
            "par un stage et se préparer à la sélection en institut de formation d'aides-soignants."
        ),
        "resultats_attendus": "Dossier de candidature IFAS complet et projet professionnel validé.",
        "plus_formation": "Stage en EHPAD et à l'hôpital, suivi individuel jusqu'à l'entrée en IFAS.",
        "type_equipement": "Tenue professionnelle",
        "prerequis": "Projet professionnel dans le soin ; aptitude médicale aux métiers du soin.",
        "commentaires": (
            "Demandeurs d'emploi principalement de niveau 4 non validé et infra 4 (CAP validé "
            "ou non, sans diplôme)."
        ),
    },
    "PE": {
        "complement_programme": "Ateliers collectifs et rendez-vous individuels avec un conseiller.",
        "objectifs": (
            "Acquérir les compétences pour créer ou reprendre une entreprise : étudier son "
            "marché, bâtir son offre, choisir son statut et construire son plan de financement."
        ),
        "resultats_attendus": "Plan d'affaires présenté devant un jury de professionnels.",
        "plus_formation": "Un conseiller dédié et l'accès au réseau des créateurs du territoire.",
        "type_equipement": "Équipement numérique",
        "prerequis": (
            "Maîtriser les compétences générales et professionnelles, posséder la "
            "qualification professionnelle nécessaire à la future activité."
        ),
        "commentaires": (
            "Public visé : demandeurs d'emploi ayant un projet de création ou de reprise "
            "d'entreprise."
        ),
    },
    "PAS": {
        "complement_programme": "Tutorat hebdomadaire et visites d'établissements d'enseignement.",
        "objectifs": (
            "Renforcer les acquis disciplinaires et la méthodologie, construire un projet "
            "d'études réaliste et réussir son entrée dans l'enseignement supérieur."
        ),
        "resultats_attendus": "Candidatures déposées et projet d'études validé.",
        "plus_formation": "Des étudiants tuteurs et des immersions dans les formations visées.",
        "type_equipement": "Équipement numérique",
        "prerequis": "Être titulaire du baccalauréat ou d'un diplôme de niveau 4.",
        "commentaires": "Jeunes demandeurs d'emploi bacheliers sans solution de poursuite d'études.",
    },
    "PCA": {
        "complement_programme": "Parcours individualisé après un positionnement d'entrée.",
        "objectifs": (
            "Consolider les compétences clés (lire, écrire, compter, utiliser le numérique) "
            "et construire un projet professionnel validé par une immersion en entreprise."
        ),
        "resultats_attendus": "Compétences clés attestées et projet professionnel validé.",
        "plus_formation": "Des petits groupes et une immersion en entreprise dès le premier mois.",
        "type_equipement": "Équipement numérique",
        "prerequis": "Aucun pré-requis ; entretien préalable avec le conseiller.",
        "commentaires": "Demandeurs d'emploi ayant besoin de consolider les savoirs de base.",
    },
    "1E1F": {
        "complement_programme": "Formation construite avec l'entreprise qui recrute.",
        "objectifs": (
            "Acquérir les gestes et les savoirs du métier visé pour occuper le poste proposé "
            "par l'entreprise partenaire à l'issue de la formation."
        ),
        "resultats_attendus": "Contrat de travail signé avec l'entreprise partenaire.",
        "plus_formation": "Un emploi à la clé : l'entreprise partenaire recrute à l'issue.",
        "type_equipement": "Tenue professionnelle;Protection des pieds",
        "prerequis": "Aptitude physique au poste ; entretien avec l'entreprise qui recrute.",
        "commentaires": "Demandeurs d'emploi motivés par le métier, sans condition de diplôme.",
    },
}

PEOPLE = (
    ("Claire", "Martin"),
    ("Julien", "Moreau"),
    ("Nadia", "Lefèvre"),
    ("Thomas", "Girard"),
    ("Sophie", "Bernard"),
    ("Karim", "Benali"),
    ("Élodie", "Rousseau"),
    ("Marc", "Lemaire"),
    ("Camille", "Fontaine"),
    ("Yann", "Le Goff"),
    ("Isabelle", "Chevalier"),
    ("Hugo", "Perrin"),
)


def slug(text: str, sep: str = "-") -> str:
    """ASCII slug of a name (``Océan Compétences`` -> ``ocean-competences``)."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", sep, plain).strip(sep)


def _referent(organisme: dict[str, Any], offset: int) -> dict[str, str]:
    first, last = PEOPLE[(organisme["of_cr"] + offset) % len(PEOPLE)]
    domain = slug(organisme["raison_sociale"])[:40].strip("-")
    phone = 10 + (organisme["of_cr"] * 7 + offset * 13) % 90
    return {
        "nom": f"{first} {last}",
        "email": f"{slug(first, '')}.{slug(last, '')}@{domain}.example.org",
        "telephone": f"02 40 00 00 {phone:02d}",
    }


@dataclass
class Bundle:
    """The rows of one action of the Région, as the file will hold them."""

    frame: dict[str, Any]
    formation: dict[str, Any]
    action: dict[str, Any]
    sessions: list[dict[str, Any]]
    ics: list[dict[str, Any]] = field(default_factory=list)
    no_ic: set[str] = field(default_factory=set)

    @property
    def programme(self) -> str:
        """The programme's code."""
        return str(self.frame["code_programme"])


def _monday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7 or 7)


def build_bundle(frame: dict[str, Any], organismes: dict[str, dict[str, Any]], n: int) -> Bundle:
    """Fill the template's pre-filled rows of one action with complete, rule-abiding content."""
    rows = template_rows([frame])
    formation, action, session = rows["formations"][0], rows["actions"][0], rows["sessions"][0]
    programme = frame["code_programme"]
    site = organismes[frame["siret_formateur"]]
    formation.update(FORMATION[programme])
    if programme == "PSS":
        formation.update(intitule_formation=PSS_INTITULE, formacodes=PSS_FORMACODES)
    elif programme == "PE":
        formation["intitule_formation"] = PE_INTITULE
    if programme == "1E1F":
        building = re.search(r"Maçon|Coffreur|Plaquiste|bâtiment", frame["intitule"])
        formation["famille_metier"] = "Bâtiment et travaux publics" if building else "Industrie"
    places = int(frame["nb_places"])
    per_head = round(float(frame["montant_ht"] or 0) / places, 2)
    tva = float(frame["taux_tva"] or 0)
    action.update(ACTION[programme])
    action.update(
        url_action=f"https://www.{slug(site['raison_sociale'])}.example.org/formations/"
        f"{frame['id_action_cr']}",
        niveau_entree="niveau 4 (bac)" if programme == "PAS" else "sans niveau spécifique",
        public="demandeur d'emploi",
        nb_places_restantes=max(places - 2 - n % 3, 0),
        effectif_minimal=min(6, places),
        capacite_simultanee=places,
        frais_ht=per_head,
        taux_tva=tva,
        frais_ttc=round(per_head * (1 + tva / 100), 2),
        frais_additionnels="Aucun",
        frais_certification=0.0,
        prise_en_charge_frais=True,
    )
    if programme == "PSS" and n % 4 == 1:
        action["complement_intitule"] = "Module gériatrie"
    start = session["date_debut"] or dt.date(YEAR, 9, 8)
    hours = float(frame["duree_centre_h"] or 0) + float(frame["duree_entreprise_h"] or 0)
    end = session["date_fin"] or start + dt.timedelta(weeks=max(round(hours / 35), 1), days=-3)
    same_place = site["commune"] == frame["commune"]
    rythme = "temps partiel" if programme == "PCA" and n % 2 else "temps plein"
    if programme in ("PSS",):
        esp = DATES_FIXES
    elif programme == "PE":
        esp = CADENCEES if n % 2 else DATES_FIXES
    else:
        esp = "entrée/sortie permanente" if programme == "PCA" and n % 3 == 0 else DATES_FIXES
    parcours = {"PE": "mixte - modulaire", "PCA": "individualisé"}.get(programme, "collectif")
    entreprise = float(frame["duree_entreprise_h"] or 0)
    session.update(
        lieu_adresse=site["adresse"] if same_place else "Espace formation, 2 place de la Mairie",
        date_debut=start,
        date_fin=end,
        esp=esp,
        rythme=rythme,
        periodes="cours de jour",
        type_parcours=parcours,
        modalites_pedagogiques="en établissement de formation;en entreprise"
        if entreprise
        else "en établissement de formation",
        modalite_enseignement="formation mixte"
        if programme == "PE" and n % 3 == 2
        else "formation en présentiel",
        duree_centre_h=float(frame["duree_centre_h"] or 0),
        duree_entreprise_h=entreprise,
        duree_hebdo_h=35.0 if rythme == "temps plein" else 24.0,
        commentaire_duree=f"Dont {entreprise:g} heures de stage en entreprise."
        if entreprise
        else None,
        etat_recrutement="ouvert",
        modalites_recrutement="information collective;entretien ou RDV individuel",
        periode_inscription_type="candidature individuelle",
        periode_inscription_debut=start - dt.timedelta(days=56),
        periode_inscription_fin=start - dt.timedelta(days=5),
    )
    owner = organismes[frame["siret_formateur"]]
    for offset, kind in enumerate(("pmr", "mobilite", "prf")):
        for key, value in _referent(owner, offset).items():
            session[f"referent_{kind}_{key}"] = value
    sessions = [session]
    if frame["id_action_cr"] in SECOND_SESSION and not frame["forfait_recrutement"]:
        second_start = _monday_after(end + dt.timedelta(days=14))
        second = dict(session, ref_session=f"S-{frame['id_action_cr']}-2")
        second.update(
            date_debut=second_start,
            date_fin=second_start + (end - start),
            periode_inscription_debut=second_start - dt.timedelta(days=56),
            periode_inscription_fin=second_start - dt.timedelta(days=5),
        )
        assert second["date_fin"] <= YEAR_END, frame["id_action_cr"]
        sessions.append(second)
    return Bundle(frame, formation, action, sessions)


def informations_collectives(bundle: Bundle) -> None:
    """One information collective three weeks before each session (two for every third)."""
    id_action_cr = int(bundle.frame["id_action_cr"])
    for number, session in enumerate(bundle.sessions):
        if session["ref_session"] in bundle.no_ic:
            continue
        day = session["date_debut"] - dt.timedelta(days=21)
        while day.weekday() not in (1, 3):  # Tuesdays and Thursdays
            day -= dt.timedelta(days=1)
        two = number == 0 and id_action_cr % 3 == 0
        days = [day - dt.timedelta(days=14), day] if two else [day]
        morning = id_action_cr % 2 == 0
        for when in days:
            bundle.ics.append(
                {
                    "siret": session["siret"],
                    "ref_session": session["ref_session"],
                    "date": when,
                    "heure_debut": dt.time(9, 30) if morning else dt.time(14, 0),
                    "heure_fin": dt.time(11, 30) if morning else dt.time(16, 0),
                    "lieu": f"{session['lieu_adresse']}, {session['lieu_code_postal']} "
                    f"{session['lieu_commune']}",
                    "commentaire": "Inscription auprès de France Travail ou de la Mission locale.",
                }
            )


# ============================================================================ defects

Marker = tuple[str, dict[str, Any], str | None]


@dataclass(frozen=True)
class Defect:
    """One publication rule broken on purpose by one action.

    Attributes:
        code: the rule's code (``shared/spec/regles-programmes.md``).
        severity: ``bloquant`` or ``avertissement``.
        description: what is wrong, for the README.
        apply: changes the bundle; returns the sheet, row and column of the defect.
    """

    code: str
    severity: str
    description: str
    apply: Callable[[Bundle], Marker]


def _set(sheet: str, column: str, value: Any) -> Callable[[Bundle], Marker]:
    def apply(bundle: Bundle) -> Marker:
        row = {"formations": bundle.formation, "actions": bundle.action}.get(sheet)
        row = bundle.sessions[0] if row is None else row
        row[column] = value(row) if callable(value) else value
        return sheet, row, column

    return apply


def _dates(start: dt.date, end: dt.date) -> Callable[[Bundle], Marker]:
    def apply(bundle: Bundle) -> Marker:
        session = bundle.sessions[0]
        session.update(
            date_debut=start,
            date_fin=end,
            periode_inscription_debut=start - dt.timedelta(days=56),
            periode_inscription_fin=start - dt.timedelta(days=5),
        )
        return "sessions", session, "date_debut"

    return apply


def _certifiante(code: str) -> Callable[[Bundle], Marker]:
    def apply(bundle: Bundle) -> Marker:
        bundle.formation.update(certifiante=True, code_certifinfo=code)
        return "formations", bundle.formation, "certifiante"

    return apply


def _no_ic(bundle: Bundle) -> Marker:
    bundle.no_ic.add(bundle.sessions[0]["ref_session"])
    return "sessions", bundle.sessions[0], None


def _long_objectifs() -> str:
    sentences = (
        "Maîtriser le coffrage des voiles, poteaux et poutres en béton armé.",
        "Lire un plan d'exécution et un carnet de ferraillage.",
        "Implanter, régler et stabiliser les banches en sécurité.",
        "Couler, vibrer et décoffrer le béton dans les règles de l'art.",
        "Appliquer les consignes de prévention des chutes et du port de charges.",
        "Travailler en équipe sous la conduite du chef de chantier.",
    )
    text = ""
    while len(text) < 3412:
        text += sentences[len(text) % len(sentences)] + " "
    return text[:3411].rstrip() + "."


_TABLE = (
    "Acquérir les techniques de pose de plaques de plâtre selon le planning suivant : "
    "<table><tr><td>Semaines 1 à 4</td><td>Cloisons et doublages</td></tr>"
    "<tr><td>Semaines 5 à 8</td><td>Plafonds et finitions</td></tr></table>"
)

#: id_action_cr -> the one rule its entry breaks.
DEFECTS: dict[int, Defect] = {
    # GRETA-CFA Loire-Atlantique
    143802: Defect(
        "PSS:certifinfo",
        "bloquant",
        "Certif Info « oui » (code 54664) au lieu de « non »",
        _certifiante("54664"),
    ),
    143804: Defect(
        "PSS:intitule",
        "bloquant",
        "intitulé « Préparation aux épreuves de sélection aide-soignant »",
        _set(
            "formations",
            "intitule_formation",
            "Préparation aux épreuves de sélection aide-soignant",
        ),
    ),
    143808: Defect(
        "PSS:formacodes",
        "bloquant",
        "Formacodes 44022;15084 (44004 manque)",
        _set("formations", "formacodes", "44022;15084"),
    ),
    143807: Defect(
        "forfait-recrutement-date",
        "bloquant",
        "lot sous forfait recrutement : la session démarre le 04/08/2025, l'action est prévue "
        "le 28/07/2025",
        _set("sessions", "date_debut", lambda r: r["date_debut"] + dt.timedelta(days=7)),
    ),
    143904: Defect(
        "PSS:annee-debut",
        "bloquant",
        "session du 05/01/2026 au 13/02/2026 (début en 2026)",
        _dates(dt.date(2026, 1, 5), dt.date(2026, 2, 13)),
    ),
    143906: Defect(
        "PSS:esp",
        "bloquant",
        "ESP « entrée/sortie permanente »",
        _set("sessions", "esp", "entrée/sortie permanente"),
    ),
    143907: Defect(
        "dates-session",
        "bloquant",
        "date fin 17/08/2025 avant la date début 15/09/2025",
        _set("sessions", "date_fin", dt.date(2025, 8, 17)),
    ),
    144046: Defect(
        "information-collective-obligatoire",
        "bloquant",
        "session sans information collective",
        _no_ic,
    ),
    144070: Defect(
        "champ-obligatoire",
        "bloquant",
        "Modalités pédagogiques vide",
        _set("sessions", "modalites_pedagogiques", None),
    ),
    # Ouest Entreprendre Formation
    143975: Defect(
        "PE:certifinfo",
        "bloquant",
        "code Certif Info 93560 au lieu de 93561",
        _set("formations", "code_certifinfo", "93560"),
    ),
    143976: Defect(
        "PE:type-certification",
        "bloquant",
        "type de certification « Certification enregistrée au Répertoire spécifique »",
        _set(
            "formations", "type_certification", "Certification enregistrée au Répertoire spécifique"
        ),
    ),
    143981: Defect(
        "PE:rythme",
        "bloquant",
        "rythme « temps partiel »",
        _set("sessions", "rythme", "temps partiel"),
    ),
    143983: Defect(
        "PE:type-parcours",
        "bloquant",
        "type de parcours « individualisé »",
        _set("sessions", "type_parcours", "individualisé"),
    ),
    143986: Defect(
        "codes-externes",
        "avertissement",
        "Numéro lot CR « PE2025_10 » alors que l'action est du lot PE2025_12 (le cadre l'emporte)",
        _set("actions", "numero_lot", "PE2025_10"),
    ),
    # CCI Formation Vendée
    143960: Defect(
        "PE:annee-debut",
        "bloquant",
        "session du 12/01/2026 au 30/01/2026 (début en 2026)",
        _dates(dt.date(2026, 1, 12), dt.date(2026, 1, 30)),
    ),
    143962: Defect(
        "PE:esp",
        "bloquant",
        "ESP « entrée/sortie permanente »",
        _set("sessions", "esp", "entrée/sortie permanente"),
    ),
    143964: Defect(
        "nb-places-dispositif",
        "avertissement",
        "Nb places dispositif 10 alors que le bon de commande en prévoit 8 (le cadre l'emporte)",
        _set("actions", "nb_places_dispositif", 10),
    ),
    143966: Defect(
        "prise-en-charge-frais",
        "bloquant",
        "prise en charge des frais pédagogiques « non »",
        _set("actions", "prise_en_charge_frais", False),
    ),
    143881: Defect(
        "public-demandeur-emploi",
        "bloquant",
        "public « salarié »",
        _set("actions", "public", "salarié"),
    ),
    143883: Defect(
        "siret",
        "avertissement",
        "organisme responsable « 96274521200011 » : clé de contrôle fausse (le mandataire est "
        "retenu)",
        _set("sessions", "organisme_responsable", "96274521200011"),
    ),
    # AFPA Pays de la Loire
    144159: Defect(
        "longueur-max",
        "bloquant",
        "objectifs de 3 412 caractères (3 000 au plus)",
        _set("actions", "objectifs", _long_objectifs()),
    ),
    144162: Defect(
        "texte-interdit",
        "bloquant",
        "objectifs contenant un tableau HTML",
        _set("actions", "objectifs", _TABLE),
    ),
}


def _strip(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def broken_rules(bundle: Bundle, frame: dict[str, Any]) -> set[str]:
    """The rules of ``shared/spec/regles-programmes.md`` the bundle breaks (checked here so
    that a complete action breaks none and a defective one exactly its own)."""
    f, a, sessions = bundle.formation, bundle.action, bundle.sessions
    broken: set[str] = set()
    records = [("formations", f), ("actions", a)] + [("sessions", s) for s in sessions]
    if any(_empty(r.get(c)) for sheet, r in records for c in MANDATORY[sheet]):
        broken.add("champ-obligatoire")
    lengths = (("complement_programme", 3000), ("objectifs", 3000), ("plus_formation", 250))
    if any(len(_strip(a.get(c) or "")) > limit for c, limit in lengths):
        broken.add("longueur-max")
    if re.search(r"<(table|img|object|embed|iframe)\b|[\x00-\x1f]", a.get("objectifs") or ""):
        broken.add("texte-interdit")
    with_ic = {ic["ref_session"] for ic in bundle.ics if ic["date"] and ic["lieu"]}
    if any(s["ref_session"] not in with_ic for s in sessions):
        broken.add("information-collective-obligatoire")
    if a["nb_places_dispositif"] != frame["nb_places"]:
        broken.add("nb-places-dispositif")
    if a["prise_en_charge_frais"] is not True:
        broken.add("prise-en-charge-frais")
    if fold_label(a["public"] or "") != "demandeur d'emploi":
        broken.add("public-demandeur-emploi")
    if (a["numero_lot"], a["of_mandataire_cr"]) != (frame["numero_lot"], frame["of_mandataire_cr"]):
        broken.add("codes-externes")
    planned = frame["date_debut_prevue"]
    if (
        frame["forfait_recrutement"]
        and planned
        and any(s["date_debut"] != planned for s in sessions)
    ):
        broken.add("forfait-recrutement-date")
    if any(s["date_fin"] < s["date_debut"] for s in sessions):
        broken.add("dates-session")
    sirets = [f["siret"], a["siret"]] + [
        s[c] for s in sessions for c in ("siret", "organisme_responsable")
    ]
    if not all(stdnum_siret.is_valid(s) for s in sirets):
        broken.add("siret")
    years = {s["date_debut"].year for s in sessions}
    esp = {fold_label(s["esp"] or "") for s in sessions}
    if bundle.programme == "PSS":
        checks = {
            "PSS:certifinfo": f["certifiante"] is not False,
            "PSS:intitule": f["intitule_formation"] != PSS_INTITULE,
            "PSS:formacodes": set(f["formacodes"].split(";")) != set(PSS_FORMACODES.split(";")),
            "PSS:annee-debut": years != {YEAR},
            "PSS:esp": esp != {fold_label(DATES_FIXES)},
        }
        broken |= {code for code, failed in checks.items() if failed}
    if bundle.programme == "PE":
        checks = {
            "PE:certifinfo": (f["certifiante"], f.get("code_certifinfo")) != (True, "93561"),
            "PE:type-certification": f.get("type_certification") != PE_TYPE,
            "PE:annee-debut": years != {YEAR},
            "PE:esp": not esp <= {fold_label(DATES_FIXES), fold_label(CADENCEES)},
            "PE:rythme": {s["rythme"] for s in sessions} != {"temps plein"},
            "PE:type-parcours": {s["type_parcours"] for s in sessions} != {"mixte - modulaire"},
        }
        broken |= {code for code, failed in checks.items() if failed}
    return broken


# ============================================================================ structural defects


@dataclass(frozen=True)
class Structural:
    """A row the importer must reject, added to an organisation's file.

    Attributes:
        code: the importer's reason code (``pipelines.errors.REASONS``).
        description: what is wrong, for the README.
        apply: adds or changes rows; returns the rejected rows (sheet, row, column).
    """

    code: str
    description: str
    apply: Callable[[dict[str, list[dict[str, Any]]], dict[int, dict[str, Any]]], list[Marker]]


def _find(rows: list[dict[str, Any]], column: str, value: str) -> dict[str, Any]:
    return next(r for r in rows if r[column] == value)


def _duplicate_session(rows: dict[str, list[dict[str, Any]]], region: Any) -> list[Marker]:
    original = _find(rows["sessions"], "ref_session", "S-143899-2")
    rows["informations_collectives"][:] = [
        ic for ic in rows["informations_collectives"] if ic["ref_session"] != "S-143899-2"
    ]
    copy = dict(original, date_fin=original["date_fin"] + dt.timedelta(days=7))
    rows["sessions"].append(copy)
    return [("sessions", original, "siret"), ("sessions", copy, "siret")]


def _unknown_action(rows: dict[str, list[dict[str, Any]]], region: Any) -> list[Marker]:
    model = _find(rows["sessions"], "ref_session", "S-143902-1")
    start = dt.date(2025, 11, 17)
    session = dict(
        model,
        ref_session="S-143905-1",
        ref_action="A-143905",
        date_debut=start,
        date_fin=dt.date(2025, 12, 19),
        periode_inscription_debut=start - dt.timedelta(days=56),
        periode_inscription_fin=start - dt.timedelta(days=5),
    )
    assert 143905 not in region
    rows["sessions"].append(session)
    return [("sessions", session, "ref_action")]


def _unknown_region_action(rows: dict[str, list[dict[str, Any]]], region: Any) -> list[Marker]:
    assert 144199 not in region
    action = dict(_find(rows["actions"], "ref_action", "A-144142"))
    action.update(ref_action="A-144199", id_action_cr=144199, nb_places_dispositif=8)
    rows["actions"].append(action)
    return [("actions", action, "id_action_cr")]


def _other_lot(rows: dict[str, list[dict[str, Any]]], region: Any) -> list[Marker]:
    id_action_cr = min(i for i, a in region.items() if a["numero_lot"] == "PAS2025_1")
    other = region[id_action_cr]
    assert other["of_mandataire_cr"] != 10457 and not other["siret_formateur"].startswith("554774")
    action = dict(_find(rows["actions"], "ref_action", "A-144038"))
    action.update(
        ref_action=f"A-{id_action_cr}",
        id_action_cr=id_action_cr,
        numero_lot="PAS2025_1",
        of_mandataire_cr=other["of_mandataire_cr"],
        nb_places_dispositif=12,
    )
    rows["actions"].append(action)
    return [("actions", action, "id_action_cr")]


def _bad_key(rows: dict[str, list[dict[str, Any]]], region: Any) -> list[Marker]:
    formation = dict(_find(rows["formations"], "ref_formation", "F-144158"))
    bad = "55477415800122"
    assert not stdnum_siret.is_valid(bad)
    formation.update(siret=bad, ref_formation="F-MACON-2026")
    rows["formations"].append(formation)
    return [("formations", formation, "siret")]


#: file SIRET -> the rows its importer must reject.
STRUCTURAL: dict[str, tuple[Structural, ...]] = {
    "65494103800048": (
        Structural(
            "cle-dupliquee",
            "session S-143899-2 saisie deux fois (la copie avec une autre date de fin) : aucune "
            "des deux lignes n'est retenue",
            _duplicate_session,
        ),
        Structural(
            "action-inconnue",
            "session d'une action « A-143905 » absente de la feuille Actions et du catalogue",
            _unknown_action,
        ),
    ),
    "55477415800014": (
        Structural(
            "action-region-inconnue",
            "action « A-144199 » nommant l'ID Action CR 144199, absent de l'extraction Région",
            _unknown_region_action,
        ),
        Structural(
            "siret-non-autorise",
            "action d'un lot (PAS2025_1) dont l'organisme n'est ni mandataire ni formateur",
            _other_lot,
        ),
        Structural(
            "siret-invalide",
            "formation sous le SIRET « 55477415800122 » : clé de contrôle fausse",
            _bad_key,
        ),
    ),
}


# ============================================================================ files


@dataclass
class Expected:
    """One defective record and what is expected of it."""

    file: str
    sheet: str
    record: dict[str, Any]
    column: str
    code: str
    severity: str
    description: str
    ref_action: str
    row: int = 0

    @property
    def reference(self) -> str:
        """The organisation's reference of the record."""
        return str(self.record[REF_OF[self.sheet]])


@dataclass
class EntryFile:
    """The rows of one organisation's workbook and what it holds."""

    siret: str
    organisme: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {s: [] for s in SHEETS})
    programmes: Counter[str] = field(default_factory=Counter)
    complete: int = 0
    defective: int = 0

    @property
    def name(self) -> str:
        """The file's name."""
        return f"saisie_{self.siret}_{DATE}.xlsx"


def build_file(siret: str, frame: Frame, expected: list[Expected]) -> EntryFile:
    """Build one organisation's rows: every frame action, complete or with its one defect."""
    organisme, actions = frame.files[siret]
    entry = EntryFile(siret, organisme)
    for number, frame_action in enumerate(actions):
        id_action_cr = frame_action["id_action_cr"]
        bundle = build_bundle(frame_action, frame.organismes, number)
        defect = DEFECTS.get(id_action_cr)
        marker = defect.apply(bundle) if defect else None
        informations_collectives(bundle)
        broken = broken_rules(bundle, frame_action)
        if defect is None or marker is None:
            assert not broken, (id_action_cr, broken)
            entry.complete += 1
        else:
            assert broken == {defect.code}, (id_action_cr, defect.code, broken)
            sheet, record, column = marker
            entry.defective += 1
            expected.append(
                Expected(
                    entry.name,
                    sheet,
                    record,
                    column or "",
                    defect.code,
                    defect.severity,
                    defect.description,
                    bundle.action["ref_action"],
                )
            )
        entry.programmes[frame_action["code_programme"]] += 1
        entry.rows["formations"].append(bundle.formation)
        entry.rows["actions"].append(bundle.action)
        entry.rows["sessions"].extend(bundle.sessions)
        entry.rows["informations_collectives"].extend(bundle.ics)
    for structural in STRUCTURAL.get(siret, ()):
        for sheet, record, column in structural.apply(entry.rows, frame.region):
            expected.append(
                Expected(
                    entry.name,
                    sheet,
                    record,
                    column or "",
                    structural.code,
                    "rejet",
                    structural.description,
                    record.get("ref_action", ""),
                )
            )
    for item in expected:
        if item.file == entry.name:
            rows = entry.rows[item.sheet]
            item.row = next(i for i, r in enumerate(rows) if r is item.record) + 2
    return entry


def _sorted(expected: list[Expected]) -> list[Expected]:
    order = {s: i for i, s in enumerate(SHEETS)}
    return sorted(expected, key=lambda e: (e.file, order[e.sheet], e.row))


def write_expected(expected: list[Expected]) -> None:
    """Write ``expected.csv``, sorted by file, sheet and row."""
    with (OUT / "expected.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(
            ["file", "sheet", "row", "reference", "column", "ref_action", "code", "severity"]
        )
        for e in _sorted(expected):
            writer.writerow(
                [e.file, e.sheet, e.row, e.reference, e.column, e.ref_action, e.code, e.severity]
            )


_README_HEAD = """\
# Sample entry workbooks of organisations (input 2)

Generated by `data/samples/make_entries.py` — do not edit by hand. Regenerate with
`.venv/bin/python data/samples/make_entries.py` (deterministic: the same bytes each run) and
commit the outputs with the generator.

They answer the Région's frame of `data/samples/prf_2025_20250115.xlsx`. Each file is an
organisation's entry workbook `saisie_<siret>_20250301.xlsx`, written with the template code
(`pipelines/load/template.py`): one Actions row per action of the Région the organisation must
describe (as `frame_actions_for` lists them: every action of the lots it holds as mandataire,
whatever the site, and those it delivers), each with its Formations row, its session(s) and
their informations collectives; rows are written under the SIRET of the action's site
(`siret_formateur`), references are the template's suggestions (`F-`, `A-`, `S-<id>-<n>`).
People, e-mails (`example.org`) and phone numbers (`02 40 00 00 xx`) are invented. The
`lheo/` subfolder is maintained separately.

| file | organisation | actions by programme | actions | complete | one rule broken | rows F / A / S / IC | rows rejected |
|---|---|---|---|---|---|---|---|
"""

_README_RULES = """
A **complete** action passes every rule of `shared/spec/regles-programmes.md`: every mandatory
field (the template's « * »), at least one information collective per session (date, hours,
lieu), référents PMR, mobilité and PRF, public « demandeur d'emploi », prise en charge des
frais « oui », the frame's places and codes externes, dates fin ≥ début, and in a lot under
forfait recrutement every session starting on the action's planned date. PSS 2025: intitulé
« Formation aide-soignant – Module préparatoire », Formacodes 44022;44004;15084, Certif Info
non, ESP « entrée/sortie à dates fixes », sessions starting in 2025. PE 2025: Certif Info oui
93561, type « Autre certification sans niveau spécifique », ESP « entrées/sorties cadencées ou
séquencées » or « entrée/sortie à dates fixes », rythme « temps plein », type de parcours
« mixte - modulaire », sessions starting in 2025. The generator checks this itself: a complete
action breaks no rule, a defective one exactly its own.

## Defects

`expected.csv` lists each defective record: `file`, `sheet` (canonical name), `row` (as Excel
shows it, the header being row 1), `reference` (the organisation's reference of the record),
`column` (canonical name; empty when the defect is an absence), `ref_action` (the action a
publication rule is reported on), `code` (the rule's code, or the importer's reason code) and
`severity`: `bloquant` (the action stays « en cours de saisie »), `avertissement` (flagged: the
frame wins, not blocking) or `rejet` (the importer rejects the row).

| file (SIRET) | sheet | row | reference | column | code | severity | what is wrong |
|---|---|---|---|---|---|---|---|
"""

_README_TAIL = """
Structural defects cause no cascade: the duplicated session and the session naming an unknown
action have no information collective, the rejected actions have no session and name a
formation that stays valid, and the formation with a wrong SIRET key is named by no action.
Once the importer has dropped both copies of `S-143899-2`, action `A-143899` keeps its first
session and stays complete.

The `siret` defect (`S-143883-1`) is an invalid organisme responsable in the entry. The store
sets the organisme responsable of every session to the lot's mandataire whatever the entry
says (`shared/spec/saisies-organismes.md`), and the check flags what it replaced: a warning
under `siret` (an invalid SIRET) or `organisme-responsable-mandataire` (another SIRET), like
the places and codes externes. Every other SIRET of an entry is checked when the row is read
(`siret-invalide`, a rejection).
"""


def write_readme(entries: list[EntryFile], expected: list[Expected]) -> None:
    """Write ``README.md``: the files and the table of defects."""
    lines = [_README_HEAD.rstrip("\n")]
    for e in entries:
        programmes = ", ".join(f"{p} {n}" for p, n in sorted(e.programmes.items()))
        counts = " / ".join(str(len(e.rows[s])) for s in SHEETS)
        rejects = sum(1 for x in expected if x.file == e.name and x.severity == "rejet")
        lines.append(
            f"| `{e.name}` | {e.organisme['raison_sociale']} (OF {e.organisme['of_cr']}, "
            f"{e.organisme['role']}) | {programmes} | {e.complete + e.defective} | {e.complete} "
            f"| {e.defective} | {counts} | {rejects} |"
        )
    total = sum(e.complete + e.defective for e in entries)
    complete = sum(e.complete for e in entries)
    lines.append(
        f"| **total** | | | {total} | {complete} | {total - complete} | | "
        f"{sum(1 for x in expected if x.severity == 'rejet')} |"
    )
    lines.append(_README_RULES.rstrip("\n"))
    for x in _sorted(expected):
        siret = x.file.removeprefix("saisie_").removesuffix(f"_{DATE}.xlsx")
        lines.append(
            f"| {siret} | {x.sheet} | {x.row} | {x.reference} | {x.column} | `{x.code}` "
            f"| {x.severity} | {x.description} |"
        )
    lines.append(_README_TAIL)
    (OUT / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    """Generate the entry workbooks, ``expected.csv`` and ``README.md``."""
    OUT.mkdir(exist_ok=True)
    frame = load_frame()
    expected: list[Expected] = []
    entries = [build_file(siret, frame, expected) for siret in ORGANISATIONS]
    described = Counter(r["id_action_cr"] for e in entries for r in e.rows["actions"])
    assert max(described.values()) == 1, "an action of the Région described twice"
    assert {d.code for d in DEFECTS.values()} == {e.code for e in expected} - {
        s.code for group in STRUCTURAL.values() for s in group
    }
    for entry in entries:
        write_entries(
            OUT / entry.name,
            entry.rows,
            organisme=entry.organisme,
            n_actions=entry.complete + entry.defective,
            created=CREATED,
        )
        print(f"{entry.name}: {entry.complete} complete, {entry.defective} defective")  # noqa: T201
    write_expected(expected)
    write_readme(entries, expected)
    print(f"{len(expected)} defective records: {OUT / 'expected.csv'}")  # noqa: T201


if __name__ == "__main__":
    main()
