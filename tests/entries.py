"""Small entry workbooks for tests, against the frame of ``tests.workbooks.minimal_sheets``."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

from tests.workbooks import SIRET_A, SIRET_B, write_workbook

Rows = list[list[Any]]

FORMATIONS_HEADER = [
    "siret", "ref_formation", "intitule_formation", "objectif_formation", "resultats_attendus",
    "contenu_formation", "code_niveau_sortie", "famille_metier", "formacodes", "certifiante",
    "code_certifinfo", "type_certification",
]  # fmt: skip
ACTIONS_HEADER = [
    "siret", "ref_action", "ref_formation", "id_action_cr", "numero_lot", "of_mandataire_cr",
    "objectifs", "plus_formation", "niveau_entree", "public", "nb_places_dispositif",
    "prise_en_charge_frais", "frais_ht", "taux_tva",
]  # fmt: skip
SESSIONS_HEADER = [
    "siret", "ref_session", "ref_action", "lieu_adresse", "lieu_code_postal", "lieu_commune",
    "date_debut", "date_fin", "esp", "rythme", "periodes", "type_parcours",
    "modalites_pedagogiques", "modalite_enseignement", "duree_centre_h", "duree_entreprise_h",
    "etat_recrutement", "modalites_recrutement", "referent_pmr_nom", "referent_pmr_email",
    "referent_mobilite_nom", "referent_mobilite_email",
]  # fmt: skip
INFOS_HEADER = ["siret", "ref_session", "date", "heure_debut", "heure_fin", "lieu", "commentaire"]


def _session(siret: str, ref: str, action: str, start: dt.date) -> list[Any]:
    return [
        siret, ref, action, "12 rue de la Formation", "44000", "Nantes", start,
        start + dt.timedelta(days=90), "entrée/sortie à dates fixes", "temps plein",
        "du lundi au vendredi", "mixte - modulaire", "en établissement de formation",
        "formation en présentiel", 350, 70, "ouvert", "entretien;information collective",
        "Claire Martin", "referent.pmr@example.org", "Paul Durand", "mobilite@example.org",
    ]  # fmt: skip


def minimal_entries() -> dict[str, Rows]:
    """The entries of mandataire 3012 (SIRET_A, SIRET_B) for actions 100001, 100003, 100004."""
    start = dt.datetime(2025, 3, 3)
    return copy.deepcopy(
        {
            "Formations": [
                FORMATIONS_HEADER,
                [SIRET_A, "F-PSS", "Formation aide-soignant – Module préparatoire",
                 "Préparer l'entrée en formation d'aide-soignant.", "Entrée en IFAS",
                 "Remise à niveau, projet professionnel", "3", "Santé", "44022;44004;15084",
                 "non", None, None],
                [SIRET_B, "F-PE", "PASS Entreprendre – Création d’entreprise",
                 "Construire son projet de création.", "Projet validé", "Gestion, marketing",
                 "0", "Création d'entreprise", "32047", "oui", "93561",
                 "Autre certification sans niveau spécifique"],
                [SIRET_B, "F-1E1F", "Agent de propreté et d’hygiène", "Obtenir un emploi.",
                 "Emploi", "Techniques de nettoyage", "3", "Propreté", "42052", "non", None, None],
            ],
            "Actions": [
                ACTIONS_HEADER,
                [SIRET_A, "A-100001", "F-PSS", 100001, "PSS2025_1", 3012, "Objectifs de l'action",
                 "Petits groupes", "sans niveau spécifique", "demandeur d'emploi", 15, "oui",
                 1500, 20],
                [SIRET_B, "A-100003", "F-PE", 100003, "PE2025_2", 3012, "Objectifs PE",
                 "Accompagnement individuel", "sans niveau spécifique", "demandeur d'emploi",
                 12, "oui", None, None],
                [SIRET_B, "A-100004", "F-1E1F", 100004, "1E1F2025_3", 3012, "Objectifs 1E1F",
                 None, "sans niveau spécifique", "demandeur d'emploi", 8, "oui", 2400, 5.5],
            ],
            "Sessions": [
                SESSIONS_HEADER,
                _session(SIRET_A, "S-100001-1", "A-100001", start),
                _session(SIRET_A, "S-100001-2", "A-100001", start + dt.timedelta(days=120)),
                _session(SIRET_B, "S-100003-1", "A-100003", start),
                _session(SIRET_B, "S-100004-1", "A-100004", start),
            ],
            "Informations collectives": [
                INFOS_HEADER,
                [SIRET_A, "S-100001-1", dt.datetime(2025, 2, 10), "09:30", "11:30",
                 "12 rue de la Formation, Nantes", None],
                [SIRET_A, "S-100001-2", dt.datetime(2025, 6, 10), "14:00", "16:00",
                 "12 rue de la Formation, Nantes", None],
                [SIRET_B, "S-100003-1", dt.datetime(2025, 2, 12), "09:30", "11:30",
                 "Saint-Nazaire", None],
                [SIRET_B, "S-100004-1", dt.datetime(2025, 2, 13), "10:00", "12:00", "Nantes", None],
            ],
        }
    )  # fmt: skip


def write_entries(
    folder: Path, sheets: dict[str, Rows], siret: str = SIRET_A, day: str = "20250301"
) -> Path:
    """Write an entry workbook named ``saisie_<siret>_<day>.xlsx`` in ``folder``.

    A « Notes » sheet names the day, so that the same entries sent on two days are two files
    (two checksums), as they would be.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sheets = {**sheets, "Notes": [["Envoi du"], [day]]}
    return write_workbook(folder / f"saisie_{siret}_{day}.xlsx", sheets)
