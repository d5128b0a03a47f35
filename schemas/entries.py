"""Contract of the organisations' entries (input 2): the entry workbook and what an LHEO import
yields, as four tables linked by the organisation's own references.

Declarations only. A row of each table, once parsed, is a record the merge writes into the
FASD store under the same column names (``schemas.store``): ``formations``, ``actions`` (with
the dispositif's fields), ``sessions`` (with référents and période d'inscription), and
``informations_collectives``. Structural checks (keys present, values readable, references
between the tables) reject a row; the publication rules (``schemas/rules/*.yaml``) never
reject: they keep an action « en cours de saisie » with the list of what to fix.

Source: ``shared/spec/saisies-organismes.md`` and the SOFI procedures (``shared/seeds``).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.extraction import MAX_INTEGER, is_valid_siret
from schemas.sheets import Column, Sheet

FORMATIONS = Sheet(
    name="formations",
    title="Formations",
    keys=("siret", "ref_formation"),
    allow_empty=True,
    columns=(
        Column("siret", "siret", True, ("SIRET", "SIRET organisme"), "14 chiffres"),
        Column("ref_formation", "text", True, ("Référence formation", "Réf formation")),
        Column("intitule_formation", "text", False, ("Intitulé formation", "Intitulé")),
        Column("objectif_formation", "text", False, ("Objectif général", "Objectif")),
        Column("resultats_attendus", "text", False, ("Résultats attendus",)),
        Column("contenu_formation", "text", False, ("Contenu", "Contenu formation")),
        Column("code_niveau_sortie", "text", False, ("Niveau de sortie",)),
        Column("famille_metier", "text", False, ("Famille de métier",)),
        Column(
            "formacodes", "codes", False, ("Formacodes", "Domaine formation"), "codes à 5 chiffres"
        ),
        Column("certifiante", "bool", False, ("Référence Certifinfo", "Certifinfo")),
        Column("code_certifinfo", "text", False, ("Code Certifinfo",)),
        Column("type_certification", "text", False, ("Type de certification",)),
    ),
)

ACTIONS = Sheet(
    name="actions",
    title="Actions",
    keys=("siret", "ref_action"),
    allow_empty=True,
    columns=(
        Column(
            "siret", "siret", True, ("Site dispensateur", "SIRET site dispensateur"), "14 chiffres"
        ),
        Column("ref_action", "text", True, ("Référence action", "Réf action")),
        Column("ref_formation", "text", True, ("Référence formation", "Réf formation")),
        Column("id_action_cr", "int", True, ("ID Action CR",), "entier"),
        Column("numero_lot", "key", False, ("Numéro lot CR", "N° lot")),
        Column("of_mandataire_cr", "int", False, ("OF Mandataire CR",), "entier"),
        Column("complement_intitule", "text", False, ("Complément intitulé",)),
        Column("complement_programme", "text", False, ("Complément programme",)),
        Column("objectifs", "text", False, ("Objectifs",)),
        Column("resultats_attendus", "text", False, ("Résultats attendus",)),
        Column("plus_formation", "text", False, ("Le plus formation", "Mon + formation")),
        Column("url_video", "text", False, ("URL vidéo",)),
        Column("url_pdf", "text", False, ("URL PDF",)),
        Column("url_action", "text", False, ("URL action",)),
        Column("type_equipement", "text", False, ("Type d'équipement",)),
        Column("niveau_entree", "text", False, ("Niveau d'entrée",)),
        Column("prerequis", "text", False, ("Pré-requis", "Prérequis")),
        Column("commentaires", "text", False, ("Commentaire pré-requis", "Commentaires")),
        # the dispositif (D) of the action
        Column("public", "text", False, ("Publics", "Public")),
        Column("nb_places_dispositif", "int", False, ("Nb places dispositif",), "entier"),
        Column("nb_places_restantes", "int", False, ("Nb places restantes",), "entier"),
        Column("effectif_minimal", "int", False, ("Effectif minimal",), "entier"),
        Column("capacite_simultanee", "int", False, ("Capacité simultanée",), "entier"),
        Column("frais_ht", "number", False, ("Frais HT",), "nombre"),
        Column("taux_tva", "percent", False, ("Taux TVA",), "0, 5,5, 10 ou 20"),
        Column("frais_ttc", "number", False, ("Frais TTC",), "nombre"),
        Column("frais_additionnels", "text", False, ("Frais additionnels non pris en charge",)),
        Column("frais_certification", "number", False, ("Frais de certification",), "nombre"),
        Column(
            "prise_en_charge_frais",
            "bool",
            False,
            ("Prise en charge des frais pédagogiques",),
        ),
    ),
)

SESSIONS = Sheet(
    name="sessions",
    title="Sessions",
    keys=("siret", "ref_session"),
    allow_empty=True,
    columns=(
        Column("siret", "siret", True, ("SIRET", "Site dispensateur"), "14 chiffres"),
        Column("ref_session", "text", True, ("Référence session", "Réf session")),
        Column("ref_action", "text", True, ("Référence action", "Réf action")),
        Column("lieu_adresse", "text", False, ("Site lieu", "Adresse lieu")),
        Column("lieu_code_postal", "postal", False, ("Code postal lieu",), "5 chiffres"),
        Column("lieu_commune", "text", False, ("Commune lieu",)),
        Column("date_debut", "date", False, ("Date début",)),
        Column("date_fin", "date", False, ("Date fin",)),
        Column("esp", "text", False, ("ESP", "Entrées sorties")),
        Column("rythme", "text", False, ("Rythme", "Rythmes")),
        Column("periodes", "text", False, ("Périodes de formation",)),
        Column("type_parcours", "text", False, ("Type de parcours",)),
        Column("modalites_pedagogiques", "text", False, ("Modalités pédagogiques",)),
        Column("modalite_enseignement", "text", False, ("Modalités d'enseignement",)),
        Column("duree_centre_h", "number", False, ("Durée en centre (h)",), "nombre"),
        Column("duree_entreprise_h", "number", False, ("Durée en entreprise (h)",), "nombre"),
        Column("duree_hebdo_h", "number", False, ("Durée hebdo (h)",), "nombre"),
        Column("commentaire_duree", "text", False, ("Commentaire durée",)),
        Column("organisme_responsable", "siret", False, ("Organisme responsable",), "14 chiffres"),
        Column("etat_recrutement", "text", False, ("Recrutement", "État du recrutement")),
        Column("modalites_recrutement", "list", False, ("Modalités de recrutement",)),
        Column("periode_inscription_type", "text", False, ("Période d'inscription type",)),
        Column("periode_inscription_debut", "date", False, ("Période d'inscription début",)),
        Column("periode_inscription_fin", "date", False, ("Période d'inscription fin",)),
        Column("referent_pmr_nom", "text", False, ("Référent PMR",)),
        Column("referent_pmr_email", "text", False, ("Référent PMR courriel",)),
        Column("referent_pmr_telephone", "text", False, ("Référent PMR téléphone",)),
        Column("referent_mobilite_nom", "text", False, ("Référent mobilité",)),
        Column("referent_mobilite_email", "text", False, ("Référent mobilité courriel",)),
        Column("referent_mobilite_telephone", "text", False, ("Référent mobilité téléphone",)),
        Column("referent_prf_nom", "text", False, ("Référent PRF",)),
        Column("referent_prf_email", "text", False, ("Référent PRF courriel",)),
        Column("referent_prf_telephone", "text", False, ("Référent PRF téléphone",)),
    ),
)

INFORMATIONS_COLLECTIVES = Sheet(
    name="informations_collectives",
    title="Informations collectives",
    keys=("siret", "ref_session", "date", "heure_debut"),
    allow_empty=True,
    columns=(
        Column("siret", "siret", True, ("SIRET",), "14 chiffres"),
        Column("ref_session", "text", True, ("Référence session", "Réf session")),
        Column("date", "date", True, ("Date",)),
        Column("heure_debut", "time", False, ("Heure début",), "hh:mm"),
        Column("heure_fin", "time", False, ("Heure fin",), "hh:mm"),
        Column("lieu", "text", False, ("Lieu",)),
        Column("commentaire", "text", False, ("Commentaire",)),
    ),
)

#: The four tables of an entry, in the order their rows depend on each other.
ENTRY_SHEETS: tuple[Sheet, ...] = (FORMATIONS, ACTIONS, SESSIONS, INFORMATIONS_COLLECTIVES)

#: Référents of a session: type -> column prefix in ``sessions``.
REFERENT_TYPES = ("pmr", "mobilite", "prf")


def _unique(df: pd.DataFrame, keys: list[str]) -> Series[bool]:
    return ~df.duplicated(keys, keep=False)


class FormationEntrySchema(pa.DataFrameModel):
    """Feuille « Formations » d'une saisie : une formation, sous la référence de l'OF."""

    siret: Series[str] = pa.Field(nullable=False)
    ref_formation: Series[str] = pa.Field(nullable=False, str_length={"max_value": 128})
    intitule_formation: Series[str] = pa.Field(nullable=True)

    @pa.check("siret", name="siret-invalide")
    @classmethod
    def _siret(cls, s: Series[str]) -> Series[bool]:
        return s.map(is_valid_siret).astype(bool)

    @pa.dataframe_check(name="cle-dupliquee")
    @classmethod
    def _key(cls, df: pd.DataFrame) -> Series[bool]:
        return _unique(df, ["siret", "ref_formation"])

    class Config:
        """Structural checks only: the publication rules live in ``schemas/rules``."""

        strict = False
        coerce = False


class ActionEntrySchema(pa.DataFrameModel):
    """Feuille « Actions » d'une saisie : une action et son dispositif, pour une action Région."""

    siret: Series[str] = pa.Field(nullable=False)
    ref_action: Series[str] = pa.Field(nullable=False, str_length={"max_value": 128})
    ref_formation: Series[str] = pa.Field(nullable=False)
    id_action_cr: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    nb_places_dispositif: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, le=MAX_INTEGER)
    nb_places_restantes: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, le=MAX_INTEGER)

    @pa.check("siret", name="siret-invalide")
    @classmethod
    def _siret(cls, s: Series[str]) -> Series[bool]:
        return s.map(is_valid_siret).astype(bool)

    @pa.dataframe_check(name="cle-dupliquee")
    @classmethod
    def _key(cls, df: pd.DataFrame) -> Series[bool]:
        return _unique(df, ["siret", "ref_action"])

    class Config:
        """Structural checks only."""

        strict = False
        coerce = False


class SessionEntrySchema(pa.DataFrameModel):
    """Feuille « Sessions » d'une saisie : une session d'une action."""

    siret: Series[str] = pa.Field(nullable=False)
    ref_session: Series[str] = pa.Field(nullable=False, str_length={"max_value": 128})
    ref_action: Series[str] = pa.Field(nullable=False)

    @pa.check("siret", name="siret-invalide")
    @classmethod
    def _siret(cls, s: Series[str]) -> Series[bool]:
        return s.map(is_valid_siret).astype(bool)

    @pa.dataframe_check(name="cle-dupliquee")
    @classmethod
    def _key(cls, df: pd.DataFrame) -> Series[bool]:
        return _unique(df, ["siret", "ref_session"])

    class Config:
        """Structural checks only."""

        strict = False
        coerce = False


class InformationCollectiveEntrySchema(pa.DataFrameModel):
    """Feuille « Informations collectives » : une réunion d'information avant une session."""

    siret: Series[str] = pa.Field(nullable=False)
    ref_session: Series[str] = pa.Field(nullable=False)
    date: Series[pd.Timestamp] = pa.Field(nullable=False)

    class Config:
        """Structural checks only."""

        strict = False
        coerce = False


#: pandera model of each entry table.
ENTRY_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "formations": FormationEntrySchema,
    "actions": ActionEntrySchema,
    "sessions": SessionEntrySchema,
    "informations_collectives": InformationCollectiveEntrySchema,
}
