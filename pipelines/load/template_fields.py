"""What the entry template says about each column: mandatory mark, short French help, format.

Mandatory (« * »): the keys of each table, and the fields marked * in the SOFI procedures or
listed by the rule ``champ-obligatoire`` (``shared/spec/regles-programmes.md``). The mark only
guides people: the importer rejects a row on its keys, the publication rules judge the rest.
"""

from __future__ import annotations

#: entry table -> its mandatory columns (canonical names of ``schemas.entries``).
MANDATORY: dict[str, frozenset[str]] = {
    "formations": frozenset(
        {
            "siret",
            "ref_formation",
            "intitule_formation",
            "objectif_formation",
            "code_niveau_sortie",
            "famille_metier",
        }
    ),
    "actions": frozenset(
        {
            "siret",
            "ref_action",
            "ref_formation",
            "id_action_cr",
            "numero_lot",
            "of_mandataire_cr",
            "niveau_entree",
            "nb_places_dispositif",
        }
    ),
    "sessions": frozenset(
        {
            "siret",
            "ref_session",
            "ref_action",
            "lieu_adresse",
            "lieu_code_postal",
            "lieu_commune",
            "date_debut",
            "date_fin",
            "esp",
            "rythme",
            "periodes",
            "type_parcours",
            "modalites_pedagogiques",
            "modalite_enseignement",
            "duree_centre_h",
            "duree_entreprise_h",
            "organisme_responsable",
            "etat_recrutement",
            "modalites_recrutement",
            "referent_pmr_nom",
            "referent_mobilite_nom",
        }
    ),
    "informations_collectives": frozenset({"siret", "ref_session", "date", "heure_debut", "lieu"}),
}

_REF_RULE = "Choisie par vous, unique pour votre SIRET et stable dans le temps."
_MULTI = " Plusieurs valeurs : séparez-les par « ; »."

#: entry table -> column -> French help shown on the header (comment).
HELP: dict[str, dict[str, str]] = {
    "formations": {
        "siret": "SIRET de l'établissement qui saisit la formation (14 chiffres).",
        "ref_formation": f"Votre référence de la formation. {_REF_RULE}",
        "intitule_formation": (
            "Intitulé de la formation (255 caractères au plus). PREPA Sanitaire et social : "
            "« Formation aide-soignant – Module préparatoire »."
        ),
        "objectif_formation": "Objectif général de la formation (liste).",
        "resultats_attendus": "Résultats attendus à l'issue de la formation.",
        "contenu_formation": "Contenu (programme) de la formation.",
        "code_niveau_sortie": "Niveau de sortie (liste, nomenclature 2019).",
        "famille_metier": "Famille de métier visée.",
        "formacodes": (
            "Codes Formacode à 5 chiffres séparés par « ; », le domaine principal en premier. "
            "PSS : 44022;44004;15084."
        ),
        "certifiante": "Référence Certif Info : oui ou non. PSS : non ; PASS Entreprendre : oui.",
        "code_certifinfo": "Code Certif Info si « oui » (PASS Entreprendre : 93561).",
        "type_certification": (
            "Obligatoire si Certif Info = oui. PASS Entreprendre : « Autre certification sans "
            "niveau spécifique »."
        ),
    },
    "actions": {
        "siret": "SIRET du site dispensateur (site de réalisation de l'action, 14 chiffres).",
        "ref_action": f"Votre référence de l'action. {_REF_RULE}",
        "ref_formation": "Référence de la formation de l'action (feuille « Formations »).",
        "id_action_cr": "Identifiant de l'action commandée par la Région (bon de commande).",
        "numero_lot": "Numéro du lot Région (ex. PSS2025_10). Repris du cadre Région.",
        "of_mandataire_cr": "N° OF Région du mandataire du lot. Repris du cadre Région.",
        "complement_intitule": "À remplir seulement si l'intitulé de la formation ne suffit pas.",
        "complement_programme": "Compléments au programme (3 000 caractères au plus).",
        "objectifs": (
            "Objectifs de l'action (3 000 caractères au plus ; ni tableau, ni image, ni "
            "document, ni caractère spécial)."
        ),
        "resultats_attendus": "Résultats attendus de l'action.",
        "plus_formation": "Le « plus » de votre offre (250 caractères au plus).",
        "url_video": "Lien vers une vidéo (YouTube ou MP4).",
        "url_pdf": "Lien vers une plaquette PDF.",
        "url_action": "Lien vers la page de votre site qui décrit l'action.",
        "type_equipement": "Équipements nécessaires pour suivre la formation (liste)." + _MULTI,
        "niveau_entree": "Niveau d'entrée (liste).",
        "prerequis": "Pré-requis pour entrer en formation.",
        "commentaires": "Commentaire sur les pré-requis et le public visé.",
        "public": "Public visé. Programmes Région : « demandeur d'emploi ».",
        "nb_places_dispositif": (
            "Places financées (bon de commande Région). Reprises du cadre Région : une autre "
            "valeur est signalée puis remplacée."
        ),
        "nb_places_restantes": "Places encore disponibles.",
        "effectif_minimal": "Effectif minimal pour ouvrir une session.",
        "capacite_simultanee": "Nombre de stagiaires accueillis en même temps.",
        "frais_ht": "Frais pédagogiques hors taxes (euros).",
        "taux_tva": "Taux de TVA en % : 0, 5,5, 10 ou 20.",
        "frais_ttc": "Frais pédagogiques toutes taxes comprises (euros).",
        "frais_additionnels": "Frais additionnels non pris en charge (montant et détail).",
        "frais_certification": "Frais de passage de la certification (euros).",
        "prise_en_charge_frais": "Prise en charge des frais pédagogiques : « oui » attendu.",
    },
    "sessions": {
        "siret": "SIRET du site dispensateur de l'action (14 chiffres).",
        "ref_session": f"Votre référence de la session. {_REF_RULE}",
        "ref_action": "Référence de l'action de la session (feuille « Actions »).",
        "lieu_adresse": "Adresse du lieu de formation (site lieu).",
        "lieu_code_postal": "Code postal du lieu de formation (5 chiffres).",
        "lieu_commune": "Commune du lieu de formation.",
        "date_debut": (
            "Date de début (jj/mm/aaaa). Lot sous forfait recrutement : la date prévue par "
            "la Région."
        ),
        "date_fin": "Date de fin (jj/mm/aaaa), au plus tôt la date de début.",
        "esp": "Entrées / sorties (liste).",
        "rythme": "Rythme (liste). PASS Entreprendre : temps plein.",
        "periodes": "Périodes de formation (liste)." + _MULTI,
        "type_parcours": "Type de parcours (liste). PASS Entreprendre : mixte - modulaire.",
        "modalites_pedagogiques": "Modalités pédagogiques (liste)." + _MULTI,
        "modalite_enseignement": "Présentiel, mixte ou entièrement à distance (liste).",
        "duree_centre_h": "Durée en centre, en heures.",
        "duree_entreprise_h": "Durée en entreprise, en heures (0 si aucune).",
        "duree_hebdo_h": "Durée hebdomadaire, en heures.",
        "commentaire_duree": "Précisions sur la durée ou le calendrier.",
        "organisme_responsable": (
            "SIRET de l'organisme responsable : le mandataire du lot (le Carif-Oref le fixe)."
        ),
        "etat_recrutement": "État du recrutement : ouvert, suspendu ou fermé.",
        "modalites_recrutement": "Modalités de recrutement (liste)." + _MULTI,
        "periode_inscription_type": "Type de période d'inscription (liste).",
        "periode_inscription_debut": "Début de la période d'inscription (jj/mm/aaaa).",
        "periode_inscription_fin": "Fin de la période d'inscription (jj/mm/aaaa).",
        "referent_pmr_nom": "Nom du référent handicap (PMR).",
        "referent_pmr_email": "Courriel du référent PMR.",
        "referent_pmr_telephone": "Téléphone du référent PMR.",
        "referent_mobilite_nom": "Nom du référent mobilité.",
        "referent_mobilite_email": "Courriel du référent mobilité.",
        "referent_mobilite_telephone": "Téléphone du référent mobilité.",
        "referent_prf_nom": "Nom du référent du programme régional (PRF).",
        "referent_prf_email": "Courriel du référent PRF.",
        "referent_prf_telephone": "Téléphone du référent PRF.",
    },
    "informations_collectives": {
        "siret": "SIRET du site dispensateur de la session (14 chiffres).",
        "ref_session": "Référence de la session concernée (feuille « Sessions »).",
        "date": "Date de la réunion d'information (jj/mm/aaaa).",
        "heure_debut": "Heure de début (hh:mm).",
        "heure_fin": "Heure de fin (hh:mm).",
        "lieu": "Adresse de la réunion (ou « à distance » et le lien).",
        "commentaire": "Précisions (inscription préalable, public...).",
    },
}


#: Free-text columns shown wider.
LONG_TEXT = frozenset(
    {
        "objectif_formation",
        "resultats_attendus",
        "contenu_formation",
        "complement_programme",
        "objectifs",
        "plus_formation",
        "prerequis",
        "commentaires",
        "frais_additionnels",
        "commentaire_duree",
        "commentaire",
        "lieu",
        "lieu_adresse",
        "intitule_formation",
    }
)
#: Excel number format of each column kind.
NUM_FORMATS = {
    "siret": "@",
    "postal": "@",
    "int": "0",
    "number": "General",
    "percent": 'General" %"',
    "date": "dd/mm/yyyy",
    "time": "hh:mm",
}
#: Amounts in euros, shown with two decimals.
MONEY = frozenset({"frais_ht", "frais_ttc", "frais_certification"})
#: Default width of each column kind (characters).
WIDTHS = {"date": 12, "time": 8, "siret": 17, "postal": 9, "int": 10, "number": 10, "bool": 9}


def is_mandatory(table: str, column: str) -> bool:
    """Tell whether the template marks ``column`` of ``table`` with « * »."""
    return column in MANDATORY.get(table, frozenset())
