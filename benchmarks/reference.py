"""Reference data of the generator: places, programmes, organisations' names.

The programmes (codes, libellés, Formacodes, titles, durations, places) and the first communes
come from the generator of the bundled samples, ``data/samples/make_samples.py``, loaded by
path so that both stay in step; the communes are extended here with more real communes of Pays
de la Loire and their postal codes.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "data" / "samples"


def sample_module(name: str) -> ModuleType:
    """Load a generator of ``data/samples`` (``make_samples``, ``make_entries``) by path.

    The folder is on ``sys.path`` while the module runs, as when it is run as a script (its
    sibling imports resolve); the module is registered in ``sys.modules`` under its own name
    (its dataclasses look it up there) and loaded once.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SAMPLES_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None, name
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    added = str(SAMPLES_DIR) not in sys.path
    if added:
        sys.path.insert(0, str(SAMPLES_DIR))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        if added:
            sys.path.remove(str(SAMPLES_DIR))
    return module


@dataclass(frozen=True)
class Commune:
    """A real commune of Pays de la Loire with its postal code and département."""

    name: str
    code_postal: str
    departement: str


DEPARTEMENTS = {
    "44": "Loire-Atlantique",
    "49": "Maine-et-Loire",
    "53": "Mayenne",
    "72": "Sarthe",
    "85": "Vendée",
}

# fmt: off
#: Communes added to those of the samples (name, postal code): all real, in Pays de la Loire.
_MORE_COMMUNES: tuple[tuple[str, str], ...] = (
    ("Orvault", "44700"), ("Vertou", "44120"), ("Couëron", "44220"), ("Carquefou", "44470"),
    ("La Chapelle-sur-Erdre", "44240"), ("Bouguenais", "44340"),
    ("Saint-Sébastien-sur-Loire", "44230"), ("La Baule-Escoublac", "44500"),
    ("Pornic", "44210"), ("Blain", "44130"), ("Savenay", "44260"), ("Pornichet", "44380"),
    ("Sainte-Luce-sur-Loire", "44980"), ("Basse-Goulaine", "44115"),
    ("Machecoul-Saint-Même", "44270"), ("Nort-sur-Erdre", "44390"), ("Treillières", "44119"),
    ("Saint-Brevin-les-Pins", "44250"), ("Pontchâteau", "44160"), ("Vallet", "44330"),
    ("Trignac", "44570"), ("Donges", "44480"), ("Montoir-de-Bretagne", "44550"),
    ("Saint-Philbert-de-Grand-Lieu", "44310"), ("Nozay", "44170"),
    ("Le Loroux-Bottereau", "44430"), ("Thouaré-sur-Loire", "44470"),
    ("Avrillé", "49240"), ("Les Ponts-de-Cé", "49130"), ("Saint-Barthélemy-d'Anjou", "49124"),
    ("Beaupréau-en-Mauges", "49600"), ("Chemillé-en-Anjou", "49120"),
    ("Doué-en-Anjou", "49700"), ("Baugé-en-Anjou", "49150"), ("Chalonnes-sur-Loire", "49290"),
    ("Longué-Jumelles", "49160"), ("Montreuil-Juigné", "49460"), ("Mauges-sur-Loire", "49410"),
    ("Durtal", "49430"), ("Brissac Loire Aubance", "49320"),
    ("Évron", "53600"), ("Ernée", "53500"), ("Craon", "53400"), ("Saint-Berthevin", "53940"),
    ("Bonchamp-lès-Laval", "53960"), ("Changé", "53810"), ("Gorron", "53120"),
    ("Villaines-la-Juhel", "53700"), ("Meslay-du-Maine", "53170"),
    ("Lassay-les-Châteaux", "53110"),
    ("Coulaines", "72190"), ("Mamers", "72600"), ("Saint-Calais", "72120"), ("Arnage", "72230"),
    ("Écommoy", "72220"), ("Bonnétable", "72110"), ("Sillé-le-Guillaume", "72140"),
    ("Montval-sur-Loir", "72500"), ("Loué", "72540"),
    ("Montaigu-Vendée", "85600"), ("Luçon", "85400"), ("Saint-Gilles-Croix-de-Vie", "85800"),
    ("Aizenay", "85190"), ("Saint-Jean-de-Monts", "85160"), ("Pouzauges", "85700"),
    ("Chantonnay", "85110"), ("Mortagne-sur-Sèvre", "85290"), ("Saint-Hilaire-de-Riez", "85270"),
    ("Noirmoutier-en-l'Île", "85330"), ("La Châtaigneraie", "85120"), ("Les Achards", "85150"),
)
# fmt: on


@cache
def communes() -> tuple[Commune, ...]:
    """Every commune the generator places organisations in (those of the samples first)."""
    found = [
        Commune(c.name, c.code_postal, c.departement)
        for c in sample_module("make_samples").COMMUNES.values()
    ]
    found += [Commune(name, cp, cp[:2]) for name, cp in _MORE_COMMUNES]
    assert len({c.name for c in found}) == len(found), "commune listed twice"
    assert all(c.departement in DEPARTEMENTS and len(c.code_postal) == 5 for c in found)
    return tuple(found)


@cache
def communes_by_departement() -> dict[str, tuple[Commune, ...]]:
    """The communes of each département, in list order."""
    grouped: dict[str, list[Commune]] = {d: [] for d in DEPARTEMENTS}
    for commune in communes():
        grouped[commune.departement].append(commune)
    return {d: tuple(c) for d, c in grouped.items()}


@dataclass(frozen=True)
class Secteur:
    """A trade of the programme 1 emploi = 1 formation: its lots' titles and Formacodes."""

    name: str
    titles: tuple[str, ...]
    formacodes: tuple[str, ...]
    famille_metier: str


_FAMILLES = {
    "Industrie": "Industrie",
    "Bâtiment et travaux publics": "Bâtiment et travaux publics",
    "Logistique et transport": "Transport et logistique",
    "Services à la personne et propreté": "Services à la personne et propreté",
    "Logistique portuaire": "Transport et logistique",
}


@cache
def secteurs() -> tuple[Secteur, ...]:
    """The trades of the 1E1F lots of the samples, with their titles and Formacodes."""
    plan = sample_module("make_samples").LOT_PLAN
    found: dict[str, Secteur] = {}
    for ref in plan:
        if ref.programme == "1E1F" and ref.secteur not in found:
            found[ref.secteur] = Secteur(
                ref.secteur, tuple(ref.titles), tuple(ref.formacodes), _FAMILLES[ref.secteur]
            )
    return tuple(found.values())


@cache
def programmes() -> dict[str, Any]:
    """The five programmes of the Région (``ProgrammeRef`` of the samples), by code."""
    return dict(sample_module("make_samples").PROGRAMMES)


def streets() -> tuple[str, ...]:
    """Street names for the organisations' addresses."""
    return tuple(sample_module("make_samples").STREETS)


def phone_prefix(departement: str) -> str:
    """The fixed-line prefix of a département (``02 40``...)."""
    return str(sample_module("make_samples").PHONE_PREFIX[departement])


#: Words of the organisations' invented names: kind, then theme (a commune ends the name).
ORG_KINDS = (
    "Institut",
    "Centre de formation",
    "Atelier",
    "École",
    "Espace",
    "Maison de la formation",
    "Association",
    "Campus",
    "Académie",
    "Tremplin",
    "Passerelle",
    "Horizon",
    "Alliance",
    "Cap",
)
ORG_THEMES = (
    "Compétences",
    "Formation",
    "Avenir",
    "Métiers",
    "Emploi",
    "Savoirs",
    "Insertion",
    "Santé Social",
    "Entreprendre",
    "Industrie",
)
#: Kinds of the mandataires' names that stand on their own (with the département).
NETWORKS = ("GRETA-CFA", "AFPA", "CCI Formation", "Chambre de métiers", "CNAM")

#: Share of the lots of each programme (percent): PCA and 1E1F are the largest programmes.
PROGRAMME_SHARES = {"PSS": 15, "PE": 13, "PAS": 12, "PCA": 30, "1E1F": 30}
