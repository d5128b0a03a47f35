"""Allowed values of the enumerated fields of an entry (the template's drop-down lists).

Declarations only. Each list gives the French labels people pick (as SOFI shows them and as the
publication rules compare them: case, accents and the kind of dash aside) and, where the list
comes from an LHEO 2.3 code table, the LHEO code the export writes. Sources:

* LHEO 2.3 tables: ``shared/lheo/lheo-tables-2.3.xml`` (``dict-*``);
* the SOFI procedures: ``shared/seeds/procedure-sofi-pass-entreprendre-2025-02.md`` and
  ``procedure-sofi-prepa-sanitaire-social-2024-11.md``;
* the contract ``shared/spec/saisies-organismes.md`` and, for public and pedagogy codes, the
  Formacode list of ``shared/lheo/README.md`` (§ a.3).

A *strict* list refuses any other value in Excel; a non-strict one only warns (free-text
columns, or cells holding several values separated by « ; »).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LHEO = "LHEO 2.3, shared/lheo/lheo-tables-2.3.xml"
PROC_PE = "procédure SOFI PASS Entreprendre (février 2025)"
PROC_PSS = "procédure SOFI PREPA Sanitaire et social (novembre 2024)"
CONTRAT = "shared/spec/saisies-organismes.md"
FORMACODE = "Formacode (shared/lheo/README.md § a.3)"


@dataclass(frozen=True)
class Choice:
    """One allowed value.

    Attributes:
        label: the French label written in the cell.
        code: the LHEO (or Formacode) code it stands for, None when there is none.
    """

    label: str
    code: str | None = None


@dataclass(frozen=True)
class ValueList:
    """A list of allowed values.

    Attributes:
        name: identifier (also the Excel defined name ``liste_<name>``).
        title: French title (column header of the hidden « Listes » sheet).
        choices: the values, in the order offered.
        source: where the values come from.
        strict: Excel refuses any other value (else it only warns).
        multiple: a cell may hold several values separated by « ; ».
        numeric: the codes are numbers written as such (taux de TVA).
    """

    name: str
    title: str
    choices: tuple[Choice, ...]
    source: str
    strict: bool = True
    multiple: bool = False
    numeric: bool = False

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels, in order."""
        return tuple(c.label for c in self.choices)

    def code_of(self, value: str) -> str | None:
        """Return the code of a label, compared ignoring case, accents, blanks and dashes."""
        wanted = fold_label(value)
        return next((c.code for c in self.choices if fold_label(c.label) == wanted), None)


_DASHES = re.compile(r"[\u2010-\u2015\u2212-]")
_BLANKS = re.compile(r"\s+")


def fold_label(text: str) -> str:
    """Normalise a label for comparison: lower case, no accents, one kind of dash, one blank."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _BLANKS.sub(" ", _DASHES.sub("-", plain)).strip()


def _choices(*pairs: tuple[str, str | None]) -> tuple[Choice, ...]:
    return tuple(Choice(label, code) for label, code in pairs)


OUI_NON = ValueList("oui_non", "Oui / non", _choices(("oui", "1"), ("non", "0")), LHEO)

ESP = ValueList(
    "esp",
    "Entrées / sorties (ESP)",
    _choices(
        ("entrée/sortie à dates fixes", "0"),
        ("entrée/sortie permanente", "1"),
        ("entrées/sorties cadencées ou séquencées", None),  # no LHEO code
    ),
    f"{PROC_PE} ; {PROC_PSS} ; {CONTRAT} ; {LHEO} dict-modalites-es",
)

RYTHMES = ValueList(
    "rythme",
    "Rythme",
    _choices(("temps plein", None), ("temps partiel", None)),
    f"{PROC_PE} ; {CONTRAT} (LHEO rythme-formation est un texte libre)",
)

TYPES_PARCOURS = ValueList(
    "type_parcours",
    "Type de parcours",
    _choices(
        ("collectif", "1"),
        ("individualisé", "2"),
        ("modulaire", "3"),
        ("mixte - modulaire", "4"),
    ),
    f"{PROC_PE} ; {CONTRAT} ; {LHEO} dict-type-parcours",
)

MODALITES_ENSEIGNEMENT = ValueList(
    "modalite_enseignement",
    "Modalités d'enseignement",
    _choices(
        ("formation en présentiel", "0"),
        ("formation mixte", "1"),
        ("formation entièrement à distance", "2"),
    ),
    f"{PROC_PE} ; {PROC_PSS} ; {LHEO} dict-modalites-enseignement",
)

ETATS_RECRUTEMENT = ValueList(
    "etat_recrutement",
    "État du recrutement",
    _choices(("ouvert", "1"), ("suspendu", "3"), ("fermé", "2")),
    f"{PROC_PE} ; {LHEO} dict-etat-recrutement",
)

MODALITES_RECRUTEMENT = ValueList(
    "modalites_recrutement",
    "Modalités de recrutement",
    _choices(
        ("information collective", "9"),
        ("entretien ou RDV individuel", "8"),
        ("inscription sur candidature", "7"),
        ("dossier", "3"),
        ("tests pratiques", "4"),
        ("épreuves écrites", "5"),
        ("épreuves orales", "6"),
        ("concours", "2"),
        ("méthode de recrutement par simulation", "1"),
    ),
    f"{LHEO} dict-modalite-recrutement",
    strict=False,
    multiple=True,
)

NIVEAUX = ValueList(
    "niveau",
    "Niveaux (entrée, sortie)",
    _choices(
        ("sans niveau spécifique", "1"),
        ("niveau 1 (savoirs de base)", "11"),
        ("niveau 2", "12"),
        ("niveau 3 (CAP, BEP)", "13"),
        ("niveau 4 (bac)", "14"),
        ("niveau 5 (bac + 2)", "15"),
        ("niveau 6 (bac + 3 ou 4)", "16"),
        ("niveau 7 (bac + 5)", "17"),
        ("niveau 8 (doctorat)", "18"),
    ),
    f"{LHEO} dict-niveaux (nomenclature 2019, codes 11 à 18) ; {PROC_PE} (niveau d'entrée)",
)

OBJECTIFS_GENERAUX = ValueList(
    "objectif_general",
    "Objectif général",
    _choices(
        ("Certification", "6"),
        ("Professionnalisation", "7"),
        ("Préparation à la qualification", "8"),
        ("Remise à niveau, maîtrise des savoirs de base, initiation", "5"),
        ("(Re)mobilisation, aide à l'élaboration de projet professionnel", "9"),
        ("Perfectionnement, élargissement des compétences", "2"),
        ("Création d'entreprise", "4"),
    ),
    f"{LHEO} dict-AIS",
    strict=False,
)

TYPES_CERTIFICATION = ValueList(
    "type_certification",
    "Type de certification",
    _choices(
        ("Autre certification sans niveau spécifique", None),
        ("Certification enregistrée au RNCP", None),
        ("Certification enregistrée au Répertoire spécifique", None),
        ("Sans certification", None),
    ),
    f"{PROC_PE} (« Autre certification sans niveau spécifique ») ; les autres libellés sont "
    "indicatifs (liste non bloquante)",
    strict=False,
)

PUBLICS = ValueList(
    "public",
    "Publics",
    _choices(
        ("demandeur d'emploi", "80006"),
        ("demandeur d'emploi de moins de 26 ans", "80009"),
        ("demandeur d'emploi de plus de 26 ans", "80003"),
        ("bénéficiaire du RSA", "80005"),
        ("personne handicapée", "81020"),
        ("salarié", "82044"),
        ("tout public", "83056"),
    ),
    f"{PROC_PE} ; {PROC_PSS} (« demandeur d'emploi ») ; {FORMACODE}",
    strict=False,
    multiple=True,
)

TAUX_TVA = ValueList(
    "taux_tva",
    "Taux de TVA (%)",
    _choices(("0", "0"), ("5,5", "5.5"), ("10", "10"), ("20", "20")),
    "taux de TVA français (schemas.extraction.TAUX_TVA)",
    numeric=True,
)

TYPES_EQUIPEMENT = ValueList(
    "type_equipement",
    "Type d'équipement",
    _choices(
        ("Équipement numérique", "11"),
        ("Tenue professionnelle", "10"),
        ("Outillage professionnel", "9"),
        ("Protection de la tête", "1"),
        ("Protection des yeux", "2"),
        ("Protection des mains", "3"),
        ("Protection de l'ouïe", "4"),
        ("Protection du corps", "5"),
        ("Protection des pieds", "6"),
        ("Protection des voies respiratoires", "7"),
        ("Protection chutes", "8"),
        ("Autre", "0"),
    ),
    f"{LHEO} dict-type-equipement",
    strict=False,
    multiple=True,
)

PERIODES = ValueList(
    "periodes",
    "Périodes de formation",
    _choices(
        ("cours de jour", "96414"),
        ("cours du soir", "96411"),
        ("cours le week-end", "96412"),
        ("hors temps de travail", "96413"),
    ),
    f"{FORMACODE} (codes 9641x, LHEO code-modalite-pedagogique)",
    strict=False,
    multiple=True,
)

MODALITES_PEDAGOGIQUES = ValueList(
    "modalites_pedagogiques",
    "Modalités pédagogiques",
    _choices(
        ("en établissement de formation", None),
        ("en entreprise", None),
        ("formation à distance (FOAD)", "96128"),
    ),
    f"{PROC_PE} ; {PROC_PSS} (« en établissement de formation, en entreprise et "
    "éventuellement FOAD »)",
    strict=False,
    multiple=True,
)

TYPES_PERIODE_INSCRIPTION = ValueList(
    "periode_inscription_type",
    "Type de période d'inscription",
    _choices(("candidature individuelle", None), ("recrutement", None), ("inscription", None)),
    f"{PROC_PE} ; {PROC_PSS}",
)

#: Every list, in the order of the « Listes » sheet.
VALUE_LISTS: tuple[ValueList, ...] = (
    OUI_NON,
    ESP,
    RYTHMES,
    TYPES_PARCOURS,
    MODALITES_ENSEIGNEMENT,
    ETATS_RECRUTEMENT,
    MODALITES_RECRUTEMENT,
    NIVEAUX,
    OBJECTIFS_GENERAUX,
    TYPES_CERTIFICATION,
    PUBLICS,
    TAUX_TVA,
    TYPES_EQUIPEMENT,
    PERIODES,
    MODALITES_PEDAGOGIQUES,
    TYPES_PERIODE_INSCRIPTION,
)

#: (entry table, canonical column) -> the list of its allowed values (``schemas.entries``).
COLUMN_LISTS: dict[tuple[str, str], ValueList] = {
    ("formations", "objectif_formation"): OBJECTIFS_GENERAUX,
    ("formations", "code_niveau_sortie"): NIVEAUX,
    ("formations", "certifiante"): OUI_NON,
    ("formations", "type_certification"): TYPES_CERTIFICATION,
    ("actions", "type_equipement"): TYPES_EQUIPEMENT,
    ("actions", "niveau_entree"): NIVEAUX,
    ("actions", "public"): PUBLICS,
    ("actions", "taux_tva"): TAUX_TVA,
    ("actions", "prise_en_charge_frais"): OUI_NON,
    ("sessions", "esp"): ESP,
    ("sessions", "rythme"): RYTHMES,
    ("sessions", "periodes"): PERIODES,
    ("sessions", "type_parcours"): TYPES_PARCOURS,
    ("sessions", "modalites_pedagogiques"): MODALITES_PEDAGOGIQUES,
    ("sessions", "modalite_enseignement"): MODALITES_ENSEIGNEMENT,
    ("sessions", "etat_recrutement"): ETATS_RECRUTEMENT,
    ("sessions", "modalites_recrutement"): MODALITES_RECRUTEMENT,
    ("sessions", "periode_inscription_type"): TYPES_PERIODE_INSCRIPTION,
}
