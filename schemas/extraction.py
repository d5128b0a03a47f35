"""Contract of the Région's yearly extraction (input 1): sheets, columns, aliases and rules.

Declarations only: nothing here reads a file or imports from ``pipelines``. Two layers:

* :data:`SHEETS` says how each sheet arrives (names, aliases, the type each cell is parsed to),
  which the reader uses to find sheets and headers and to normalise values;
* one pandera ``DataFrameModel`` per sheet says what a parsed row must satisfy. Custom checks
  are named with their reason code (see ``pipelines.errors.REASONS``).

Source: ``shared/spec/extraction-region.md``.
"""

from __future__ import annotations

import functools

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series
from stdnum.fr import siret as stdnum_siret

from schemas.sheets import Column, Kind, Sheet

__all__ = ["Column", "Kind", "Sheet", "SHEETS", "MODELS"]

MAX_INTITULE = 255
#: The largest value of the store's INTEGER columns (places): more is refused on the row.
MAX_INTEGER = 2**31 - 1
RE_NUMERO_LOT = r"^[A-Z0-9]+20\d\d_\d+$"
RE_CODE_POSTAL = r"^\d{5}$"
RE_NDA = r"^\d{11}$"
RE_FORMACODES = r"^\d{5}(;\d{5})*$"
ROLES = ("mandataire", "cotraitant", "formateur")
#: Synonyms accepted for roles (compared ignoring case, accents and blanks).
ROLE_ALIASES = {
    "sous-traitant": "formateur",
    "soustraitant": "formateur",
    "co-traitant": "cotraitant",
}
TAUX_TVA = (0.0, 5.5, 10.0, 20.0)


PROGRAMMES = Sheet(
    name="programmes",
    title="Programmes",
    keys=("code_programme",),
    columns=(
        Column("code_programme", "key", True, ("Code programme",)),
        Column("libelle_programme", "text", True, ("Libellé", "Programme")),
        Column("annee", "int", True, ("Année",), "année sur 4 chiffres"),
        Column("code_dispositif", "text", False, ("Dispositif", "Code dispositif SOFI")),
    ),
)

LOTS = Sheet(
    name="lots",
    title="Lots",
    keys=("numero_lot",),
    columns=(
        Column("numero_lot", "key", True, ("N° lot", "Numéro lot CR", "Lot"), "PSS2025_10"),
        Column("code_programme", "key", True, ("Code programme",)),
        Column("intitule_lot", "text", True, ("Intitulé du lot",)),
        Column("of_mandataire_cr", "int", True, ("OF Mandataire CR", "N° OF mandataire"), "entier"),
        Column("territoire", "text", False, ("Bassin", "Département")),
        Column("formacodes", "codes", False, ("Formacode(s)", "Formacode"), "codes à 5 chiffres"),
        Column("forfait_recrutement", "bool", False, ("Forfait recrutement",)),
        Column("nb_places", "int", True, ("Places", "Nb places commandées"), "entier"),
        Column("date_debut_prevue", "date", False, ("Date début prévue", "Date début")),
        Column("date_fin_prevue", "date", False, ("Date fin prévue", "Date fin")),
    ),
)

ORGANISMES = Sheet(
    name="organismes",
    title="Organismes",
    keys=("of_cr", "siret"),
    columns=(
        Column("of_cr", "int", True, ("N° OF", "ID OF CR", "OF Mandataire CR"), "entier"),
        Column("siret", "siret", True, ("SIRET", "N° SIRET"), "14 chiffres"),
        Column("raison_sociale", "text", True, ("Organisme", "Nom")),
        Column("role", "enum", True, ("Rôle",), "mandataire, cotraitant ou formateur"),
        Column(
            "numero_activite", "text", False, ("NDA", "N° déclaration d'activité"), "11 chiffres"
        ),
        Column("adresse", "text", False, ("Adresse",)),
        Column("code_postal", "postal", False, ("Code postal", "CP"), "5 chiffres"),
        Column("commune", "text", False, ("Commune", "Ville")),
        Column("email", "text", False, ("Email", "Courriel", "Mail")),
        Column("telephone", "text", False, ("Téléphone", "Tel")),
    ),
)

ACTIONS = Sheet(
    name="actions",
    title="Actions",
    keys=("id_action_cr",),
    columns=(
        Column("id_action_cr", "int", True, ("ID Action CR",), "entier"),
        Column("numero_lot", "key", True, ("N° lot", "Numéro lot CR", "Lot"), "PSS2025_10"),
        Column("of_mandataire_cr", "int", True, ("OF Mandataire CR", "N° OF mandataire"), "entier"),
        Column(
            "siret_formateur",
            "siret",
            True,
            ("SIRET site de réalisation", "SIRET formateur"),
            "14 chiffres",
        ),
        Column("intitule", "text", True, ("Intitulé action", "Intitulé")),
        Column("code_postal", "postal", True, ("Code postal", "CP"), "5 chiffres"),
        Column("commune", "text", True, ("Commune lieu", "Commune")),
        Column("nb_places", "int", True, ("Places", "Nb places dispositif"), "entier"),
        Column("duree_centre_h", "number", False, ("Durée centre (h)", "Durée centre"), "nombre"),
        Column(
            "duree_entreprise_h",
            "number",
            False,
            ("Durée entreprise (h)", "Durée entreprise"),
            "nombre",
        ),
        Column("date_debut_prevue", "date", False, ("Date début prévue", "Date début")),
        Column("date_fin_prevue", "date", False, ("Date fin prévue", "Date fin")),
        Column("montant_ht", "number", False, ("Frais HT", "Montant HT"), "nombre"),
        Column("taux_tva", "percent", False, ("Taux TVA",), "0, 5,5, 10 ou 20"),
    ),
)

#: The four sheets, in the order their rows depend on each other.
SHEETS: tuple[Sheet, ...] = (PROGRAMMES, ORGANISMES, LOTS, ACTIONS)


@functools.lru_cache(maxsize=1 << 16)
def is_valid_siret(value: str) -> bool:
    """Tell whether a 14-digit SIRET has a valid key (Luhn, or La Poste's rule).

    python-stdnum applies La Poste's rule (digit sum multiple of 5) to ``356000000…``. Each
    distinct SIRET is checked once (cached): a sheet names the same few thousand again and
    again.
    """
    return bool(stdnum_siret.is_valid(value))


def _fin_apres_debut(df: pd.DataFrame) -> pd.Series:
    debut, fin = df["date_debut_prevue"], df["date_fin_prevue"]
    return debut.isna() | fin.isna() | (fin >= debut)


class ProgrammeSchema(pa.DataFrameModel):
    """Feuille « Programmes » : un programme de formation de la Région pour l'année."""

    code_programme: Series[str] = pa.Field(nullable=False, unique=True)
    libelle_programme: Series[str] = pa.Field(nullable=False)
    annee: Series[pd.Int64Dtype] = pa.Field(
        nullable=False, in_range={"min_value": 2000, "max_value": 2100}
    )
    code_dispositif: Series[str] = pa.Field(nullable=True)

    class Config:
        """Lazy checks on parsed values; columns are already canonical."""

        strict = False
        coerce = False


class OrganismeSchema(pa.DataFrameModel):
    """Feuille « Organismes » : un établissement (SIRET) d'un organisme (N° OF)."""

    of_cr: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    siret: Series[str] = pa.Field(nullable=False)
    raison_sociale: Series[str] = pa.Field(nullable=False)
    role: Series[str] = pa.Field(nullable=False, isin=list(ROLES))
    numero_activite: Series[str] = pa.Field(nullable=True)
    adresse: Series[str] = pa.Field(nullable=True)
    code_postal: Series[str] = pa.Field(nullable=True)
    commune: Series[str] = pa.Field(nullable=True)
    email: Series[str] = pa.Field(nullable=True)
    telephone: Series[str] = pa.Field(nullable=True)

    @pa.check("siret", name="siret-invalide")
    @classmethod
    def _siret_key(cls, s: Series[str]) -> Series[bool]:
        return s.map(is_valid_siret).astype(bool)

    @pa.check("numero_activite", name="format-invalide")
    @classmethod
    def _nda(cls, s: Series[str]) -> Series[bool]:
        return s.str.fullmatch(RE_NDA).astype(bool)

    @pa.check("code_postal", name="format-invalide")
    @classmethod
    def _code_postal(cls, s: Series[str]) -> Series[bool]:
        return s.str.fullmatch(RE_CODE_POSTAL).astype(bool)

    @pa.dataframe_check(name="cle-dupliquee")
    @classmethod
    def _unique_key(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df.duplicated(["of_cr", "siret"], keep=False)

    class Config:
        """Lazy checks on parsed values."""

        strict = False
        coerce = False


class LotSchema(pa.DataFrameModel):
    """Feuille « Lots » : un lot du marché, attribué à un OF mandataire."""

    numero_lot: Series[str] = pa.Field(nullable=False, unique=True)
    code_programme: Series[str] = pa.Field(nullable=False)
    intitule_lot: Series[str] = pa.Field(nullable=False, str_length={"max_value": MAX_INTITULE})
    of_mandataire_cr: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    territoire: Series[str] = pa.Field(nullable=True)
    formacodes: Series[str] = pa.Field(nullable=True)
    forfait_recrutement: Series[bool] = pa.Field(nullable=False)
    nb_places: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=0, le=MAX_INTEGER)
    date_debut_prevue: Series[pd.Timestamp] = pa.Field(nullable=True)
    date_fin_prevue: Series[pd.Timestamp] = pa.Field(nullable=True)

    @pa.check("numero_lot", name="format-numero-lot")
    @classmethod
    def _numero_lot(cls, s: Series[str]) -> Series[bool]:
        return s.str.fullmatch(RE_NUMERO_LOT).astype(bool)

    @pa.check("formacodes", name="format-invalide")
    @classmethod
    def _formacodes(cls, s: Series[str]) -> Series[bool]:
        return s.str.fullmatch(RE_FORMACODES).astype(bool)

    @pa.dataframe_check(name="date-fin-avant-debut")
    @classmethod
    def _dates(cls, df: pd.DataFrame) -> Series[bool]:
        return _fin_apres_debut(df)

    class Config:
        """Lazy checks on parsed values."""

        strict = False
        coerce = False


class ActionSchema(pa.DataFrameModel):
    """Feuille « Actions » : une action commandée par la Région dans un lot."""

    id_action_cr: Series[pd.Int64Dtype] = pa.Field(nullable=False, unique=True, ge=1)
    numero_lot: Series[str] = pa.Field(nullable=False)
    of_mandataire_cr: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    siret_formateur: Series[str] = pa.Field(nullable=False)
    intitule: Series[str] = pa.Field(nullable=False, str_length={"max_value": MAX_INTITULE})
    code_postal: Series[str] = pa.Field(nullable=False)
    commune: Series[str] = pa.Field(nullable=False)
    nb_places: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1, le=MAX_INTEGER)
    duree_centre_h: Series[pd.Float64Dtype] = pa.Field(nullable=True, ge=0)
    duree_entreprise_h: Series[pd.Float64Dtype] = pa.Field(nullable=True, ge=0)
    date_debut_prevue: Series[pd.Timestamp] = pa.Field(nullable=True)
    date_fin_prevue: Series[pd.Timestamp] = pa.Field(nullable=True)
    montant_ht: Series[pd.Float64Dtype] = pa.Field(nullable=True, ge=0)
    taux_tva: Series[pd.Float64Dtype] = pa.Field(nullable=True, isin=list(TAUX_TVA))

    @pa.check("siret_formateur", name="siret-invalide")
    @classmethod
    def _siret_key(cls, s: Series[str]) -> Series[bool]:
        return s.map(is_valid_siret).astype(bool)

    @pa.check("code_postal", name="format-invalide")
    @classmethod
    def _code_postal(cls, s: Series[str]) -> Series[bool]:
        return s.str.fullmatch(RE_CODE_POSTAL).astype(bool)

    @pa.dataframe_check(name="date-fin-avant-debut")
    @classmethod
    def _dates(cls, df: pd.DataFrame) -> Series[bool]:
        return _fin_apres_debut(df)

    class Config:
        """Lazy checks on parsed values."""

        strict = False
        coerce = False


#: pandera model of each sheet.
MODELS: dict[str, type[pa.DataFrameModel]] = {
    "programmes": ProgrammeSchema,
    "organismes": OrganismeSchema,
    "lots": LotSchema,
    "actions": ActionSchema,
}
