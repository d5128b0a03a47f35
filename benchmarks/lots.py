"""The rows of a lot: the Région's lot and its actions, with the dates of their sessions.

``build_lot`` turns a :class:`~benchmarks.plan.LotPlan` into the rows of the Lots and Actions
sheets, valid against the contract (places within the lot's, dates in order, SIRETs of the
Organismes sheet, real communes and postal codes). It is a function of the plan and the seed
only, so a lot's rows are rebuilt, identical, for the entries (``benchmarks.entries``).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from functools import cache

from benchmarks.organisations import Etablissement, Organisation
from benchmarks.plan import LotPlan, YearPlan
from benchmarks.reference import DEPARTEMENTS, programmes, secteurs


@dataclass
class ActionRow:
    """An action of the Région (a row of the Actions sheet) and the sessions it will have.

    Attributes:
        sessions: ``(date_debut, date_fin)`` of each session the organisation will enter.
        site: the establishment where it takes place (``siret_formateur``).
        owner: the organisation of that establishment.
        undated: the Région gives no planned dates (``date_*_prevue`` blank in the sheet).
    """

    id_action_cr: int
    numero_lot: str
    of_mandataire_cr: int
    site: Etablissement
    owner: Organisation
    intitule: str
    nb_places: int
    duree_centre_h: float
    duree_entreprise_h: float | None
    date_debut_prevue: dt.date
    date_fin_prevue: dt.date
    montant_ht: float
    taux_tva: float
    sessions: list[tuple[dt.date, dt.date]]
    undated: bool = False


@dataclass
class LotRows:
    """A lot (a row of the Lots sheet) and its actions."""

    plan: LotPlan
    numero_lot: str
    code_programme: str
    intitule_lot: str
    mandataire: Organisation
    territoire: str
    formacodes: tuple[str, ...]
    nb_places: int
    date_debut_prevue: dt.date | None
    date_fin_prevue: dt.date | None
    actions: list[ActionRow] = field(default_factory=list)


@cache
def _first_monday(year: int) -> dt.date:
    """The first Monday on or after 6 January (no session starts on the 1st)."""
    day = dt.date(year, 1, 6)
    return day + dt.timedelta(days=-day.weekday() % 7)


def _last_day(year: int) -> dt.date:
    return dt.date(year, 12, 19)


def build_lot(plan: YearPlan, lot: LotPlan) -> LotRows:
    """Build the rows of a lot: the lot, its actions and their sessions' dates."""
    rng = random.Random(lot.seed)
    ref = programmes()[lot.programme]
    mandataire = plan.pool.organisation(lot.mandataire)
    sites = [(mandataire, e) for e in mandataire.etablissements]
    if lot.partenaire is not None:
        partner = plan.pool.organisation(lot.partenaire)
        sites += [(partner, e) for e in partner.etablissements]
    secteur = secteurs()[lot.secteur]
    titles = secteur.titles if lot.programme == "1E1F" else ref.titles
    numero = plan.numero_lot(lot)
    centre_hours = [h for h in ref.centre_h if float(h).is_integer()]
    company_hours = [h for h in ref.entreprise_h if h is None or float(h).is_integer()]
    actions = []
    offset = 0
    start_site = rng.randrange(len(sites))
    for k, n_sessions in enumerate(lot.sessions):
        owner, site = sites[(start_site + k) % len(sites)]
        places = rng.randint(*ref.places)
        centre = float(rng.choice(centre_hours))
        entreprise = rng.choice(company_hours)
        weeks = math.ceil((centre + (entreprise or 0)) / 35)
        stagger = rng.choice((4, 6, 8))
        span = 7 * (weeks + stagger * (n_sessions - 1)) - 3
        last_start = (_last_day(plan.year) - _first_monday(plan.year)).days - span
        assert last_start >= 0, (numero, weeks, n_sessions)
        start = _first_monday(plan.year) + dt.timedelta(weeks=rng.randint(0, last_start // 7))
        sessions = []
        for number in range(n_sessions):
            begin = start + dt.timedelta(weeks=number * stagger)
            sessions.append((begin, begin + dt.timedelta(days=7 * weeks - 3)))
        actions.append(
            ActionRow(
                id_action_cr=lot.first_id + offset,
                numero_lot=numero,
                of_mandataire_cr=mandataire.of_cr,
                site=site,
                owner=owner,
                intitule=titles[(k + lot.number) % len(titles)],
                nb_places=places,
                duree_centre_h=centre,
                duree_entreprise_h=None if entreprise is None else float(entreprise),
                date_debut_prevue=sessions[0][0],
                date_fin_prevue=sessions[-1][1],
                montant_ht=round(places * centre * ref.rate * rng.uniform(0.93, 1.07), 2),
                taux_tva=owner.taux_tva,
                sessions=sessions,
                undated=lot.programme == "1E1F" and not lot.forfait and rng.random() < 1 / 6,
            )
        )
        offset += rng.choice((1, 1, 1, 2))
    head = mandataire.etablissements[0].commune
    if rng.random() < 0.5:
        territoire = f"Bassin {_de(head.name)}"
    else:
        territoire = DEPARTEMENTS[mandataire.departement]
    dated = [a for a in actions if not a.undated]
    known = bool(dated) and rng.random() > 0.1
    return LotRows(
        plan=lot,
        numero_lot=numero,
        code_programme=lot.programme,
        intitule_lot=_intitule_lot(lot, territoire, secteur.name),
        mandataire=mandataire,
        territoire=territoire,
        formacodes=secteur.formacodes if lot.programme == "1E1F" else tuple(ref.formacodes),
        nb_places=sum(a.nb_places for a in actions) + rng.choice((0, 0, 2, 4, 5, 8, 10)),
        date_debut_prevue=min(a.date_debut_prevue for a in dated) if known else None,
        date_fin_prevue=max(a.date_fin_prevue for a in dated) if known else None,
        actions=actions,
    )


def _de(name: str) -> str:
    """« de » before a commune's name, as French writes it (du Mans, des Herbiers, d’Angers)."""
    if name.startswith("Le "):
        return f"du {name[3:]}"
    if name.startswith("Les "):
        return f"des {name[4:]}"
    if name[0] in "AEIOUYÉÈÊH":
        return f"d’{name}"
    return f"de {name}"


def _intitule_lot(lot: LotPlan, territoire: str, secteur: str) -> str:
    if lot.programme == "PSS":
        return f"Prépa sanitaire et social – {territoire}"
    if lot.programme == "PE":
        return f"Lot {lot.number} - Formations à la création-reprise d’entreprise – {territoire}"
    if lot.programme == "PAS":
        return f"PREPA Avenir Sup – {territoire}"
    if lot.programme == "PCA":
        return f"PREPA Clés Avenir – {territoire}"
    return f"1 emploi = 1 formation – {secteur} – {territoire}"
