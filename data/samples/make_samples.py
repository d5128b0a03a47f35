"""Generate the sample extractions of the Région Pays de la Loire (``data/samples``).

Run from the project root::

    .venv/bin/python data/samples/make_samples.py

It writes, deterministically (fixed seed, fixed workbook metadata):

* ``prf_2025_20250115.xlsx``: a clean extraction of 2025 exercising every benign variation of
  the contract's « How it arrives » (title rows, merged cells, blank rows and columns, renamed
  sheets, aliases, SIRETs as numbers or with spaces, dates in every form, decimal commas,
  percentages, booleans, formulas, non-breaking spaces...). Zero rows must be rejected.
* ``prf_2025_20250115/``: the same content as CSV files (Windows-1252, ``;``).
* ``csv-utf8/prf_2025_20250116/``: a small consistent subset as CSV (UTF-8 with BOM, ``,``).
* ``prf_2025_20250301.xlsx``: a later clean delivery of 2025 (1904 date system) with a few
  changes (places, a withdrawn lot, new actions, dates).
* ``messy/prf_2025_20250210.xlsx``: a valid extraction in which chosen rows carry exactly one
  known defect, with ``messy/expected_rejects.csv`` and ``messy/README.md``.
* ``README.md``: what each sample is, with its counts.

Invented data only: organisations, SIRETs, e-mails and phone numbers are fake but well-formed
(the communes and postal codes are real).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import xlsxwriter
from stdnum import luhn
from stdnum.fr import siret as stdnum_siret

HERE = Path(__file__).resolve().parent
YEAR = 2025
SEED = 20250115
NBSP = "\u00a0"
NNBSP = "\u202f"  # narrow no-break space: Excel's French thousands separator
#: Fixed workbook metadata, so that regenerating gives byte-identical files.
CREATED = dt.datetime(2025, 1, 15, 7, 30)
YEAR_END = dt.date(YEAR, 12, 19)

# ============================================================================ reference data


@dataclass(frozen=True)
class Commune:
    """A real commune of Pays de la Loire."""

    name: str
    code_postal: str
    departement: str


COMMUNES: dict[str, Commune] = {
    c.name: c
    for c in (
        Commune("Nantes", "44000", "44"),
        Commune("Saint-Herblain", "44800", "44"),
        Commune("Rezé", "44400", "44"),
        Commune("Clisson", "44190", "44"),
        Commune("Saint-Nazaire", "44600", "44"),
        Commune("Guérande", "44350", "44"),
        Commune("Châteaubriant", "44110", "44"),
        Commune("Ancenis-Saint-Géréon", "44150", "44"),
        Commune("Angers", "49000", "49"),
        Commune("Trélazé", "49800", "49"),
        Commune("Cholet", "49300", "49"),
        Commune("Saumur", "49400", "49"),
        Commune("Segré-en-Anjou Bleu", "49500", "49"),
        Commune("Laval", "53000", "53"),
        Commune("Mayenne", "53100", "53"),
        Commune("Château-Gontier-sur-Mayenne", "53200", "53"),
        Commune("Le Mans", "72000", "72"),
        Commune("Allonnes", "72700", "72"),
        Commune("La Flèche", "72200", "72"),
        Commune("Sablé-sur-Sarthe", "72300", "72"),
        Commune("La Ferté-Bernard", "72400", "72"),
        Commune("La Roche-sur-Yon", "85000", "85"),
        Commune("Les Sables-d'Olonne", "85100", "85"),
        Commune("Challans", "85300", "85"),
        Commune("Fontenay-le-Comte", "85200", "85"),
        Commune("Les Herbiers", "85500", "85"),
    )
}

PHONE_PREFIX = {"44": "02 40", "49": "02 41", "53": "02 43", "72": "02 43", "85": "02 51"}

STREETS = (
    "rue des Écoles",
    "boulevard de la Liberté",
    "avenue Jean Jaurès",
    "rue du Général de Gaulle",
    "rue de l’Industrie",
    "impasse des Tisserands",
    "place du Marché",
    "allée des Tilleuls",
    "rue Pasteur",
    "chemin des Vignes",
    "rue de la Gare",
    "avenue des Sports",
)


@dataclass(frozen=True)
class ProgrammeRef:
    """A programme of the Région and how its actions usually look.

    Attributes:
        code: ``code_programme``.
        libelle: ``libelle_programme`` as the Région writes it.
        dispositif: ``code_dispositif``.
        formacodes: the lots' Formacodes.
        titles: action titles (a lot may bring its own).
        places: (min, max) places per action.
        centre_h: possible hours in centre.
        entreprise_h: possible hours in company (None: not filled in).
        rate: euros HT per trainee and hour in centre.
    """

    code: str
    libelle: str
    dispositif: str
    formacodes: tuple[str, ...]
    titles: tuple[str, ...]
    places: tuple[int, int]
    centre_h: tuple[float, ...]
    entreprise_h: tuple[float | None, ...]
    rate: float


# fmt: off
PROGRAMMES: dict[str, ProgrammeRef] = {p.code: p for p in (
    ProgrammeRef(
        "PSS", "PROGRAMME REGION - Prépa sanitaire et social", "PRF-PSS",
        formacodes=("44022", "44004", "15084"),
        titles=("Formation aide-soignant – Module préparatoire",),
        places=(12, 16), centre_h=(105, 140, 175), entreprise_h=(35, 70), rate=13.2,
    ),
    ProgrammeRef(
        "PE", "PROGRAMME REGION - PASS Entreprendre Pays de la Loire - Formation", "PRF-PE",
        formacodes=("32047", "32054"),
        titles=(
            "PASS Entreprendre – Création d’entreprise",
            "PASS Entreprendre – Reprise d’entreprise",
            "PASS Entreprendre – Création, reprise et transmission d’entreprise",
            "PASS Entreprendre – Construire et valider son projet de création",
            "PASS Entreprendre – Gérer et piloter sa jeune entreprise",
        ),
        places=(8, 12), centre_h=(70, 84, 105, 122.5), entreprise_h=(None, None, 35), rate=15.8,
    ),
    ProgrammeRef(
        "PAS", "PROGRAMME REGION - PREPA Avenir Sup", "PRF-PAS",
        formacodes=("15084", "15040"),
        titles=(
            "PREPA Avenir Sup – Préparation à l’entrée en formation qualifiante",
            "PREPA Avenir Sup – Remise à niveau scientifique",
            "PREPA Avenir Sup – Préparation aux concours du secteur paramédical",
            "PREPA Avenir Sup – Accès aux formations du supérieur (DAEU)",
        ),
        places=(10, 14), centre_h=(280, 350, 420), entreprise_h=(70, 105, 140), rate=11.9,
    ),
    ProgrammeRef(
        "PCA", "PROGRAMME REGION - PREPA Clés Avenir", "PRF-PCA",
        formacodes=("15040", "15041"),
        titles=(
            "PREPA Clés Avenir – Compétences clés et projet professionnel",
            "PREPA Clés Avenir – Savoirs de base et numérique",
            "PREPA Clés Avenir – Français langue étrangère à visée professionnelle",
            "PREPA Clés Avenir – Remobilisation et découverte des métiers",
        ),
        places=(8, 12), centre_h=(210, 280, 350, 400), entreprise_h=(35, 52.5, 70, 105),
        rate=10.7,
    ),
    ProgrammeRef(
        "1E1F", "PROGRAMME REGION - 1 emploi = 1 formation", "PRF-1E1F",
        formacodes=(), titles=(),  # each lot brings its trade's
        places=(6, 12), centre_h=(350, 399, 455, 525, 600), entreprise_h=(105, 140, 210),
        rate=12.4,
    ),
)}
# fmt: on


@dataclass(frozen=True)
class OrgRef:
    """An organisation of the Organismes sheet, with one establishment (SIRET) per commune.

    Attributes:
        of_cr: the Région's number of the organisation.
        raison_sociale: its name.
        role: canonical role (``mandataire``, ``cotraitant``, ``formateur``).
        communes: where its establishments are.
        role_label: the role as written, when not the canonical word.
        taux_tva: the VAT rate it invoices.
        siren_prefix: forced first digits of its SIREN (``"0"``, La Poste's ``"356000000"``).
    """

    of_cr: int
    raison_sociale: str
    role: str
    communes: tuple[str, ...]
    role_label: str | None = None
    taux_tva: float = 0.0
    siren_prefix: str = ""


# fmt: off
MANDATAIRES: tuple[OrgRef, ...] = (
    OrgRef(3012, "GRETA-CFA Loire-Atlantique", "mandataire",
           ("Nantes", "Saint-Nazaire", "Châteaubriant", "Ancenis-Saint-Géréon")),
    OrgRef(10457, "AFPA Pays de la Loire", "mandataire",
           ("Saint-Herblain", "Angers", "Le Mans", "La Roche-sur-Yon")),
    OrgRef(75, "IFSI du CHU d’Angers", "mandataire", ("Angers",)),
    OrgRef(386, "Ouest Entreprendre Formation", "mandataire",
           ("Nantes", "Saint-Nazaire", "Rezé"), taux_tva=20.0),
    OrgRef(4120, "CCI Formation Vendée", "mandataire",
           ("La Roche-sur-Yon", "Les Sables-d'Olonne", "Challans", "Fontenay-le-Comte"),
           taux_tva=20.0),
    OrgRef(2264, "GRETA-CFA Maine-et-Loire", "mandataire",
           ("Angers", "Cholet", "Saumur", "Segré-en-Anjou Bleu")),
    OrgRef(2270, "GRETA-CFA Sarthe", "mandataire", ("Le Mans", "La Flèche", "Sablé-sur-Sarthe")),
    OrgRef(2285, "GRETA-CFA Mayenne", "mandataire",
           ("Laval", "Mayenne", "Château-Gontier-sur-Mayenne")),
    OrgRef(5531, "Institut sarthois de la création d’entreprise", "mandataire",
           ("Le Mans", "La Ferté-Bernard"), taux_tva=20.0),
    OrgRef(6088, "Mayenne Initiatives Formation", "mandataire", ("Laval",)),
    OrgRef(7340, "Anjou Création Conseil", "mandataire", ("Angers", "Cholet"), taux_tva=20.0),
    OrgRef(8812, "Horizon Santé Formation", "mandataire", ("Nantes", "Saint-Nazaire"),
           taux_tva=20.0),
    OrgRef(9105, "Tremplin Compétences Loire", "mandataire", ("Nantes", "Rezé")),
    OrgRef(11230, "Ligériens Avenir Formation", "mandataire", ("Angers", "Le Mans", "Laval")),
    OrgRef(12004, "Institut de formation sanitaire et sociale du Maine", "mandataire",
           ("Le Mans",)),
    OrgRef(13577, "Logis Transport Formation Ouest", "mandataire", ("Allonnes", "Saint-Nazaire"),
           taux_tva=20.0),
    OrgRef(14862, "Océan Compétences Vendée", "mandataire", ("Challans", "Les Herbiers")),
)

PARTENAIRES: tuple[OrgRef, ...] = (
    OrgRef(20101, "CIBC Mayenne", "cotraitant", ("Laval",)),
    OrgRef(20118, "Maison familiale rurale de Challans", "formateur", ("Challans",)),
    OrgRef(20125, "Atelier numérique des Mauges", "formateur", ("Cholet",)),
    OrgRef(20133, "IFAS du Centre hospitalier de Saint-Nazaire", "cotraitant", ("Saint-Nazaire",)),
    OrgRef(20140, "Coopérative d’activités Ouvre-Boîtes Loire", "formateur", ("Rezé",),
           role_label="Sous-traitant"),
    OrgRef(20152, "La Poste – Direction régionale Pays de la Loire", "formateur", ("Le Mans",),
           siren_prefix="356000000"),
    OrgRef(20167, "Fondation Santé Vendée Formation", "cotraitant",
           ("La Roche-sur-Yon", "Fontenay-le-Comte")),
    OrgRef(20171, "Espace Compétences Sèvre et Maine", "formateur", ("Clisson",),
           siren_prefix="0"),
    OrgRef(20189, "Chantier école Guérande Presqu’île", "cotraitant", ("Guérande",)),
    OrgRef(20194, "Centre social Les Nouëls", "formateur", ("Trélazé",)),
)
# fmt: on


@dataclass(frozen=True)
class LotRef:
    """A lot of the plan: who holds it, where its actions take place, how many.

    Attributes:
        programme: its programme's code.
        number: the number after the year (``PSS2025_10`` → 10).
        territoire: bassin or département.
        mandataire: the mandataire's ``of_cr``.
        sites: the establishments where its actions take place, in turn, as
            ``"of_cr commune | of_cr commune"``.
        n_actions: how many actions.
        forfait: under *forfait recrutement*.
        secteur: for 1E1F, the trade in the lot's title.
        titles: action titles, when the programme has none.
        formacodes: the lot's Formacodes, when not the programme's.
    """

    programme: str
    number: int
    territoire: str
    mandataire: int
    sites: str
    n_actions: int
    forfait: bool = False
    secteur: str = ""
    titles: tuple[str, ...] = ()
    formacodes: tuple[str, ...] = ()

    def numero(self, year: int = YEAR) -> str:
        """Return the lot's number, e.g. ``PSS2025_10``."""
        return f"{self.programme}{year}_{self.number}"

    @property
    def site_list(self) -> list[tuple[int, str]]:
        """Return the sites as ``(of_cr, commune)``."""
        pairs = (site.strip().split(" ", 1) for site in self.sites.split("|"))
        return [(int(of_cr), commune) for of_cr, commune in pairs]


# fmt: off
INDUSTRIE = ("Conducteur de ligne de production automatisée", "Soudeur TIG-MIG – Industrie navale",
             "Opérateur régleur sur machines-outils", "Agent de fabrication industrielle")
BTP = ("Maçon – Gros œuvre", "Coffreur bancheur", "Agent d’entretien du bâtiment",
       "Plaquiste – Plâtrier")
LOGISTIQUE = ("Préparateur de commandes en entrepôt (CACES R489)", "Cariste d’entrepôt",
              "Agent de tri et de distribution du courrier",
              "Conducteur livreur sur véhicule utilitaire léger")
SERVICES = ("Agent de propreté et d’hygiène", "Assistant de vie aux familles",
            "Agent de restauration collective")
PORT = ("Agent magasinier", "Conducteur de transport routier de marchandises sur porteur",
        "Cariste d’entrepôt")

#: The clean extraction's lots: 32 lots, 181 actions.
LOT_PLAN: tuple[LotRef, ...] = (
    LotRef("PSS", 1, "Bassin de Nantes", 3012, "3012 Nantes | 20171 Clisson", 7, True),
    LotRef("PSS", 2, "Bassin de Saint-Nazaire", 8812,
           "8812 Saint-Nazaire | 20133 Saint-Nazaire", 6, True),
    LotRef("PSS", 3, "Bassin d’Angers", 75, "75 Angers | 20194 Trélazé", 7, True),
    LotRef("PSS", 4, "Bassin de Cholet", 2264, "2264 Cholet", 5),
    LotRef("PSS", 5, "Bassin de Laval", 2285, "2285 Laval | 2285 Château-Gontier-sur-Mayenne", 6,
           True),
    LotRef("PSS", 6, "Bassin du Mans", 12004, "12004 Le Mans", 7, True),
    LotRef("PSS", 7, "Bassin de La Roche-sur-Yon", 4120,
           "4120 La Roche-sur-Yon | 20167 La Roche-sur-Yon | 20167 Fontenay-le-Comte", 6),
    LotRef("PSS", 8, "Bassin de Saumur", 2264, "2264 Saumur", 5, True),
    LotRef("PSS", 10, "Bassin de Châteaubriant", 3012,
           "3012 Châteaubriant | 3012 Ancenis-Saint-Géréon", 5),
    LotRef("PE", 3, "Mayenne", 6088, "6088 Laval | 20101 Laval", 7),
    LotRef("PE", 5, "Maine-et-Loire", 7340, "7340 Angers | 7340 Cholet | 20125 Cholet", 8, True),
    LotRef("PE", 8, "Sarthe", 5531, "5531 Le Mans | 5531 La Ferté-Bernard", 7),
    LotRef("PE", 10, "Vendée", 4120, "4120 La Roche-sur-Yon | 4120 Les Sables-d'Olonne | "
           "4120 Challans | 20118 Challans", 9),
    LotRef("PE", 12, "Loire-Atlantique", 386,
           "386 Nantes | 386 Saint-Nazaire | 386 Rezé | 20140 Rezé", 10, True),
    LotRef("PAS", 1, "Bassin de Nantes", 9105, "9105 Nantes | 9105 Rezé", 5),
    LotRef("PAS", 2, "Bassin d’Angers", 11230, "11230 Angers", 4, True),
    LotRef("PAS", 3, "Bassin du Mans", 11230, "11230 Le Mans", 4),
    LotRef("PAS", 4, "Bassin de Laval", 11230, "11230 Laval", 4),
    LotRef("PAS", 5, "Bassin de La Roche-sur-Yon", 10457, "10457 La Roche-sur-Yon", 4),
    LotRef("PAS", 6, "Bassin de Saint-Nazaire", 3012, "3012 Saint-Nazaire", 4, True),
    LotRef("PCA", 1, "Bassin de Nantes", 9105, "9105 Nantes | 9105 Rezé | 20140 Rezé", 6),
    LotRef("PCA", 2, "Bassin de Saint-Nazaire", 3012, "3012 Saint-Nazaire | 20189 Guérande", 5,
           True),
    LotRef("PCA", 3, "Bassins d’Angers et de Segré", 2264,
           "2264 Angers | 2264 Segré-en-Anjou Bleu", 5),
    LotRef("PCA", 4, "Bassins de Cholet et de Saumur", 2264,
           "2264 Cholet | 2264 Saumur | 20125 Cholet", 6),
    LotRef("PCA", 5, "Mayenne", 2285, "2285 Laval | 2285 Mayenne | 20101 Laval", 5, True),
    LotRef("PCA", 6, "Sarthe", 2270, "2270 Le Mans | 2270 La Flèche | 2270 Sablé-sur-Sarthe", 6),
    LotRef("PCA", 7, "Bassins de Challans et des Herbiers", 14862,
           "14862 Challans | 14862 Les Herbiers | 20118 Challans", 5),
    LotRef("1E1F", 3, "Loire-Atlantique", 10457, "10457 Saint-Herblain", 5, True,
           "Industrie", INDUSTRIE, ("23054", "31795")),
    LotRef("1E1F", 7, "Maine-et-Loire", 10457, "10457 Angers", 5, False,
           "Bâtiment et travaux publics", BTP, ("22454", "22435")),
    LotRef("1E1F", 12, "Sarthe", 13577, "13577 Allonnes | 20152 Le Mans", 6, True,
           "Logistique et transport", LOGISTIQUE, ("31854", "31812")),
    LotRef("1E1F", 15, "Vendée", 14862, "14862 Les Herbiers", 4, False,
           "Services à la personne et propreté", SERVICES, ("42056",)),
    LotRef("1E1F", 18, "Bassin de Saint-Nazaire", 13577, "13577 Saint-Nazaire", 3, False,
           "Logistique portuaire", PORT),
)
# fmt: on


# ============================================================================ model


@dataclass
class Programme:
    """A row of the Programmes sheet, parsed."""

    code_programme: str
    libelle_programme: str
    annee: int
    code_dispositif: str | None


@dataclass
class Organisme:
    """A row of the Organismes sheet, parsed."""

    of_cr: int
    siret: str
    raison_sociale: str
    role: str
    numero_activite: str | None
    adresse: str | None
    code_postal: str | None
    commune: str | None
    email: str | None
    telephone: str | None
    role_label: str | None = None


@dataclass
class Lot:
    """A row of the Lots sheet, parsed."""

    numero_lot: str
    code_programme: str
    intitule_lot: str
    of_mandataire_cr: int
    territoire: str | None
    formacodes: tuple[str, ...]
    forfait_recrutement: bool
    nb_places: int
    date_debut_prevue: dt.date | None
    date_fin_prevue: dt.date | None
    observations: str | None = None


@dataclass
class Action:
    """A row of the Actions sheet, parsed."""

    id_action_cr: int
    numero_lot: str
    of_mandataire_cr: int
    siret_formateur: str
    intitule: str
    code_postal: str
    commune: str
    nb_places: int
    duree_centre_h: float | None
    duree_entreprise_h: float | None
    date_debut_prevue: dt.date | None
    date_fin_prevue: dt.date | None
    montant_ht: float | None
    taux_tva: float | None
    commentaire: str | None = None


@dataclass
class Extraction:
    """The content of one delivery, as the validator should read it."""

    programmes: list[Programme]
    organismes: list[Organisme]
    lots: list[Lot]
    actions: list[Action]

    def lot(self, numero: str) -> Lot:
        """Return the lot numbered ``numero``."""
        return next(lot for lot in self.lots if lot.numero_lot == numero)

    def actions_of(self, numero: str) -> list[Action]:
        """Return the actions of the lot numbered ``numero``."""
        return [a for a in self.actions if a.numero_lot == numero]


# ============================================================================ SIRETs


class SiretFactory:
    """Deterministic, valid and unique SIRETs: one SIREN per organisation, one NIC per site."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._sirens: dict[int, str] = {}
        self._sirets: dict[tuple[int, int], str] = {}
        self._used: set[str] = set()

    def siren(self, of_cr: int, prefix: str = "") -> str:
        """Return the SIREN of organisation ``of_cr`` (Luhn key), drawn once."""
        if of_cr not in self._sirens:
            while True:
                if prefix == "356000000":  # La Poste
                    siren = prefix
                else:
                    first = prefix or str(self._rng.randint(1, 9))
                    body = first + "".join(str(self._rng.randint(0, 9)) for _ in range(7))
                    siren = body + luhn.calc_check_digit(body)
                if siren.startswith("356000000") and prefix != "356000000":
                    continue
                if siren not in self._sirens.values() or prefix == "356000000":
                    break
            self._sirens[of_cr] = siren
        return self._sirens[of_cr]

    def siret(self, of_cr: int, index: int, prefix: str = "") -> str:
        """Return the SIRET of establishment ``index`` of organisation ``of_cr``, drawn once."""
        if (of_cr, index) in self._sirets:
            return self._sirets[of_cr, index]
        siren = self.siren(of_cr, prefix)
        if siren == "356000000":
            siret = self._la_poste(of_cr, index)
        else:
            nic4 = f"{index * 7 + self._rng.randint(1, 6):04d}"
            siret = siren + nic4 + luhn.calc_check_digit(siren + nic4)
            assert siret not in self._used and stdnum_siret.is_valid(siret)
            self._used.add(siret)
        self._sirets[of_cr, index] = siret
        return siret

    def stray(self) -> str:
        """Return a valid SIRET of nobody in the samples (an unknown formateur)."""
        while True:
            body = "".join(str(self._rng.randint(0, 9)) for _ in range(8))
            siren = str(self._rng.randint(1, 9)) + body[1:]
            siren += luhn.calc_check_digit(siren)
            nic4 = f"{self._rng.randint(1, 99):04d}"
            siret = siren + nic4 + luhn.calc_check_digit(siren + nic4)
            if siret not in self._used and not siret.startswith("356"):
                self._used.add(siret)
                return siret

    def _la_poste(self, of_cr: int, index: int) -> str:
        """A La Poste SIRET valid by its own rule (digit sum multiple of 5) and NOT by Luhn."""
        for nic in range(44100 + 97 * (of_cr % 7) + 311 * index, 99999):
            siret = f"356000000{nic:05d}"
            if sum(map(int, siret)) % 5 == 0 and not luhn.is_valid(siret):
                if siret not in self._used:
                    assert stdnum_siret.is_valid(siret)
                    self._used.add(siret)
                    return siret
        raise AssertionError("no La Poste SIRET left")


# ============================================================================ building content


def build_programmes(year: int = YEAR, codes: Iterable[str] | None = None) -> list[Programme]:
    """Return the Programmes rows of ``year`` (all five, or those of ``codes``)."""
    chosen = list(codes) if codes is not None else list(PROGRAMMES)
    return [
        Programme(ref.code, ref.libelle, year, ref.dispositif)
        for ref in (PROGRAMMES[c] for c in chosen)
    ]


def _slug(text: str) -> str:
    """Return a lower-case ASCII slug of ``text`` for fake e-mail addresses."""
    table = str.maketrans("àâäéèêëîïôöùûüçœ’'", "aaaeeeeiioouuuco--")
    return re.sub(r"[^a-z0-9]+", "-", text.lower().translate(table)).strip("-")


def build_organismes(
    refs: Sequence[OrgRef], sirets: SiretFactory
) -> tuple[list[Organisme], dict[tuple[int, str], str]]:
    """Return the Organismes rows of ``refs`` and their SIRETs by ``(of_cr, commune)``.

    Every establishment gets an address, a 5-digit postal code, a fake e-mail and phone number;
    the NDA (11 digits: région 52, département, sequence, département) is the organisation's.
    """
    rows: list[Organisme] = []
    by_site: dict[tuple[int, str], str] = {}
    for ref in refs:
        first = COMMUNES[ref.communes[0]]
        nda = f"52{first.departement}{ref.of_cr * 37 % 100000:05d}{first.departement}"
        for index, name in enumerate(ref.communes):
            commune = COMMUNES[name]
            siret = sirets.siret(ref.of_cr, index, ref.siren_prefix)
            by_site[ref.of_cr, name] = siret
            number = (ref.of_cr + 3 * index) % 58 + 1
            street = STREETS[(ref.of_cr + index) % len(STREETS)]
            adresse = f"{number}, {street}" if ref.of_cr % 3 == 0 else f"{number} {street}"
            site = _slug(commune.name)
            domain = "-".join(_slug(ref.raison_sociale).split("-")[:3])
            rows.append(
                Organisme(
                    of_cr=ref.of_cr,
                    siret=siret,
                    raison_sociale=ref.raison_sociale,
                    role=ref.role,
                    numero_activite=nda if index == 0 or ref.of_cr % 2 == 0 else None,
                    adresse=adresse,
                    code_postal=commune.code_postal,
                    commune=commune.name,
                    email=f"contact.{site}@{domain}.example.org",
                    telephone=f"{PHONE_PREFIX[commune.departement]} 00 00 {number:02d}",
                    role_label=ref.role_label,
                )
            )
    rows.sort(key=lambda o: (o.of_cr, o.siret))
    return rows, by_site


def _monday(week: int) -> dt.date:
    """Return the Monday of the ``week``-th week after 13 January 2025 (week 0)."""
    return dt.date(YEAR, 1, 13) + dt.timedelta(weeks=week)


def build_lot(
    ref: LotRef,
    sites: dict[tuple[int, str], str],
    taux: dict[int, float],
    rng: random.Random,
    first_id: int,
) -> tuple[Lot, list[Action]]:
    """Build a lot of the plan and its actions (valid, places within the lot's).

    Args:
        ref: the lot in the plan.
        sites: SIRET of each ``(of_cr, commune)``.
        taux: VAT rate of each organisation.
        rng: the generator's random source.
        first_id: the first ``id_action_cr`` to use.

    Returns:
        The lot and its actions; the lot's places are the actions' plus a small margin.
    """
    prog = PROGRAMMES[ref.programme]
    numero = ref.numero()
    titles = ref.titles or prog.titles
    actions: list[Action] = []
    next_id = first_id
    for k in range(ref.n_actions):
        of_site, commune_name = ref.site_list[k % len(ref.site_list)]
        commune = COMMUNES[commune_name]
        places = rng.randint(*prog.places)
        centre = float(rng.choice(prog.centre_h))
        entreprise = rng.choice(prog.entreprise_h)
        weeks = math.ceil((centre + (entreprise or 0)) / 35)
        last_week = (YEAR_END - _monday(0)).days // 7 - weeks
        start = _monday(rng.randint(0, last_week))
        end = start + dt.timedelta(days=7 * weeks - 3)
        montant = round(places * centre * prog.rate * rng.uniform(0.93, 1.07), 2)
        actions.append(
            Action(
                id_action_cr=next_id,
                numero_lot=numero,
                of_mandataire_cr=ref.mandataire,
                siret_formateur=sites[of_site, commune_name],
                intitule=titles[k % len(titles)],
                code_postal=commune.code_postal,
                commune=commune.name,
                nb_places=places,
                duree_centre_h=centre,
                duree_entreprise_h=None if entreprise is None else float(entreprise),
                date_debut_prevue=start,
                date_fin_prevue=end,
                montant_ht=montant,
                taux_tva=taux.get(of_site, 0.0),
                commentaire="Reconduction 2024" if next_id % 11 == 0 else None,
            )
        )
        next_id += rng.choice((1, 1, 1, 2, 3))
    margin = rng.choice((0, 0, 2, 4, 5, 8, 10))
    if ref.programme == "PSS":
        intitule = f"Prépa sanitaire et social – {ref.territoire}"
    elif ref.programme == "PE":
        intitule = (
            f"Lot {ref.number} - Formations à la création-reprise d’entreprise en {ref.territoire}"
        )
    elif ref.programme == "PAS":
        intitule = f"PREPA Avenir Sup – {ref.territoire}"
    elif ref.programme == "PCA":
        intitule = f"PREPA Clés Avenir – {ref.territoire}"
    else:
        intitule = f"1 emploi = 1 formation – {ref.secteur} – {ref.territoire}"
    lot = Lot(
        numero_lot=numero,
        code_programme=ref.programme,
        intitule_lot=intitule,
        of_mandataire_cr=ref.mandataire,
        territoire=ref.territoire,
        formacodes=ref.formacodes or prog.formacodes,
        forfait_recrutement=ref.forfait,
        nb_places=sum(a.nb_places for a in actions) + margin,
        date_debut_prevue=min(a.date_debut_prevue for a in actions if a.date_debut_prevue),
        date_fin_prevue=max(a.date_fin_prevue for a in actions if a.date_fin_prevue),
    )
    return lot, actions


def build_clean() -> Extraction:
    """Build the clean extraction of 15 January 2025 (32 lots, about 180 actions)."""
    rng = random.Random(SEED)
    sirets = SiretFactory(rng)
    organismes, sites = build_organismes(MANDATAIRES + PARTENAIRES, sirets)
    taux = {ref.of_cr: ref.taux_tva for ref in MANDATAIRES + PARTENAIRES}
    lots: list[Lot] = []
    actions: list[Action] = []
    next_id = 143801
    for ref in LOT_PLAN:
        lot, lot_actions = build_lot(ref, sites, taux, rng, next_id)
        lots.append(lot)
        actions.extend(lot_actions)
        next_id = lot_actions[-1].id_action_cr + rng.randint(2, 9)
    # a few exceptions that a real file has
    _first(actions, "PCA2025_1").taux_tva = 5.5
    _first(actions, "PE2025_8").taux_tva = 10.0
    _first(actions, "PAS2025_3").duree_centre_h = 140.0  # written as the formula =35*4
    for lot in lots[4::9]:  # lots whose planned dates are not known yet
        lot.date_debut_prevue = lot.date_fin_prevue = None
    undated = [a for a in actions if a.numero_lot.startswith("1E1F")][1::6]
    for action in undated:  # 1E1F actions open on demand: no planned dates
        action.date_debut_prevue = action.date_fin_prevue = None
    lots[1].observations = "Avenant n°1 : +2 places"
    lots[13].observations = "Lot réattribué après désistement"
    lots[22].observations = "Forfait recrutement à confirmer"
    return Extraction(build_programmes(), organismes, lots, actions)


def _first(actions: list[Action], numero: str) -> Action:
    return next(a for a in actions if a.numero_lot == numero)


def build_later(clean: Extraction) -> tuple[Extraction, list[str]]:
    """Build the delivery of 1 March 2025 from the one of 15 January.

    Returns:
        The new content and a description of each change, for the README.
    """
    later = Extraction(
        [replace(p) for p in clean.programmes],
        [replace(o) for o in clean.organismes],
        [replace(lot) for lot in clean.lots],
        [replace(a) for a in clean.actions],
    )
    changes: list[str] = []
    # one lot withdrawn with its actions
    gone = "1E1F2025_18"
    n_gone = len(later.actions_of(gone))
    later.lots = [lot for lot in later.lots if lot.numero_lot != gone]
    later.actions = [a for a in later.actions if a.numero_lot != gone]
    changes.append(f"lot {gone} withdrawn with its {n_gone} actions")
    # places of one lot raised (and of one of its actions), two other actions changed
    lot = later.lot("PCA2025_3")
    lot.nb_places += 6
    changes.append(f"lot {lot.numero_lot}: nb_places {lot.nb_places - 6} → {lot.nb_places}")
    spare = [n.numero_lot for n in later.lots if _room(later, n.numero_lot) >= 2]
    spare = [n for n in spare if n not in ("PCA2025_3", "PE2025_12", "PSS2025_8")]
    moved = [
        (later.actions_of("PCA2025_3")[0], +4),
        (later.actions_of("PE2025_12")[2], -1),
        (later.actions_of(spare[0])[1], +2),
    ]
    for action, step in moved:
        assert _room(later, action.numero_lot) >= step
        action.nb_places += step
        changes.append(
            f"action {action.id_action_cr} ({action.numero_lot}): nb_places "
            f"{action.nb_places - step} → {action.nb_places}"
        )
    # two new actions in the two lots with the most free places (other than those above)
    next_id = max(a.id_action_cr for a in clean.actions) + 5
    roomy = sorted((n for n in spare[1:] if n != spare[0]), key=lambda n: (-_room(later, n), n))[:2]
    for numero in roomy:
        model = later.actions_of(numero)[-1]
        places = min(_room(later, numero), 8)
        assert places >= 4, numero
        new = replace(
            model,
            id_action_cr=next_id,
            nb_places=places,
            date_debut_prevue=dt.date(YEAR, 9, 8),
            date_fin_prevue=dt.date(YEAR, 11, 28),
            commentaire="Action ajoutée en cours d’année",
        )
        later.actions.insert(later.actions.index(model) + 1, new)
        changes.append(f"action {next_id} added in lot {numero} ({places} places)")
        next_id += 1
    # one lot's dates changed
    lot = later.lot("PSS2025_8")
    assert lot.date_debut_prevue and lot.date_fin_prevue
    old = (lot.date_debut_prevue, lot.date_fin_prevue)
    lot.date_debut_prevue -= dt.timedelta(weeks=1)
    lot.date_fin_prevue = dt.date(YEAR, 12, 31)
    changes.append(
        f"lot {lot.numero_lot}: dates {old[0]:%d/%m/%Y}–{old[1]:%d/%m/%Y} → "
        f"{lot.date_debut_prevue:%d/%m/%Y}–{lot.date_fin_prevue:%d/%m/%Y}"
    )
    return later, changes


def _room(ext: Extraction, numero: str) -> int:
    """Return how many places of lot ``numero`` its actions leave free."""
    return ext.lot(numero).nb_places - sum(a.nb_places for a in ext.actions_of(numero))


def build_subset(clean: Extraction, numeros: Sequence[str], n_actions: int) -> Extraction:
    """Return a consistent subset of ``clean``: some lots, some of their actions.

    Programmes are those of the lots; organismes are every establishment of the lots'
    mandataires plus the other SIRETs the chosen actions use.
    """
    lots = [replace(clean.lot(n)) for n in numeros]
    per_lot = math.ceil(n_actions / len(lots))
    actions = [replace(a) for n in numeros for a in clean.actions_of(n)[:per_lot]][:n_actions]
    codes = list(dict.fromkeys(lot.code_programme for lot in lots))
    mandataires = {lot.of_mandataire_cr for lot in lots}
    used = {a.siret_formateur for a in actions}
    organismes = [replace(o) for o in clean.organismes if o.of_cr in mandataires or o.siret in used]
    return Extraction(build_programmes(codes=codes), organismes, lots, actions)


def check_clean(ext: Extraction) -> None:
    """Assert every rule of the contract on a clean extraction (nothing may be rejected)."""
    assert len({p.code_programme for p in ext.programmes}) == len(ext.programmes)
    assert all(p.annee == YEAR for p in ext.programmes)
    keys = Counter((o.of_cr, o.siret) for o in ext.organismes)
    assert max(keys.values()) == 1
    for o in ext.organismes:
        assert stdnum_siret.is_valid(o.siret) and len(o.siret) == 14, o
        assert o.role in ("mandataire", "cotraitant", "formateur")
        assert o.numero_activite is None or re.fullmatch(r"\d{11}", o.numero_activite)
        assert o.code_postal is None or re.fullmatch(r"\d{5}", o.code_postal)
    mandataires = {o.of_cr for o in ext.organismes if o.role == "mandataire"}
    sirets = {o.siret for o in ext.organismes}
    codes = {p.code_programme for p in ext.programmes}
    assert len({lot.numero_lot for lot in ext.lots}) == len(ext.lots)
    for lot in ext.lots:
        assert re.fullmatch(r"[A-Z0-9]+20\d\d_\d+", lot.numero_lot)
        assert lot.numero_lot.split("_")[0].endswith(str(YEAR))
        assert lot.code_programme in codes and lot.of_mandataire_cr in mandataires
        assert 0 < len(lot.intitule_lot) <= 255 and lot.nb_places >= 0
        assert all(re.fullmatch(r"\d{5}", c) for c in lot.formacodes)
        _check_dates(lot.date_debut_prevue, lot.date_fin_prevue)
        asked = sum(a.nb_places for a in ext.actions_of(lot.numero_lot))
        assert asked <= lot.nb_places, (lot.numero_lot, asked, lot.nb_places)
    lots = {lot.numero_lot: lot for lot in ext.lots}
    assert len({a.id_action_cr for a in ext.actions}) == len(ext.actions)
    for a in ext.actions:
        assert a.numero_lot in lots and lots[a.numero_lot].of_mandataire_cr == a.of_mandataire_cr
        assert a.siret_formateur in sirets and stdnum_siret.is_valid(a.siret_formateur)
        assert 0 < len(a.intitule) <= 255 and a.nb_places >= 1
        assert COMMUNES[a.commune].code_postal == a.code_postal
        assert a.taux_tva in (None, 0.0, 5.5, 10.0, 20.0)
        _check_dates(a.date_debut_prevue, a.date_fin_prevue)
        for d in (a.date_debut_prevue, a.date_fin_prevue):
            assert d is None or d.year == YEAR


def _check_dates(debut: dt.date | None, fin: dt.date | None) -> None:
    assert debut is None or fin is None or fin >= debut


# ============================================================================ cells and layouts


@dataclass(frozen=True)
class Formula:
    """A formula cell with its cached value (what a reader must take)."""

    formula: str
    value: float


@dataclass(frozen=True)
class Serial:
    """A date typed as a bare Excel serial number (a number cell without date format)."""

    date: dt.date


@dataclass(frozen=True)
class Percent:
    """A number shown as a percentage (``0.2`` shown ``20%``)."""

    value: float
    num_format: str = "0%"


Cell = str | int | float | bool | dt.date | Formula | Serial | Percent | None


@dataclass
class SheetRow:
    """One data row to write, and the rejects the validator must give for it.

    Attributes:
        cells: canonical column (or extra column key) -> cell as written.
        rejects: ``(column, reason, what is wrong)`` expected for this row.
        merge_down: canonical columns whose cell is merged with the rows below (count).
    """

    cells: dict[str, Cell]
    rejects: list[tuple[str, str, str]] = field(default_factory=list)
    merge_down: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Col:
    """A column of a written sheet: its header as written and what it holds (None: blank)."""

    header: str
    key: str | None


@dataclass(frozen=True)
class Layout:
    """How a sheet is laid out in a workbook.

    Attributes:
        sheet: canonical sheet name (``programmes``...).
        name: the sheet's name as written.
        columns: the columns, in order (blank and unknown ones included).
        title: a title row merged across the columns, if any.
        blank_rows: blank rows between the title and the header.
        blank_after: data row indices (0-based) followed by a blank row (an index given twice
            is followed by two blank rows).
    """

    sheet: str
    name: str
    columns: tuple[Col, ...]
    title: str | None = None
    blank_rows: int = 0
    blank_after: tuple[int, ...] = ()

    @property
    def header_row(self) -> int:
        """The header's row number as Excel shows it."""
        return (1 if self.title else 0) + self.blank_rows + 1


PROGRAMMES_COLUMNS = (
    Col("Code programme", "code_programme"),
    Col("Libellé", "libelle_programme"),
    Col("Année ", "annee"),
    Col("Code dispositif SOFI", "code_dispositif"),
)
ORGANISMES_COLUMNS = (
    Col("ID OF CR", "of_cr"),
    Col("N° SIRET", "siret"),
    Col("Organisme", "raison_sociale"),
    Col("Rôle", "role"),
    Col("N° déclaration d'activité", "numero_activite"),
    Col("Adresse", "adresse"),
    Col("CP", "code_postal"),
    Col("Commune", "commune"),
    Col("Courriel", "email"),
    Col("Téléphone", "telephone"),
)
LOTS_COLUMNS = (
    Col("N° lot", "numero_lot"),
    Col("Code programme", "code_programme"),
    Col("Intitulé du lot", "intitule_lot"),
    Col("OF Mandataire CR", "of_mandataire_cr"),
    Col("Bassin", "territoire"),
    Col("Formacode(s)", "formacodes"),
    Col("Forfait recrutement", "forfait_recrutement"),
    Col("", None),
    Col("Nb places commandées", "nb_places"),
    Col("Date début prévue", "date_debut_prevue"),
    Col("Date fin prévue", "date_fin_prevue"),
    Col("Observations", "observations"),
)
ACTIONS_COLUMNS = (
    Col("ID Action CR", "id_action_cr"),
    Col("Numéro lot CR", "numero_lot"),
    Col("OF Mandataire CR", "of_mandataire_cr"),
    Col("SIRET site de réalisation", "siret_formateur"),
    Col("Intitulé action", "intitule"),
    Col("Code postal", "code_postal"),
    Col("Commune lieu", "commune"),
    Col("", None),
    Col("Nb places dispositif", "nb_places"),
    Col("Durée centre (h)", "duree_centre_h"),
    Col("duree_entreprise_h ", "duree_entreprise_h"),
    Col("  DATE DEBUT PREVUE", "date_debut_prevue"),
    Col("Date  fin  prévue", "date_fin_prevue"),
    Col("Frais HT", "montant_ht"),
    Col("Taux TVA", "taux_tva"),
    Col("Commentaire CR", "commentaire"),
)


def layouts(label: str, *, n_actions: int, n_organismes: int) -> dict[str, Layout]:
    """Return the four sheets' layouts of a workbook (title rows, renamed sheets...).

    Args:
        label: the delivery, for the titles (e.g. ``extraction du 15/01/2025``).
        n_actions: number of action rows (blank rows are spread inside).
        n_organismes: number of organisme rows.
    """
    return {
        "programmes": Layout("programmes", "Programmes", PROGRAMMES_COLUMNS),
        "organismes": Layout(
            "organismes",
            "Organismes",
            ORGANISMES_COLUMNS,
            title=f"Organismes titulaires du PRF {YEAR} – {label}",
            blank_after=(n_organismes // 2,),
        ),
        "lots": Layout(
            "lots",
            f"Lots {YEAR}",
            LOTS_COLUMNS,
            title=f"PRF {YEAR} – Lots attribués ({label})",
            blank_rows=1,
            blank_after=(8,),
        ),
        "actions": Layout(
            "actions",
            "Actions PRF",
            ACTIONS_COLUMNS,
            title=f"PRF {YEAR} – Actions commandées ({label})",
            blank_rows=1,
            blank_after=(n_actions // 3, n_actions // 3, 2 * n_actions // 3),
        ),
    }


# ---------------------------------------------------------------------------- plain cells


def _num(value: float | None) -> int | float | None:
    """Return an integral float as an int (as Excel shows it), else the value."""
    if value is not None and float(value).is_integer():
        return int(value)
    return value


def programme_cells(p: Programme) -> dict[str, Cell]:
    """Return the cells of a programme, plainly typed."""
    return {
        "code_programme": p.code_programme,
        "libelle_programme": p.libelle_programme,
        "annee": p.annee,
        "code_dispositif": p.code_dispositif,
    }


def organisme_cells(o: Organisme) -> dict[str, Cell]:
    """Return the cells of an organisme, plainly typed (SIRET as text)."""
    return {
        "of_cr": o.of_cr,
        "siret": o.siret,
        "raison_sociale": o.raison_sociale,
        "role": o.role_label or o.role,
        "numero_activite": o.numero_activite,
        "adresse": o.adresse,
        "code_postal": o.code_postal,
        "commune": o.commune,
        "email": o.email,
        "telephone": o.telephone,
    }


def lot_cells(lot: Lot) -> dict[str, Cell]:
    """Return the cells of a lot, plainly typed (real dates, ``oui``/``non``)."""
    return {
        "numero_lot": lot.numero_lot,
        "code_programme": lot.code_programme,
        "intitule_lot": lot.intitule_lot,
        "of_mandataire_cr": lot.of_mandataire_cr,
        "territoire": lot.territoire,
        "formacodes": ";".join(lot.formacodes) or None,
        "forfait_recrutement": "oui" if lot.forfait_recrutement else "non",
        "nb_places": lot.nb_places,
        "date_debut_prevue": lot.date_debut_prevue,
        "date_fin_prevue": lot.date_fin_prevue,
        "observations": lot.observations,
    }


def action_cells(a: Action) -> dict[str, Cell]:
    """Return the cells of an action, plainly typed (real dates, numbers, SIRET as text)."""
    return {
        "id_action_cr": a.id_action_cr,
        "numero_lot": a.numero_lot,
        "of_mandataire_cr": a.of_mandataire_cr,
        "siret_formateur": a.siret_formateur,
        "intitule": a.intitule,
        "code_postal": a.code_postal,
        "commune": a.commune,
        "nb_places": a.nb_places,
        "duree_centre_h": _num(a.duree_centre_h),
        "duree_entreprise_h": _num(a.duree_entreprise_h),
        "date_debut_prevue": a.date_debut_prevue,
        "date_fin_prevue": a.date_fin_prevue,
        "montant_ht": a.montant_ht,
        "taux_tva": _num(a.taux_tva),
        "commentaire": a.commentaire,
    }


def plain_rows(ext: Extraction) -> dict[str, list[SheetRow]]:
    """Return the rows of the four sheets, plainly typed."""
    return {
        "programmes": [SheetRow(programme_cells(p)) for p in ext.programmes],
        "organismes": [SheetRow(organisme_cells(o)) for o in ext.organismes],
        "lots": [SheetRow(lot_cells(lot)) for lot in ext.lots],
        "actions": [SheetRow(action_cells(a)) for a in ext.actions],
    }


# ---------------------------------------------------------------------------- benign variations


def _spaced_siret(siret: str) -> str:
    """``13000511900032`` → ``130 005 119 00032``."""
    return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"


def _french_number(value: float, thousands: str) -> str:
    """``1234.5`` → ``1 234,50`` with the given thousands separator."""
    return f"{value:,.2f}".replace(",", "\0").replace(".", ",").replace("\0", thousands)


def _date_as(value: dt.date, form: str) -> Cell:
    """Write a date in one of the forms a delivery may use."""
    forms: dict[str, Callable[[dt.date], Cell]] = {
        "date": lambda d: d,
        "dd/mm/yyyy": lambda d: f"{d:%d/%m/%Y}",
        "yyyy-mm-dd": lambda d: f"{d:%Y-%m-%d}",
        "dd/mm/yy": lambda d: f"{d:%d/%m/%y}",
        "serial": Serial,
    }
    return forms[form](value)


#: How the actions' dates are written, in turn: mostly real dates, then every other form.
DATE_FORMS = (
    *("date", "date", "dd/mm/yyyy", "date", "date", "yyyy-mm-dd"),
    *("date", "date", "dd/mm/yy", "date", "serial", "date"),
)
ABSENT_DATES: tuple[Cell, ...] = ("00/00/0000", "00000000", None)
TRUE_FORMS: tuple[Cell, ...] = ("oui", "O", "x", 1, "VRAI", True, "Oui ")
FALSE_FORMS: tuple[Cell, ...] = ("non", "N", None, "0", "faux", False, 0)
TVA20_FORMS: tuple[Cell, ...] = (20, "20 %", Percent(0.2), 20, f"20{NBSP}%", "20")
SEPARATORS = (";", ", ", " / ", " ")


def vary_organismes(rows: list[SheetRow]) -> None:
    """Apply the benign variations of the Organismes sheet, in place."""
    for i, row in enumerate(rows):
        cells = row.cells
        siret = str(cells["siret"])
        if siret.startswith("0") or i % 9 == 4:
            cells["siret"] = int(siret)  # a number: leading zero lost
        elif i % 7 == 2:
            cells["siret"] = _spaced_siret(siret)
        if i % 6 == 5 and cells["code_postal"]:
            cells["code_postal"] = int(str(cells["code_postal"]))
        role = str(cells["role"])
        cells["role"] = {0: role.capitalize(), 3: role.upper() + " ", 5: f" {role}"}.get(
            i % 8, role
        )
        if i % 10 == 3:
            cells["raison_sociale"] = f"{cells['raison_sociale']}  "
        if i % 10 == 7:
            cells["raison_sociale"] = str(cells["raison_sociale"]).replace(" ", NBSP, 1)


def vary_lots(rows: list[SheetRow], ext: Extraction) -> None:
    """Apply the benign variations of the Lots sheet, in place."""
    trues, falses = iter(TRUE_FORMS * 9), iter(FALSE_FORMS * 9)
    for i, (row, lot) in enumerate(zip(rows, ext.lots, strict=True)):
        cells = row.cells
        cells["forfait_recrutement"] = next(trues) if lot.forfait_recrutement else next(falses)
        if lot.formacodes:
            cells["formacodes"] = SEPARATORS[i % len(SEPARATORS)].join(lot.formacodes)
        if i == 3:
            places = [str(a.nb_places) for a in ext.actions_of(lot.numero_lot)]
            margin = lot.nb_places - sum(a.nb_places for a in ext.actions_of(lot.numero_lot))
            formula = f"=SUM({','.join(places)})" + (f"+{margin}" if margin else "")
            cells["nb_places"] = Formula(formula, lot.nb_places)
        if i == 6:
            cells["numero_lot"] = f"{lot.numero_lot} "
        if i == 11:
            cells["intitule_lot"] = lot.intitule_lot.replace(" ", NBSP, 2)
        if i == 16:
            cells["nb_places"] = str(lot.nb_places)
        if lot.date_debut_prevue is None:
            absent = "00/00/0000" if i % 2 else None
            cells["date_debut_prevue"] = cells["date_fin_prevue"] = absent
        elif i % 5 == 2:
            cells["date_debut_prevue"] = _date_as(lot.date_debut_prevue, "dd/mm/yyyy")
            assert lot.date_fin_prevue
            cells["date_fin_prevue"] = _date_as(lot.date_fin_prevue, "dd/mm/yyyy")


def vary_actions(rows: list[SheetRow], ext: Extraction) -> None:
    """Apply the benign variations of the Actions sheet, in place."""
    tva20 = iter(TVA20_FORMS * 40)
    absents = iter(ABSENT_DATES * 9)
    formula_done = lower_done = merge_done = False
    for i, (row, a) in enumerate(zip(rows, ext.actions, strict=True)):
        cells = row.cells
        if i == 5:
            cells["id_action_cr"] = str(a.id_action_cr)
        if a.numero_lot == "PSS2025_10" and not lower_done:
            cells["numero_lot"] = a.numero_lot.lower() + " "
            lower_done = True
        if i == 17:
            cells["of_mandataire_cr"] = f" {a.of_mandataire_cr} "
        siret = a.siret_formateur
        if siret.startswith("0") or i % 13 == 7:
            cells["siret_formateur"] = int(siret)
        elif i % 11 == 3:
            cells["siret_formateur"] = _spaced_siret(siret)
        if i % 17 == 4:
            cells["intitule"] = a.intitule + "  "
        if i % 19 == 9:
            cells["intitule"] = a.intitule.replace(" ", NBSP, 1)
        if i % 8 == 6:
            cells["code_postal"] = int(a.code_postal)
        if i % 23 == 11:
            cells["commune"] = a.commune + " "
        if " " in a.commune and i % 5 == 1:
            cells["commune"] = a.commune.replace(" ", NBSP)
        if a.duree_centre_h == 140 and not formula_done:
            cells["duree_centre_h"] = Formula("=35*4", 140)
            formula_done = True
        elif a.duree_centre_h and not a.duree_centre_h.is_integer():
            cells["duree_centre_h"] = _french_number(a.duree_centre_h, "").rstrip("0")
        if a.duree_entreprise_h and not a.duree_entreprise_h.is_integer():
            cells["duree_entreprise_h"] = _french_number(a.duree_entreprise_h, "").rstrip("0")
        for column, shift in (("date_debut_prevue", 0), ("date_fin_prevue", 3)):
            value = getattr(a, column)
            if value is None:
                cells[column] = next(absents)
            else:
                cells[column] = _date_as(value, DATE_FORMS[(i + shift) % len(DATE_FORMS)])
        if a.montant_ht is not None and i % 9 in (2, 6, 8):
            thousands = {2: NBSP, 6: " ", 8: NNBSP if i % 2 else " "}[i % 9]
            cells["montant_ht"] = _french_number(a.montant_ht, thousands)
        if a.taux_tva == 20:
            cells["taux_tva"] = next(tva20)
        elif a.taux_tva == 5.5:
            cells["taux_tva"] = "5,5%"
        elif a.taux_tva == 10:
            cells["taux_tva"] = Percent(0.1)
        elif a.taux_tva == 0 and i % 10 == 1:
            cells["taux_tva"] = "0 %"
        first_of_lot = ext.actions[i - 1].numero_lot != a.numero_lot
        if not merge_done and i > 40 and first_of_lot and cells["numero_lot"] == a.numero_lot:
            same = [r for r in ext.actions[i : i + 3] if r.numero_lot == a.numero_lot]
            if len(same) == 3:  # the lot number merged over the lot's first three actions
                row.merge_down["numero_lot"] = 2
                rows[i + 1].cells["numero_lot"] = rows[i + 2].cells["numero_lot"] = None
                merge_done = True
    assert formula_done and lower_done and merge_done


# ============================================================================ writing


def excel_serial(value: dt.date, date_1904: bool) -> int:
    """Return the Excel serial number of ``value`` in the 1900 or 1904 date system."""
    epoch = dt.date(1904, 1, 1) if date_1904 else dt.date(1899, 12, 30)
    return (value - epoch).days


def write_workbook(
    path: Path,
    sheets: Sequence[tuple[Layout, list[SheetRow]]],
    *,
    date_1904: bool = False,
    notes: Sequence[str] = (),
) -> dict[str, list[int]]:
    """Write a workbook and return, per sheet, the Excel row number of each data row.

    Args:
        path: the ``.xlsx`` to write.
        sheets: each sheet's layout and rows, in the order they appear.
        date_1904: use Excel's 1904 date system (dates and serials follow it).
        notes: lines of an extra ``Lisez-moi`` sheet (ignored by the reader), if any.
    """
    book = xlsxwriter.Workbook(
        str(path),
        {"date_1904": date_1904, "strings_to_numbers": False, "strings_to_formulas": False},
    )
    book.set_properties(
        {"title": f"Extraction PRF {YEAR}", "author": "Région Pays de la Loire", "created": CREATED}
    )
    fmt = {
        "title": book.add_format({"bold": True, "font_size": 13, "align": "left"}),
        "header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1}),
        "date": book.add_format({"num_format": "dd/mm/yyyy"}),
        "text": book.add_format({"num_format": "@"}),
        "merged": book.add_format({"valign": "top"}),
        "0%": book.add_format({"num_format": "0%"}),
        "0.0%": book.add_format({"num_format": "0.0%"}),
    }
    if notes:
        sheet = book.add_worksheet("Lisez-moi")
        for r, line in enumerate(notes):
            sheet.write_string(r, 0, line)
        sheet.set_column(0, 0, 100)
    positions: dict[str, list[int]] = {}
    for layout, rows in sheets:
        positions[layout.sheet] = _write_sheet(book, fmt, layout, rows, date_1904)
    book.close()
    return positions


def _write_sheet(
    book: xlsxwriter.Workbook,
    fmt: dict[str, xlsxwriter.format.Format],
    layout: Layout,
    rows: list[SheetRow],
    date_1904: bool,
) -> list[int]:
    sheet = book.add_worksheet(layout.name)
    last_col = len(layout.columns) - 1
    if layout.title:
        sheet.merge_range(0, 0, 0, last_col, layout.title, fmt["title"])
    header = layout.header_row - 1  # 0-based
    for c, col in enumerate(layout.columns):
        if col.key is not None:
            sheet.write_string(header, c, col.header, fmt["header"])
        sheet.set_column(c, c, 3 if col.key is None else max(12, min(len(col.header) + 4, 40)))
    positions: list[int] = []
    r = header + 1
    for index, row in enumerate(rows):
        for c, col in enumerate(layout.columns):
            if col.key is None:
                continue
            cell = row.cells.get(col.key)
            span = row.merge_down.get(col.key, 0)
            if span:
                sheet.merge_range(r, c, r + span, c, None, fmt["merged"])
            _write_cell(sheet, r, c, cell, fmt, date_1904)
        positions.append(r + 1)
        r += 1 + layout.blank_after.count(index)
    sheet.freeze_panes(header + 1, 0)
    return positions


def _write_cell(
    sheet: xlsxwriter.worksheet.Worksheet,
    r: int,
    c: int,
    cell: Cell,
    fmt: dict[str, xlsxwriter.format.Format],
    date_1904: bool,
) -> None:
    if cell is None:
        return
    if isinstance(cell, Formula):
        sheet.write_formula(r, c, cell.formula, None, cell.value)
    elif isinstance(cell, Serial):
        sheet.write_number(r, c, excel_serial(cell.date, date_1904))
    elif isinstance(cell, Percent):
        sheet.write_number(r, c, cell.value, fmt[cell.num_format])
    elif isinstance(cell, bool):
        sheet.write_boolean(r, c, cell)
    elif isinstance(cell, dt.date):
        sheet.write_datetime(r, c, dt.datetime.combine(cell, dt.time()), fmt["date"])
    elif isinstance(cell, int | float):
        sheet.write_number(r, c, cell)
    else:
        sheet.write_string(r, c, cell, fmt["text"] if cell[:1].isdigit() else None)


# ---------------------------------------------------------------------------- CSV


def csv_text(cell: Cell, *, iso_dates: bool = False) -> str:
    """Return a plainly typed cell as CSV text (dates dd/mm/yyyy, decimal comma)."""
    if cell is None:
        return ""
    if isinstance(cell, dt.date):
        return f"{cell:%Y-%m-%d}" if iso_dates else f"{cell:%d/%m/%Y}"
    if isinstance(cell, float):
        return f"{cell:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return str(cell)


def write_csv_folder(
    folder: Path,
    sheets: Sequence[tuple[Layout, list[SheetRow]]],
    *,
    encoding: str,
    delimiter: str,
    canonical_headers: bool = False,
    iso_dates: bool = False,
) -> None:
    """Write the four sheets as ``<folder>/<sheet>.csv``, header on the first line.

    Args:
        folder: the delivery's folder (``prf_<year>_<yyyymmdd>``).
        sheets: each sheet's layout (for its columns) and plainly typed rows.
        encoding: ``cp1252`` or ``utf-8-sig``.
        delimiter: ``;`` or ``,``.
        canonical_headers: write canonical column names instead of the layout's headers.
        iso_dates: write dates as yyyy-mm-dd instead of dd/mm/yyyy.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for layout, rows in sheets:
        columns = [c for c in layout.columns if c.key is not None]
        with (folder / f"{layout.sheet}.csv").open("w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
            writer.writerow([c.key if canonical_headers else c.header.strip() for c in columns])
            for row in rows:
                writer.writerow(
                    [csv_text(row.cells.get(str(c.key)), iso_dates=iso_dates) for c in columns]
                )


# ============================================================================ the messy file

MESSY_DATE = "10/02/2025"

# fmt: off
#: Valid lots of the messy file (PCA2025_7 is the one whose actions exceed its places).
MESSY_LOTS: tuple[LotRef, ...] = (
    LotRef("PSS", 1, "Bassin de Nantes", 3012, "3012 Nantes | 3012 Saint-Nazaire", 5, True),
    LotRef("PSS", 3, "Bassin d’Angers", 75, "75 Angers | 20194 Trélazé", 5, True),
    LotRef("PSS", 6, "Bassin du Mans", 12004, "12004 Le Mans", 5, True),
    LotRef("PE", 10, "Vendée", 4120, "4120 La Roche-sur-Yon | 4120 Challans", 5),
    LotRef("PE", 12, "Loire-Atlantique", 386, "386 Nantes | 386 Rezé | 20140 Rezé", 5),
    LotRef("PAS", 1, "Bassin de Nantes", 9105, "9105 Nantes | 9105 Rezé", 5),
    LotRef("PAS", 2, "Bassin d’Angers", 11230, "11230 Angers", 5),
    LotRef("PCA", 1, "Bassin de Nantes", 9105, "9105 Nantes | 20140 Rezé", 5),
    LotRef("PCA", 5, "Mayenne", 2285, "2285 Laval | 2285 Mayenne | 20101 Laval", 5),
    LotRef("1E1F", 3, "Loire-Atlantique", 10457, "10457 Saint-Herblain", 5, True,
           "Industrie", INDUSTRIE),
    LotRef("1E1F", 12, "Sarthe", 13577, "13577 Allonnes", 5, False,
           "Logistique et transport", LOGISTIQUE),
    LotRef("PCA", 7, "Bassins de Challans et des Herbiers", 14862,
           "14862 Challans | 14862 Les Herbiers", 3),
)
OVERBOOKED = "PCA2025_7"

#: Lots of the messy file that carry a defect, by defect: the valid lot they start from, with
#: the number of actions it has (0 to 1; they are rejected with ``lot-rejete``).
MESSY_BAD_LOTS: dict[str, LotRef] = {
    "format": LotRef("PSS", 9, "Bassin de Saumur", 2264, "2264 Saumur", 1),
    "annee": LotRef("PE", 3, "Mayenne", 6088, "6088 Laval", 1),
    "programme": LotRef("PCA", 8, "Sarthe", 2270, "2270 Le Mans", 1),
    "mandataire": LotRef("PAS", 8, "Bassin de Laval", 20101, "20101 Laval", 1),
    "places-texte": LotRef("PCA", 2, "Bassin de Saint-Nazaire", 3012, "3012 Saint-Nazaire", 1),
    "places-negatives": LotRef("PCA", 3, "Bassin d’Angers", 2264, "2264 Angers", 1),
    "date": LotRef("PSS", 4, "Bassin de Cholet", 2264, "2264 Cholet", 1),
    "dates": LotRef("PE", 5, "Maine-et-Loire", 7340, "7340 Angers", 0),
    "forfait": LotRef("1E1F", 7, "Maine-et-Loire", 10457, "10457 Angers", 1, False, "BTP", BTP),
    "intitule": LotRef("PAS", 5, "Bassin de La Roche-sur-Yon", 10457, "10457 La Roche-sur-Yon", 0),
    "doublon": LotRef("1E1F", 15, "Vendée", 14862, "14862 Les Herbiers", 1, False, "Services",
                      SERVICES),
}

#: Organisations of the messy file only, one per defect (no valid row uses them).
MESSY_BAD_ORGS: tuple[OrgRef, ...] = (
    OrgRef(20201, "Formation Estuaire Compétences", "formateur", ("Saint-Nazaire",)),
    OrgRef(20202, "Atelier des savoirs de Mayenne", "formateur", ("Mayenne",)),
    OrgRef(20203, "Horizons Métiers Sarthe", "formateur", ("La Flèche",)),
    OrgRef(20204, "Institut ligérien des métiers du soin", "formateur", ("Saumur",)),
    OrgRef(20205, "Compétences partagées Loire", "formateur", ("Nantes",)),
    OrgRef(20207, "Solidarités Emploi Challans", "formateur", ("Challans",)),
    OrgRef(20208, "Cap Emploi Formation Vendée", "formateur", ("Les Sables-d'Olonne",)),
)
# fmt: on

#: An action title of exactly 300 characters (the limit is 255).
LONG_TITLE = (
    "PREPA Avenir Sup – Préparation à l’entrée en formation qualifiante des métiers du soin, "
    "du travail social et de l’animation, avec remise à niveau en français, mathématiques et "
    "biologie, découverte des établissements partenaires, stages d’observation en structures et "
    "accompagnement renforcé au projet professionnel de chaque stagiaire, en entrées et sorties "
    "permanentes"
)[:300]


def build_messy() -> dict[str, list[SheetRow]]:
    """Build the messy extraction: valid rows plus rows carrying one known defect each.

    Returns:
        The rows of each sheet, in sheet order, each with the rejects it must get.
    """
    rng = random.Random(SEED + 210)
    sirets = SiretFactory(random.Random(SEED))  # same SIRETs as the clean file for the same sites
    build_organismes(MANDATAIRES + PARTENAIRES, sirets)
    used = {of for ref in MESSY_LOTS + tuple(MESSY_BAD_LOTS.values()) for of, _ in ref.site_list}
    used |= {ref.mandataire for ref in MESSY_LOTS + tuple(MESSY_BAD_LOTS.values())}
    refs = [r for r in MANDATAIRES + PARTENAIRES if r.of_cr in used]
    organismes, sites = build_organismes(refs, sirets)
    bad_orgs, bad_sites = build_organismes(list(MESSY_BAD_ORGS), sirets)
    taux = {ref.of_cr: ref.taux_tva for ref in refs}

    lots: list[Lot] = []
    actions: list[Action] = []
    next_id = 150001
    for ref in MESSY_LOTS + tuple(MESSY_BAD_LOTS.values()):
        if ref.n_actions == 0:
            ref = replace(ref, n_actions=1)
            lot, _ = build_lot(ref, sites, taux, rng, next_id)
            lot_actions: list[Action] = []
        else:
            lot, lot_actions = build_lot(ref, sites, taux, rng, next_id)
        lots.append(lot)
        actions.extend(lot_actions)
        next_id += 10
    valid = Extraction(build_programmes(), organismes, lots[: len(MESSY_LOTS)], [])
    valid.actions = [a for a in actions if a.numero_lot in {lot.numero_lot for lot in valid.lots}]
    overbooked = valid.lot(OVERBOOKED)
    overbooked.nb_places = sum(a.nb_places for a in valid.actions_of(OVERBOOKED)) - 3

    rows = {
        "programmes": [SheetRow(programme_cells(p)) for p in build_programmes()],
        "organismes": [SheetRow(organisme_cells(o)) for o in organismes + bad_orgs],
        "lots": [SheetRow(lot_cells(lot)) for lot in lots],
        "actions": [SheetRow(action_cells(a)) for a in actions],
    }
    _messy_organismes(rows["organismes"], organismes + bad_orgs)
    _messy_lots(rows["lots"], rows["actions"], lots)
    _messy_actions(rows["actions"], actions, sirets, bad_sites[20205, "Nantes"])
    for row in rows["actions"]:
        if row.cells["numero_lot"] == OVERBOOKED:
            asked = sum(a.nb_places for a in valid.actions_of(OVERBOOKED))
            row.rejects.append(
                (
                    "nb_places",
                    "places-lot-depassees",
                    f"its lot {OVERBOOKED} (accepted) has {overbooked.nb_places} places, "
                    f"its actions ask {asked}",
                )
            )
    # every valid lot keeps room for all its actions, rejected ones included
    for lot in valid.lots:
        if lot.numero_lot != OVERBOOKED:
            assert _room(valid, lot.numero_lot) >= 0
    # one defect per row: the expected tuples are exact
    assert all(len(row.rejects) <= 1 for sheet in rows.values() for row in sheet)
    _order_messy(rows)
    return rows


_KEEP = object()


def _reject(row: SheetRow, column: str, reason: str, what: str, value: object = _KEEP) -> None:
    """Give ``row`` its defect: set the cell (unless ``value`` is omitted) and expect a reject.

    Args:
        row: the row to spoil.
        column: canonical column the validator reports.
        reason: the reason code it gives.
        what: what is wrong, in words, for the README.
        value: the cell as written (omitted: the cell is left as it is).
    """
    if value is not _KEEP:
        row.cells[column] = value  # type: ignore[assignment]
    row.rejects.append((column, reason, what))


def _messy_organismes(rows: list[SheetRow], organismes: list[Organisme]) -> None:
    """Put one defect on each organisme of ``MESSY_BAD_ORGS``, and an NDA defect on a site of 3012.

    Args:
        rows: the Organismes rows, in the order of ``organismes`` (a copy is appended).
        organismes: the content of each row.
    """
    pairs = list(zip(organismes, rows, strict=True))
    row = {o.of_cr: r for o, r in pairs if o.of_cr >= 20201}  # one site each

    def siret(of_cr: int) -> str:
        return str(row[of_cr].cells["siret"])

    sci = f"{float(siret(20201)):.5E}"  # as Excel shows 14 digits: 1.23456E+13
    _reject(row[20201], "siret", "siret-notation-scientifique", f"SIRET « {sci} » (text)", sci)
    letter = siret(20202)[:8] + "A" + siret(20202)[9:]
    _reject(row[20202], "siret", "siret-format", f"SIRET with a letter « {letter} »", letter)
    fifteen = siret(20203) + "7"
    _reject(row[20203], "siret", "siret-format", f"SIRET of 15 digits « {fifteen} »", fifteen)
    wrong = siret(20204)[:-1] + str((int(siret(20204)[-1]) + 1) % 10)
    assert not stdnum_siret.is_valid(wrong)
    _reject(row[20204], "siret", "siret-invalide", f"SIRET « {wrong} »: wrong Luhn key", wrong)
    _reject(row[20205], "role", "valeur-non-autorisee", "role « chef de file »", "chef de file")
    _reject(row[20207], "raison_sociale", "valeur-manquante", "raison sociale blank", None)
    copy = SheetRow(dict(row[20208].cells))  # the same (of_cr, siret), appended by hand
    copy.cells["raison_sociale"] = "Cap Emploi Formation Vendée – antenne des Sables"
    rows.append(copy)
    for dup in (row[20208], copy):
        _reject(dup, "siret", "cle-dupliquee", f"(20208, {siret(20208)}) on two rows")
    # a second establishment of mandataire 3012, used by no action: 3012 keeps valid rows
    nda = next(r for o, r in pairs if o.of_cr == 3012 and o.commune == "Châteaubriant")
    _reject(
        nda, "numero_activite", "format-invalide", "NDA « 5244012345 » (10 digits)", "5244012345"
    )


def _messy_lots(rows: list[SheetRow], action_rows: list[SheetRow], lots: list[Lot]) -> None:
    """Put one defect on each lot of ``MESSY_BAD_LOTS``; their actions get ``lot-rejete``.

    Args:
        rows: the Lots rows, in the order of ``lots`` (a copy is appended).
        action_rows: the Actions rows.
        lots: the content of each lot row.
    """
    by_numero = {lot.numero_lot: row for lot, row in zip(lots, rows, strict=True)}
    bad = {key: by_numero[ref.numero()] for key, ref in MESSY_BAD_LOTS.items()}

    def renumber(row: SheetRow, numero: str) -> None:
        old = row.cells["numero_lot"]
        row.cells["numero_lot"] = numero
        for action in action_rows:
            if action.cells["numero_lot"] == old:
                action.cells["numero_lot"] = numero

    renumber(bad["format"], "PSS-2025-9")
    _reject(bad["format"], "numero_lot", "format-numero-lot", "lot number « PSS-2025-9 »")
    renumber(bad["annee"], "PE2024_3")
    bad["annee"].cells["date_debut_prevue"] = dt.date(2024, 3, 4)
    bad["annee"].cells["date_fin_prevue"] = dt.date(2024, 11, 29)
    for action in action_rows:  # its action is of 2024 too
        if action.cells["numero_lot"] == "PE2024_3":
            action.cells["date_debut_prevue"] = dt.date(2024, 4, 8)
            action.cells["date_fin_prevue"] = dt.date(2024, 6, 28)
    _reject(bad["annee"], "numero_lot", "annee-lot", "a lot of 2024 in the 2025 file")
    renumber(bad["programme"], "XYZ2025_1")
    _reject(bad["programme"], "code_programme", "programme-inconnu", "programme « XYZ »", "XYZ")
    _reject(
        bad["mandataire"],
        "of_mandataire_cr",
        "mandataire-inconnu",
        "of_mandataire_cr 20101 is only a cotraitant",
    )
    _reject(bad["places-texte"], "nb_places", "type-invalide", "nb_places « douze »", "douze")
    _reject(bad["places-negatives"], "nb_places", "valeur-negative", "nb_places -5", -5)
    _reject(bad["date"], "date_debut_prevue", "date-invalide", "date « 31/02/2025 »", "31/02/2025")
    bad["dates"].cells["date_debut_prevue"] = dt.date(YEAR, 9, 1)
    _reject(
        bad["dates"],
        "date_fin_prevue",
        "date-fin-avant-debut",
        "ends 28/03/2025, starts 01/09/2025",
        dt.date(YEAR, 3, 28),
    )
    _reject(
        bad["forfait"],
        "forfait_recrutement",
        "booleen-invalide",
        "forfait « peut-être »",
        "peut-être",
    )
    _reject(bad["intitule"], "intitule_lot", "valeur-manquante", "intitulé du lot blank", None)
    copy = SheetRow(dict(bad["doublon"].cells))
    copy.cells["nb_places"] = int(str(copy.cells["nb_places"])) + 6
    copy.cells["intitule_lot"] = str(copy.cells["intitule_lot"]) + " (avenant)"
    rows.append(copy)
    for row in (bad["doublon"], copy):
        _reject(row, "numero_lot", "cle-dupliquee", "the same numero_lot on two rows")
    bad_numeros = {str(row.cells["numero_lot"]) for row in bad.values()}
    for action in action_rows:
        if action.cells["numero_lot"] in bad_numeros:
            numero = action.cells["numero_lot"]
            _reject(action, "numero_lot", "lot-rejete", f"its lot {numero} is rejected")


def _messy_actions(
    rows: list[SheetRow],
    actions: list[Action],
    sirets: SiretFactory,
    role_siret: str,
) -> None:
    """Put one defect on chosen actions of valid lots (never of the overbooked lot).

    Args:
        rows: the Actions rows, in the order of ``actions``.
        actions: the content of each action row.
        sirets: where to draw a valid SIRET absent from Organismes.
        role_siret: the SIRET whose only Organismes row has a bad role.
    """
    by_lot: dict[str, list[SheetRow]] = defaultdict(list)
    for action, row in zip(actions, rows, strict=True):
        by_lot[action.numero_lot].append(row)

    def pick(numero: str, k: int) -> SheetRow:
        row = by_lot[numero][k]
        assert not row.rejects
        return row

    first = pick("PSS2025_1", 1)
    dup = pick("PE2025_10", 2)
    dup.cells["id_action_cr"] = first.cells["id_action_cr"]
    for row in (first, dup):
        _reject(
            row,
            "id_action_cr",
            "cle-dupliquee",
            f"id_action_cr {first.cells['id_action_cr']} twice",
        )
    _reject(
        pick("PAS2025_2", 0),
        "numero_lot",
        "lot-inconnu",
        "lot PAS2025_99 not in Lots",
        "PAS2025_99",
    )
    _reject(
        pick("PE2025_12", 1),
        "of_mandataire_cr",
        "mandataire-different",
        "of_mandataire_cr 4120, the lot's is 386",
        4120,
    )
    _reject(
        pick("PCA2025_5", 2),
        "siret_formateur",
        "formateur-inconnu",
        "valid SIRET absent from Organismes",
        sirets.stray(),
    )
    row = pick("PCA2025_1", 3)
    row.cells["code_postal"], row.cells["commune"] = "44000", "Nantes"
    _reject(
        row,
        "siret_formateur",
        "formateur-rejete",
        "the SIRET's only Organismes row (role « chef de file ») is rejected",
        role_siret,
    )
    row = pick("1E1F2025_3", 1)
    sci = f"{float(str(row.cells['siret_formateur'])):.5E}"
    _reject(row, "siret_formateur", "siret-notation-scientifique", f"SIRET « {sci} » (text)", sci)
    assert len(LONG_TITLE) == 300
    _reject(
        pick("PAS2025_1", 2), "intitule", "longueur-max", "intitulé of 300 characters", LONG_TITLE
    )
    row = pick("PSS2025_1", 3)
    row.cells["commune"] = "Nantes"
    _reject(row, "code_postal", "format-invalide", "code postal « 4400 » typed as text", "4400")
    _reject(pick("PSS2025_6", 1), "commune", "valeur-manquante", "commune blank", None)
    _reject(pick("PE2025_10", 4), "nb_places", "valeur-negative", "nb_places 0", 0)
    _reject(pick("1E1F2025_12", 2), "taux_tva", "valeur-non-autorisee", "taux_tva 7", 7)
    _reject(
        pick("PSS2025_3", 2), "duree_centre_h", "type-invalide", "durée « beaucoup »", "beaucoup"
    )
    row = pick("PAS2025_1", 4)
    row.cells["date_debut_prevue"] = dt.date(YEAR, 6, 2)
    _reject(
        row,
        "date_fin_prevue",
        "date-fin-avant-debut",
        "ends 16/05/2025, starts 02/06/2025",
        dt.date(YEAR, 5, 16),
    )
    row = pick("PCA2025_1", 0)
    _reject(row, "date_debut_prevue", "date-invalide", "date « 2025-13-01 »", "2025-13-01")


def _order_messy(rows: dict[str, list[SheetRow]]) -> None:
    """Order the messy rows as the Région would: lots by programme then number, actions by lot.

    The copies of duplicated rows stay last, as a line appended by hand.
    """
    rank = {code: i for i, code in enumerate(PROGRAMMES)}

    def lot_key(row: SheetRow) -> tuple[int, int, str]:
        numero = str(row.cells["numero_lot"])
        digits = re.findall(r"\d+", numero)
        return rank.get(str(row.cells["code_programme"]), 99), int(digits[-1]), numero

    lots = rows["lots"]
    copy = lots.pop()
    lots.sort(key=lot_key)
    lots.append(copy)
    position = {str(r.cells["numero_lot"]): i for i, r in enumerate(lots)}
    rows["actions"].sort(
        key=lambda r: (position.get(str(r.cells["numero_lot"]), 999), r.cells["id_action_cr"])
    )


# ============================================================================ READMEs


def expected_rejects(
    rows: dict[str, list[SheetRow]], positions: dict[str, list[int]]
) -> list[tuple[str, int, str, str, str]]:
    """Return ``(sheet, row, column, reason, what)`` for every expected reject, in report order.

    ``lot-rejete`` rejects say on which row(s) of Lots their lot is.
    """
    lot_rows: dict[str, list[str]] = defaultdict(list)
    for row, excel_row in zip(rows["lots"], positions["lots"], strict=True):
        lot_rows[str(row.cells["numero_lot"])].append(str(excel_row))
    out = []
    for sheet in ("programmes", "organismes", "lots", "actions"):
        for row, excel_row in zip(rows[sheet], positions[sheet], strict=True):
            for column, reason, what in row.rejects:
                if reason == "lot-rejete":
                    where = " and ".join(lot_rows[str(row.cells["numero_lot"])])
                    what = f"{what} (lots row {where})"
                out.append((sheet, excel_row, column, reason, what))
    return sorted(
        out, key=lambda t: (("programmes", "organismes", "lots", "actions").index(t[0]), t[1], t[2])
    )


def write_messy_outputs(rows: dict[str, list[SheetRow]], positions: dict[str, list[int]]) -> None:
    """Write ``messy/expected_rejects.csv`` and ``messy/README.md``."""
    rejects = expected_rejects(rows, positions)
    folder = HERE / "messy"
    with (folder / "expected_rejects.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["sheet", "row", "column", "reason"])
        writer.writerows(r[:4] for r in rejects)
    counts = {s: len(rows[s]) for s in rows}
    rejected = {s: len({r[1] for r in rejects if r[0] == s}) for s in rows}
    lines = [
        "# Messy extraction: `prf_2025_20250210.xlsx`",
        "",
        "Generated by `data/samples/make_samples.py` — do not edit by hand.",
        "",
        "A 2025 extraction whose rows are valid except the ones below, each carrying exactly one",
        "known defect (plus the cascades: actions of a rejected lot get `lot-rejete`, every",
        "action of an overbooked lot gets `places-lot-depassees` while the lot stays).",
        "`expected_rejects.csv` lists the exact `(sheet, row, column, reason)` the validator must",
        "report, `row` being the row number as Excel shows it (title and blank rows counted).",
        "",
        "| sheet | rows | rejected rows | accepted rows |",
        "|---|---|---|---|",
    ]
    for s in ("programmes", "organismes", "lots", "actions"):
        lines.append(f"| {s} | {counts[s]} | {rejected[s]} | {counts[s] - rejected[s]} |")
    lines += [
        "",
        "Layout: `Organismes` has a title row (header on row 2); `Lots 2025` and `Actions PRF`",
        "have a title row and a blank row (header on row 3); `Actions PRF` also has blank rows",
        "inside the data, so its row numbers jump.",
        "",
        "| sheet | row | column | reason | what is wrong |",
        "|---|---|---|---|---|",
    ]
    for sheet, excel_row, column, reason, what in rejects:
        lines.append(f"| {sheet} | {excel_row} | {column} | {reason} | {what} |")
    lines.append("")
    (folder / "README.md").write_text("\n".join(lines), encoding="utf-8")


def write_readme(
    stats: dict[str, dict[str, int]], changes: list[str], n_rejects: dict[str, int]
) -> None:
    """Write ``data/samples/README.md``."""

    def counts(name: str) -> str:
        c = stats[name]
        return (
            f"{c['programmes']} programmes, {c['lots']} lots, {c['organismes']} organismes "
            f"rows, {c['actions']} actions"
        )

    subset = "a consistent subset as CSV: UTF-8 with BOM, `,`, quoted fields holding commas, "
    table = "\n".join(
        f"| `{name}` | {what} | {outcome} |"
        for name, what, outcome in (
            (
                "prf_2025_20250115.xlsx",
                f"clean extraction of 2025: {counts('clean')}",
                "valid, 0 rejected rows",
            ),
            (
                "prf_2025_20250115/",
                "the same content as CSV: Windows-1252, `;`, dates dd/mm/yyyy, decimal comma, "
                "SIRETs as text",
                "valid, 0 rejected rows, the same frames as the workbook",
            ),
            (
                "csv-utf8/prf_2025_20250116/",
                subset + f"ISO dates, canonical headers: {counts('subset')}",
                "valid, 0 rejected rows",
            ),
            (
                "prf_2025_20250301.xlsx",
                f"later delivery of 2025, **1904 date system**: {counts('later')}",
                "valid, 0 rejected rows; withdraws 1 lot (no mass withdrawal)",
            ),
            (
                "messy/prf_2025_20250210.xlsx",
                f"valid rows plus rows with one known defect each: {counts('messy')}",
                "rows rejected exactly as `messy/expected_rejects.csv` "
                f"({n_rejects['organismes']} organismes, {n_rejects['lots']} lots, "
                f"{n_rejects['actions']} actions tuples)",
            ),
        )
    )
    text = (
        f"""# Sample extractions of the Région (input 1)

Generated by `make_samples.py`; regenerate with, from the project root:

    .venv/bin/python data/samples/make_samples.py

The generator is deterministic (fixed seed, fixed workbook metadata): running it again gives the
same files. **The outputs are committed**: the tests read them, so regenerate and commit them
together with any change to the generator. All organisations, SIRETs, NDAs, e-mails
(`example.org`) and phone numbers (`02 xx 00 00 xx`) are invented but well-formed; SIRETs pass
`stdnum.fr.siret.is_valid` (one La Poste SIRET `356000000…` valid only by La Poste's rule).
Communes and postal codes are real.

| sample | what it is | expected outcome |
|---|---|---|
{table}

## Benign variations in `prf_2025_20250115.xlsx` (and `prf_2025_20250301.xlsx`)
All must be accepted, none rejects a row:
- sheets `Programmes`, `Organismes`, `Lots {YEAR}`, `Actions PRF` and an extra `Lisez-moi`
  sheet; a title row merged across the columns above the header (`Organismes`: header on row
  2; `Lots {YEAR}`, `Actions PRF`: a blank row too, header on row 3); blank rows inside the data
  of three sheets; an empty column (no header) in `Lots {YEAR}` and `Actions PRF`; unknown
  columns `Observations` and `Commentaire CR`;
- headers by alias or odd spelling: `N° lot`, `Numéro lot CR`, `OF Mandataire CR`, `ID OF CR`,
  `N° SIRET`, `SIRET site de réalisation`, `Intitulé action`, `Commune lieu`, `Nb places
  commandées`, `Nb places dispositif`, `Rôle`, `Année `, `  DATE DEBUT PREVUE`,
  `Date  fin  prévue`, `duree_entreprise_h `, `Durée centre (h)`, `Formacode(s)`, `CP`...;
- SIRETs as text, as numbers (one starting with 0 whose leading zero is lost, in Organismes and
  Actions) and as text with spaces (`123 456 789 00012`);
- dates as real Excel dates, text `dd/mm/yyyy`, `yyyy-mm-dd`, `dd/mm/yy`, bare serial numbers
  (number cells), and `00/00/0000`, `00000000` or blank for absent optional dates;
- amounts as text with a decimal comma and a normal, non-breaking or narrow non-breaking space
  as thousands separator (`12 345,60`); durations `122,5`; a duration as the formula `=35*4`
  and a lot's places as `=SUM(...)` (cached values written); a lot's places as text;
- taux TVA as `20`, `20 %`, `20 %` (non-breaking space), `"20"`, `0.2` and `0.1` shown as
  percentages, `5,5%`, `0 %`, `0`;
- forfait recrutement as `oui`/`non`, `Oui `, `O`/`N`, `x`/blank, `1`/`0` (number and text),
  `VRAI`/`faux` and real TRUE/FALSE cells;
- postal codes as text and as numbers; `id_action_cr` once as text; an `of_mandataire_cr` as
  text with blanks; the lot number `PSS2025_10` written `pss2025_10 ` in one action, another
  lot number with a trailing blank in Lots; a lot number merged over three action rows;
- trailing blanks and non-breaking spaces in text; curly apostrophes (’) and en dashes (–) kept.

## `prf_2025_20250301.xlsx` compared with `prf_2025_20250115.xlsx`
Same programmes and organismes; written with Excel's **1904 date system** (real dates and the
bare serial numbers follow it). Changes:
"""
        + "\n".join(f"- {c}" for c in changes)
        + """

## Messy file
See `messy/README.md` for the table of defects and `messy/expected_rejects.csv` for the exact
tuples.
"""
    )
    (HERE / "README.md").write_text(text, encoding="utf-8")


# ============================================================================ main


def clean_workbook(ext: Extraction, path: Path, label: str, *, date_1904: bool = False) -> None:
    """Write a clean extraction as a workbook with every benign variation.

    Args:
        ext: the content to write.
        path: the ``.xlsx`` to write.
        label: the delivery, for the titles (e.g. ``extraction du 15/01/2025``).
        date_1904: use Excel's 1904 date system.
    """
    rows = plain_rows(ext)
    vary_organismes(rows["organismes"])
    vary_lots(rows["lots"], ext)
    vary_actions(rows["actions"], ext)
    lay = layouts(label, n_actions=len(ext.actions), n_organismes=len(ext.organismes))
    notes = (
        f"Extraction du programme régional de formation {YEAR} – Région Pays de la Loire",
        f"Livraison : {label}. Feuilles : Programmes, Organismes, Lots, Actions.",
        "Les places sont celles des bons de commande ; les dates sont prévisionnelles.",
    )
    write_workbook(
        path,
        [(lay[s], rows[s]) for s in ("programmes", "lots", "organismes", "actions")],
        date_1904=date_1904,
        notes=notes,
    )


def main() -> None:
    """Generate every sample and its README."""
    (HERE / "messy").mkdir(exist_ok=True)
    stats: dict[str, dict[str, int]] = {}

    clean = build_clean()
    check_clean(clean)
    clean_workbook(clean, HERE / "prf_2025_20250115.xlsx", "extraction du 15/01/2025")
    plain = plain_rows(clean)
    lay = layouts("", n_actions=len(clean.actions), n_organismes=len(clean.organismes))
    order = ("programmes", "organismes", "lots", "actions")
    write_csv_folder(
        HERE / "prf_2025_20250115",
        [(lay[s], plain[s]) for s in order],
        encoding="cp1252",
        delimiter=";",
    )
    stats["clean"] = _stats(clean)

    subset = build_subset(clean, ("PSS2025_1", "PSS2025_3", "PE2025_12"), 10)
    check_clean(subset)
    plain = plain_rows(subset)
    write_csv_folder(
        HERE / "csv-utf8" / "prf_2025_20250116",
        [(lay[s], plain[s]) for s in order],
        encoding="utf-8-sig",
        delimiter=",",
        canonical_headers=True,
        iso_dates=True,
    )
    stats["subset"] = _stats(subset)

    later, changes = build_later(clean)
    check_clean(later)
    clean_workbook(
        later, HERE / "prf_2025_20250301.xlsx", "extraction du 01/03/2025", date_1904=True
    )
    stats["later"] = _stats(later)

    rows = build_messy()
    lay = layouts(
        f"extraction du {MESSY_DATE}",
        n_actions=len(rows["actions"]),
        n_organismes=len(rows["organismes"]),
    )
    lay["organismes"] = replace(lay["organismes"], blank_after=())
    lay["lots"] = replace(lay["lots"], blank_after=())
    lay["actions"] = replace(lay["actions"], blank_after=(20, 41))
    positions = write_workbook(
        HERE / "messy" / "prf_2025_20250210.xlsx", [(lay[s], rows[s]) for s in order]
    )
    write_messy_outputs(rows, positions)
    stats["messy"] = {s: len(rows[s]) for s in order}
    n_rejects = Counter(t[0] for t in expected_rejects(rows, positions))
    write_readme(stats, changes, n_rejects)


def _stats(ext: Extraction) -> dict[str, int]:
    return {
        "programmes": len(ext.programmes),
        "organismes": len(ext.organismes),
        "lots": len(ext.lots),
        "actions": len(ext.actions),
    }


if __name__ == "__main__":
    main()
