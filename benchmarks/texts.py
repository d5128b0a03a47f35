"""French texts of the generated entries: objectifs, contenus, résultats attendus...

Each programme has banks of sentences; a text is a few of them in a random order, a few hundred
characters long, as organisations write them in SOFI. The first sentence of each bank is the
text of the bundled entry samples (``data/samples/make_entries.py``), so that the values the
publication rules check (objectif général, niveaux, Certif Info, type de certification) are
the ones the samples have proved.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from benchmarks.reference import sample_module


@dataclass(frozen=True)
class Bank:
    """What the entries of one programme say.

    Attributes:
        formation: fixed fields of the formation (objectif général, niveau de sortie, famille
            de métier, Certif Info...), as the samples give them.
        action: fixed fields of the action (type d'équipement...), as the samples give them.
        contenu, resultats_formation, objectifs, resultats_action, complement, prerequis,
            commentaires: sentences, combined into texts.
        plus: short « plus » texts (250 characters at most).
    """

    formation: dict[str, Any]
    action: dict[str, Any]
    contenu: tuple[str, ...]
    resultats_formation: tuple[str, ...]
    objectifs: tuple[str, ...]
    resultats_action: tuple[str, ...]
    complement: tuple[str, ...]
    prerequis: tuple[str, ...]
    commentaires: tuple[str, ...]
    plus: tuple[str, ...]


_COMMON_CONTENU = (
    "Accueil, présentation du parcours et positionnement individuel sur les compétences visées.",
    "Techniques de recherche d'emploi : CV, lettre de motivation, préparation aux entretiens.",
    "Usages du numérique dans la vie professionnelle : messagerie, démarches en ligne, "
    "outils collaboratifs.",
    "Communication professionnelle écrite et orale, travail en équipe et posture en entreprise.",
    "Bilans intermédiaires et bilan final avec le formateur référent, plan d'action individuel.",
)
_COMMON_OBJECTIFS = (
    "Construire un parcours adapté au projet de chacun grâce à un positionnement d'entrée.",
    "Développer l'autonomie dans les démarches d'insertion et de recherche d'emploi.",
    "Se familiariser avec le fonctionnement de l'entreprise et les attendus des employeurs.",
)
_COMMON_COMPLEMENT = (
    "Un accompagnement individuel complète les temps collectifs tout au long du parcours.",
    "Les horaires tiennent compte des contraintes de transport et de garde d'enfants.",
    "Une aide à la mobilité peut être mobilisée pour rejoindre le lieu de formation.",
    "Les personnes en situation de handicap sont accueillies : adaptations étudiées avec la "
    "référente handicap.",
)

# fmt: off
_BANKS: dict[str, dict[str, tuple[str, ...]]] = {
    "PSS": {
        "contenu": (
            "Module de remise à niveau contextualisé de 35 heures : français, calcul "
            "professionnel et biologie appliqués au soin.",
            "Découverte du métier d'aide-soignant et de l'environnement sanitaire et "
            "médico-social : hôpital, EHPAD, services de soins à domicile.",
            "Hygiène, prévention des infections et gestes de base du prendre soin.",
            "Stage d'observation en structure sanitaire ou médico-sociale, avec un tuteur.",
            "Préparation du dossier de sélection et de l'entretien d'admission en IFAS.",
            "Éthique, bientraitance et relation avec la personne soignée et son entourage.",
        ),
        "resultats_formation": (
            "Dossier de sélection complet déposé auprès d'un institut de formation "
            "d'aides-soignants.",
            "Projet professionnel dans le soin confirmé par l'expérience du stage.",
            "Attestation de fin de formation précisant les compétences acquises.",
        ),
        "objectifs": (
            "Identifier les missions de l'aide-soignant et les qualités attendues par les "
            "équipes de soins.",
            "Maîtriser les savoirs de base utiles à la formation : lecture de protocoles, "
            "calcul de dosages simples, vocabulaire médical.",
            "Confirmer son projet par une immersion en établissement et un échange avec les "
            "professionnels.",
            "Se préparer à l'entretien de sélection : présenter son parcours et sa motivation.",
        ),
        "resultats_action": (
            "Entrée en institut de formation d'aides-soignants à la rentrée suivante.",
            "Candidature déposée dans au moins deux instituts de formation.",
        ),
        "complement": (
            "Le stage se déroule dans un établissement partenaire proche du domicile.",
            "Des professionnels de santé interviennent dans les ateliers métiers.",
        ),
        "prerequis": (
            "Vaccinations obligatoires à jour avant l'entrée en stage.",
            "Projet d'entrée en formation d'aide-soignant validé avec un conseiller.",
        ),
        "commentaires": (
            "Entrées possibles pour les personnes en reconversion vers le soin.",
        ),
        "plus": (
            "Des ateliers de simulation en salle de soins équipée.",
            "Des soignants en activité animent les ateliers et conseillent chaque stagiaire.",
        ),
    },
    "PE": {
        "contenu": (
            "Étude de marché : clientèle, concurrence, fournisseurs, implantation.",
            "Stratégie commerciale et plan de communication, prix de vente et marge.",
            "Choix du statut juridique, fiscal et social du dirigeant et de l'entreprise.",
            "Prévisionnel financier : compte de résultat, plan de financement, trésorerie.",
            "Recherche de financements : prêts d'honneur, banques, aides à la création.",
            "Démarches de création ou de reprise et premiers mois d'activité.",
        ),
        "resultats_formation": (
            "Plan d'affaires complet et chiffré, présenté à des financeurs.",
            "Décision argumentée de créer, de reprendre ou de différer le projet.",
        ),
        "objectifs": (
            "Valider la faisabilité commerciale et financière de son projet.",
            "Choisir le statut adapté à son activité et à sa situation personnelle.",
            "Construire un plan de financement et préparer les rendez-vous bancaires.",
            "Organiser son activité de dirigeant : gestion, obligations, assurances.",
        ),
        "resultats_action": (
            "Immatriculation de l'entreprise ou reprise effective dans les six mois.",
            "Plan d'affaires validé par un comité de professionnels.",
        ),
        "complement": (
            "Ateliers collectifs thématiques et rendez-vous individuels avec un consultant.",
            "Rencontres avec des chefs d'entreprise et des financeurs du territoire.",
        ),
        "prerequis": (
            "Avoir une idée de création ou de reprise d'entreprise.",
            "Être inscrit comme demandeur d'emploi au démarrage de la formation.",
        ),
        "commentaires": (
            "Un entretien individuel permet de vérifier la maturité du projet.",
        ),
        "plus": (
            "Un suivi après la création pendant les premiers mois d'activité.",
        ),
    },
    "PAS": {
        "contenu": (
            "Méthodologie du travail universitaire : prise de notes, synthèse, organisation.",
            "Remise à niveau disciplinaire selon le projet : sciences, lettres, langues.",
            "Connaissance des filières de l'enseignement supérieur et de leurs débouchés.",
            "Préparation des candidatures : lettres de motivation, dossiers, entretiens.",
            "Visites d'établissements et immersions dans les formations visées.",
        ),
        "resultats_formation": (
            "Projet d'études construit et candidatures déposées.",
            "Attestation de fin de parcours et bilan des acquis disciplinaires.",
        ),
        "objectifs": (
            "Consolider les bases scientifiques ou littéraires utiles au projet d'études.",
            "Acquérir des méthodes de travail efficaces et autonomes.",
            "Choisir une formation supérieure adaptée à son projet professionnel.",
        ),
        "resultats_action": (
            "Entrée en formation supérieure à la rentrée suivante.",
            "Méthodes de travail universitaire acquises et autonomie renforcée.",
        ),
        "complement": (
            "Des cours en ligne complètent les séances en centre.",
        ),
        "prerequis": (
            "Un entretien de motivation précède l'entrée en formation.",
        ),
        "commentaires": (
            "Les candidatures sont étudiées en commission avec les prescripteurs.",
        ),
        "plus": (
            "Un accompagnement personnalisé jusqu'à l'inscription dans le supérieur.",
        ),
    },
    "PCA": {
        "contenu": (
            "Français écrit et oral en situation professionnelle.",
            "Mathématiques du quotidien et du travail : mesures, proportions, budget.",
            "Usages numériques : ordinateur, smartphone, démarches administratives en ligne.",
            "Découverte des métiers qui recrutent sur le bassin d'emploi.",
            "Immersion en entreprise pour vérifier un projet professionnel.",
            "Savoir-être professionnels : ponctualité, communication, travail en équipe.",
        ),
        "resultats_formation": (
            "Compétences clés attestées par une évaluation de fin de parcours.",
            "Projet professionnel validé et plan d'action vers l'emploi ou la qualification.",
        ),
        "objectifs": (
            "Utiliser les outils numériques pour ses démarches d'emploi et de formation.",
            "Reprendre confiance en soi et retrouver un rythme de travail.",
            "Définir un projet professionnel réaliste et le confronter au terrain.",
        ),
        "resultats_action": (
            "Accès à une formation qualifiante ou à un emploi dans les six mois.",
            "Autonomie renforcée dans les démarches administratives et numériques.",
        ),
        "complement": (
            "Des ateliers numériques ont lieu chaque semaine en petit groupe.",
            "Entrées et sorties échelonnées selon le rythme de chacun.",
        ),
        "prerequis": (
            "Savoir communiquer à l'oral en français dans la vie courante.",
        ),
        "commentaires": (
            "Accueil des personnes en situation de handicap après échange avec la référente.",
        ),
        "plus": (
            "Un formateur référent suit chaque stagiaire de l'entrée à la sortie.",
        ),
    },
    "1E1F": {
        "contenu": (
            "Gestes professionnels du métier visé, appris sur plateau technique.",
            "Santé, sécurité et prévention des risques professionnels.",
            "Qualité, traçabilité et lecture des consignes de travail.",
            "Période en entreprise chez l'employeur qui recrute, avec un tuteur.",
            "Préparation à la prise de poste et à l'intégration dans l'équipe.",
        ),
        "resultats_formation": (
            "Attestation de compétences professionnelles délivrée par l'organisme.",
            "Habilitations et certificats de sécurité exigés pour le poste obtenus.",
        ),
        "objectifs": (
            "Maîtriser les gestes techniques de base du métier visé.",
            "Travailler en sécurité et appliquer les règles de prévention de l'entreprise.",
            "S'intégrer dans une équipe de production et respecter les délais.",
        ),
        "resultats_action": (
            "Attestation de compétences et embauche sur le poste visé.",
        ),
        "complement": (
            "Les plannings sont adaptés aux horaires de l'entreprise d'accueil.",
            "Alternance entre le centre de formation et l'entreprise d'accueil.",
        ),
        "prerequis": (
            "Maîtrise des savoirs de base ; permis B apprécié selon le poste.",
        ),
        "commentaires": (
            "Recrutement conjoint avec l'entreprise lors de l'information collective.",
        ),
        "plus": (
            "Un tuteur en entreprise accompagne chaque stagiaire tout au long du parcours.",
        ),
    },
}
# fmt: on


@cache
def banks() -> dict[str, Bank]:
    """The bank of each programme, built on the texts of the entry samples."""
    entries = sample_module("make_entries")
    found = {}
    for code, own in _BANKS.items():
        formation = dict(entries.FORMATION[code])
        action = dict(entries.ACTION[code])
        found[code] = Bank(
            formation={
                k: formation[k]
                for k in (
                    "objectif_formation",
                    "code_niveau_sortie",
                    "famille_metier",
                    "certifiante",
                    "code_certifinfo",
                    "type_certification",
                )
                if k in formation
            },
            action={"type_equipement": action["type_equipement"]},
            contenu=(formation["contenu_formation"], *own["contenu"], *_COMMON_CONTENU),
            resultats_formation=(formation["resultats_attendus"], *own["resultats_formation"]),
            objectifs=(action["objectifs"], *own["objectifs"], *_COMMON_OBJECTIFS),
            resultats_action=(action["resultats_attendus"], *own["resultats_action"]),
            complement=(action["complement_programme"], *own["complement"], *_COMMON_COMPLEMENT),
            prerequis=(action["prerequis"], *own["prerequis"]),
            commentaires=(action["commentaires"], *own["commentaires"]),
            plus=(action["plus_formation"], *own["plus"]),
        )
    assert all(len(p) <= 250 for b in found.values() for p in b.plus)
    return found


def paragraph(rng: random.Random, sentences: Sequence[str], low: int, high: int) -> str:
    """A text of sentences drawn without repetition, at least ``low`` characters when the bank
    allows it and never more than ``high``.

    The first sentence of the bank always opens the text; the others follow in a random order.
    """
    first, *rest = sentences
    rng.shuffle(rest)
    text = first
    for sentence in rest:
        if len(text) >= low or len(text) + 1 + len(sentence) > high:
            break
        text = f"{text} {sentence}"
    return text[:high]


def people() -> tuple[tuple[str, str], ...]:
    """First and last names of the référents (invented, from the entry samples)."""
    return tuple(sample_module("make_entries").PEOPLE)


def slug(text: str, sep: str = "-") -> str:
    """ASCII slug of a name (``Océan Compétences`` -> ``ocean-competences``)."""
    return str(sample_module("make_entries").slug(text, sep))


def entry_constants() -> dict[str, str]:
    """What the PSS and PE 2025 rules expect exactly, as the entry samples write it."""
    entries = sample_module("make_entries")
    return {
        "pss_intitule": entries.PSS_INTITULE,
        "pss_formacodes": entries.PSS_FORMACODES,
        "pe_intitule": entries.PE_INTITULE,
        "dates_fixes": entries.DATES_FIXES,
        "cadencees": entries.CADENCEES,
    }
