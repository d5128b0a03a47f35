"""The organisations of the generated years: mandataires, cotraitants and formateurs.

A :class:`Pool` is shared by every year (as the store shares the organismes): the mandataires,
a few big networks (GRETA-CFA, AFPA...) then many smaller ones, and the cotraitants and
formateurs. An organisation's attributes (N° OF, SIRETs, name, sites, contacts) are computed
from its index and the seed, on demand: the pool holds no row, so memory does not grow with the
number of organisations (a bounded cache keeps the last ones asked for). SIRENs and N° OF are
bijections of the index, so they never collide; every SIRET has a valid Luhn key.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache

from stdnum import luhn

from benchmarks.reference import (
    DEPARTEMENTS,
    NETWORKS,
    ORG_KINDS,
    ORG_THEMES,
    PROGRAMME_SHARES,
    Commune,
    communes_by_departement,
    phone_prefix,
    streets,
)
from benchmarks.texts import slug

#: Sessions of a year per mandataire, on average (sets the size of the pool).
SESSIONS_PER_MANDATAIRE = 150
#: Partners (cotraitants, formateurs) per mandataire.
PARTENAIRES_PER_MANDATAIRE = 0.5
#: SIRENs are drawn in [40 000 000, 100 000 000) (8 digits before the key): one per organisation.
_SIREN_LOW, _SIREN_SPAN, _SIREN_STEP = 40_000_000, 60_000_000, 7_654_321
#: N° OF of the Région: 6 digits, one per organisation.
_OF_CR_LOW, _OF_CR_SPAN, _OF_CR_STEP = 100_000, 900_000, 7_919


def rng_for(*parts: object) -> random.Random:
    """A random source seeded by its parts (a string seed: stable across runs and platforms)."""
    return random.Random(":".join(str(p) for p in parts))


@dataclass(frozen=True)
class Etablissement:
    """An establishment (SIRET) of an organisation: a row of the Organismes sheet."""

    siret: str
    commune: Commune
    adresse: str
    email: str
    telephone: str


@dataclass(frozen=True)
class Organisation:
    """An organisation of the pool.

    Attributes:
        index: its index in the pool (mandataires first).
        of_cr: its N° OF of the Région.
        raison_sociale: its name.
        role: ``mandataire``, ``cotraitant`` or ``formateur``.
        role_label: the role as the Région writes it, when not the canonical word.
        departement: where it is established.
        etablissements: its establishments, the first one its head office.
        numero_activite: its NDA (11 digits).
        taux_tva: the VAT rate it invoices.
        domain: its invented web domain (``example.org``).
    """

    index: int
    of_cr: int
    raison_sociale: str
    role: str
    role_label: str | None
    departement: str
    etablissements: tuple[Etablissement, ...]
    numero_activite: str
    taux_tva: float
    domain: str

    @property
    def siret(self) -> str:
        """The head office's SIRET (the one that names its entry files)."""
        return self.etablissements[0].siret


@dataclass(frozen=True, eq=False)  # hashed by identity: a cache key, cheap to hash
class Pool:
    """The organisations of every generated year.

    Attributes:
        seed: the generator's seed.
        n_mandataires: how many mandataires (indices ``0 .. n_mandataires - 1``).
        n_partenaires: how many cotraitants and formateurs (the indices after).
    """

    seed: int
    n_mandataires: int
    n_partenaires: int
    _siren_offset: int = field(repr=False, default=0)
    _of_cr_offset: int = field(repr=False, default=0)
    _weights: tuple[float, ...] = field(repr=False, default=())

    @classmethod
    def for_sessions(cls, sessions: int, seed: int) -> Pool:
        """The pool for years of ``sessions`` sessions each."""
        mandataires = max(len(PROGRAMME_SHARES), math.ceil(sessions / SESSIONS_PER_MANDATAIRE))
        partenaires = max(2, math.ceil(mandataires * PARTENAIRES_PER_MANDATAIRE))
        rng = rng_for(seed, "pool")
        # Zipf-like sizes: a few big networks hold many lots, most organisations a few.
        weights = tuple(itertools.accumulate(1 / (k + 1) ** 0.7 for k in range(mandataires)))
        return cls(
            seed,
            mandataires,
            partenaires,
            rng.randrange(_SIREN_SPAN),
            rng.randrange(_OF_CR_SPAN),
            weights,
        )

    @property
    def size(self) -> int:
        """How many organisations."""
        return self.n_mandataires + self.n_partenaires

    def draw_mandataire(self, rng: random.Random) -> int:
        """A mandataire's index, the big ones more often."""
        return bisect.bisect_right(self._weights, rng.random() * self._weights[-1])

    def draw_partenaire(self, rng: random.Random) -> int:
        """A partner's index (uniform)."""
        return self.n_mandataires + rng.randrange(self.n_partenaires)

    def organisation(self, index: int) -> Organisation:
        """The organisation of ``index`` (computed, cached for the last ones asked)."""
        return _organisation(self, index)

    def siren(self, index: int) -> str:
        """The SIREN of organisation ``index``: unique, with its Luhn key."""
        body = _SIREN_LOW + (self._siren_offset + index * _SIREN_STEP) % _SIREN_SPAN
        return f"{body}{luhn.calc_check_digit(str(body))}"

    def of_cr(self, index: int) -> int:
        """The N° OF of organisation ``index``: unique, 6 digits."""
        return _OF_CR_LOW + (self._of_cr_offset + index * _OF_CR_STEP) % _OF_CR_SPAN


def _siret(siren: str, number: int) -> str:
    nic4 = f"{number * 3 + 1:04d}"
    return siren + nic4 + luhn.calc_check_digit(siren + nic4)


@lru_cache(maxsize=1024)
def _organisation(pool: Pool, index: int) -> Organisation:
    rng = rng_for(pool.seed, "organisation", index)
    departements = tuple(DEPARTEMENTS)
    mandataire = index < pool.n_mandataires
    network = mandataire and index < len(NETWORKS) * len(departements)
    if network:
        departement = departements[index % len(departements)]
        name = f"{NETWORKS[index // len(departements)]} {DEPARTEMENTS[departement]}"
        n_sites = rng.randint(3, 4)
    else:
        departement = rng.choice(departements)
        n_sites = rng.choice((1, 1, 2, 2, 3, 4)) if mandataire else rng.choice((1, 1, 2))
    places = communes_by_departement()[departement]
    sites = rng.sample(places, min(n_sites, len(places)))
    if not network:
        name = f"{rng.choice(ORG_KINDS)} {rng.choice(ORG_THEMES)} {sites[0].name}"
    role, label = "mandataire", None
    if not mandataire:
        role = rng.choice(("cotraitant", "formateur"))
        if role == "formateur" and rng.random() < 0.2:
            label = "Sous-traitant"
    domain = f"{slug(name)[:40].strip('-')}-{index}.example.org"
    siren = pool.siren(index)
    etablissements = []
    for number, commune in enumerate(sites):
        street_number = rng.randint(1, 120)
        etablissements.append(
            Etablissement(
                siret=_siret(siren, number),
                commune=commune,
                adresse=f"{street_number} {rng.choice(streets())}",
                email=f"contact.{slug(commune.name)}@{domain}",
                telephone=f"{phone_prefix(commune.departement)} 00 {number:02d} "
                f"{street_number % 100:02d}",
            )
        )
    taux = rng.choices((0.0, 20.0, 5.5, 10.0), weights=(70, 27, 1, 2))[0]
    return Organisation(
        index=index,
        of_cr=pool.of_cr(index),
        raison_sociale=name,
        role=role,
        role_label=label,
        departement=departement,
        etablissements=tuple(etablissements),
        numero_activite=f"52{departement}{index % 100_000:05d}{departement}",
        taux_tva=taux,
        domain=domain,
    )
