"""The « Notes » sheet of the entry template: how to fill the workbook, in French.

Text only (each line a ``(style, text)`` pair: ``title``, ``heading``, ``text`` or ``bullet``).
The programme rules summarised here are those of ``shared/spec/regles-programmes.md`` (2025).
"""

from __future__ import annotations

from typing import Any

Line = tuple[str, str]

_SHEETS: tuple[Line, ...] = (
    ("heading", "Les quatre feuilles"),
    (
        "bullet",
        "« Formations » : une ligne par formation (ce qui est enseigné : intitulé, objectif, "
        "niveau, Formacodes, Certif Info).",
    ),
    (
        "bullet",
        "« Actions » : une ligne par action, c'est-à-dire par action commandée par la Région "
        "(« ID Action CR ») : le site dispensateur, les textes de l'action et son dispositif "
        "(public, places, frais).",
    ),
    (
        "bullet",
        "« Sessions » : une ligne par session (dates, lieu, rythme, recrutement, référents).",
    ),
    (
        "bullet",
        "« Informations collectives » : une ligne par réunion d'information (date, heures, lieu).",
    ),
    (
        "text",
        "Ne renommez ni les feuilles ni les colonnes ; les colonnes marquées « * » sont "
        "obligatoires. Survolez un en-tête pour lire son aide. Les listes déroulantes donnent "
        "les valeurs attendues ; quand une cellule en accepte plusieurs, séparez-les par « ; ». "
        "Dates au format jj/mm/aaaa, heures au format hh:mm.",
    ),
)

_REFERENCES: tuple[Line, ...] = (
    ("heading", "Références et liens entre les feuilles"),
    (
        "text",
        "Chaque formation, action et session porte votre propre référence (colonnes "
        "« Référence formation », « Référence action », « Référence session ») : vous la "
        "choisissez, elle est unique pour votre SIRET et ne change plus. Renvoyer une ligne "
        "avec la même référence met à jour l'enregistrement ; une nouvelle référence en crée "
        "un nouveau. Ne réutilisez jamais une référence pour autre chose. Le modèle en propose "
        "(F-, A-, S- suivis de l'ID Action CR) : vous pouvez les garder.",
    ),
    ("bullet", "Une action nomme sa formation par « Référence formation »."),
    ("bullet", "Une session nomme son action par « Référence action »."),
    ("bullet", "Une information collective nomme sa session par « Référence session »."),
    (
        "bullet",
        "Une action nomme l'action de la Région qu'elle décrit par « ID Action CR » : c'est ce "
        "qui la relie au lot et au programme.",
    ),
    (
        "text",
        "Un fichier complet remplace le précédent : une session absente d'un envoi complet "
        "ultérieur est retirée du catalogue (elle reste dans l'historique).",
    ),
)

_FRAME: tuple[Line, ...] = (
    ("heading", "Ce que le Carif-Oref reprend du cadre de la Région"),
    (
        "text",
        "Les valeurs suivantes viennent de l'extraction de la Région (bon de commande) : une "
        "valeur différente dans votre fichier est signalée puis remplacée, sans bloquer.",
    ),
    ("bullet", "Codes externes : Numéro lot CR, ID Action CR, OF Mandataire CR."),
    ("bullet", "Nb places dispositif (bon de commande et tableau de programmation annexé)."),
    ("bullet", "Organisme responsable de chaque session : le mandataire du lot."),
    (
        "text",
        "Vous saisissez sous vos SIRET, pour les actions des lots dont vous êtes mandataire "
        "(toutes les actions du lot, quel que soit le site), cotraitant ou formateur (les "
        "actions de vos sites). Toute autre ligne est rejetée (siret-non-autorise).",
    ),
)

_RULES: tuple[Line, ...] = (
    ("heading", "Règles de publication des programmes de la Région"),
    (
        "text",
        "Une action qui ne respecte pas une règle reste « en cours de saisie » et n'est pas "
        "publiée ; le compte rendu vous dit quoi corriger. Toutes les sessions d'une action "
        "sont vérifiées ensemble.",
    ),
    ("bullet", "Tous les champs marqués « * » sont remplis."),
    (
        "bullet",
        "Complément programme et objectifs : 3 000 caractères au plus ; le « plus » "
        "formation : 250 au plus. Objectifs sans tableau, image, document ni caractère spécial.",
    ),
    (
        "bullet",
        "Au moins une information collective (date et lieu) par session : sans elle l'offre "
        "n'alimente ni Kairos, ni Ouiform, ni les sites régionaux.",
    ),
    ("bullet", "Public : demandeur d'emploi. Prise en charge des frais pédagogiques : oui."),
    (
        "bullet",
        "Lots sous forfait recrutement : chaque session démarre à la date prévue de l'action, "
        "même à effectif réduit.",
    ),
    ("bullet", "Date de fin au plus tôt la date de début ; SIRET valides (14 chiffres, clé)."),
    (
        "bullet",
        "PREPA Sanitaire et social 2025 : Certif Info non ; intitulé « Formation aide-soignant "
        "– Module préparatoire » ; Formacodes 44022, 44004 et 15084 ; session débutant en "
        "2025 (date de début incluant le module de remise à niveau contextualisé) ; ESP "
        "« entrée/sortie à dates fixes ».",
    ),
    (
        "bullet",
        "PASS Entreprendre 2025 : Certif Info oui, code 93561 ; type de certification « Autre "
        "certification sans niveau spécifique » ; session débutant en 2025 ; ESP « entrées/"
        "sorties cadencées ou séquencées » ou « entrée/sortie à dates fixes » ; rythme « temps "
        "plein » ; type de parcours « mixte - modulaire ».",
    ),
    ("bullet", "1 emploi = 1 formation, PREPA Avenir Sup, PREPA Clés Avenir : règles communes."),
)

_WORKFLOW: tuple[Line, ...] = (
    ("heading", "Circuit de validation"),
    (
        "text",
        "Chaque action passe par les états de SOFI : « en cours de saisie » (incomplète ou "
        "contraire à une règle), « en attente de validation » (complète : le service Offre du "
        "Carif-Oref la vérifie), « validée » (publiée) ou « refusée » (renvoyée avec un motif). "
        "Une action publiée que vous modifiez repasse en attente de validation, sauf si la "
        "modification ne touche que l'état du recrutement, les places restantes ou les "
        "informations collectives.",
    ),
    (
        "text",
        "Nommez le fichier saisie_<SIRET>_<aaaammjj>.xlsx (SIRET de l'établissement qui "
        "envoie, date d'envoi). Service Offre du Cariforef : 02 40 20 40 20 (9h-12h), "
        "offre@cariforef-pdl.org.",
    ),
)


def notes_lines(organisme: dict[str, Any] | None = None, n_actions: int = 0) -> list[Line]:
    """Return the lines of the « Notes » sheet.

    Args:
        organisme: the organisation the template is for (``raison_sociale``, ``siret``).
        n_actions: how many actions of the Région the template was pre-filled with.

    Returns:
        ``(style, text)`` pairs, in order.
    """
    lines: list[Line] = [
        ("title", "Saisie de l'offre de formation – programmes de la Région Pays de la Loire"),
    ]
    if organisme:
        who = organisme.get("raison_sociale") or "Organisme"
        lines.append(("text", f"Organisme : {who} – SIRET {organisme.get('siret', '?')}."))
    if n_actions:
        lines.append(
            (
                "text",
                f"Ce modèle est prérempli avec les {n_actions} actions de la Région que vous "
                "avez à décrire : complétez les cellules vides de chaque ligne.",
            )
        )
    for block in (_SHEETS, _REFERENCES, _FRAME, _RULES, _WORKFLOW):
        lines.extend(block)
    return lines
