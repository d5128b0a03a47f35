"""What a year holds, decided before any row is written: its lots, by programme.

Everything is a function of the parameters (sessions, seed, year), so that the same parameters
give the same files, and so that a year does not depend on the other years generated with it.
The plan holds one small record per lot, never the rows: the rows of a lot are rebuilt from its
record when they are written (``benchmarks.lots``), so memory does not grow with the number of
sessions. Each lot has its mandataire and partner (indices in the :class:`Pool`), its number
of actions and the sessions of each, so that the year holds exactly the sessions asked for.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from benchmarks.organisations import Organisation, Pool, rng_for
from benchmarks.reference import PROGRAMME_SHARES, secteurs

#: Sessions per action (weights of 1, 2 and 3 sessions); lots under forfait recrutement: 1.
_SESSIONS_WEIGHTS = (40, 35, 25)
_CODES = tuple(PROGRAMME_SHARES)
#: Smallest sessions count: one lot per programme.
MIN_SESSIONS = len(PROGRAMME_SHARES)
#: Largest sessions count: a year's ``id_action_cr`` stay below the next year's (see
#: :func:`first_id`), even with one session per action.
MAX_SESSIONS = 4_000_000


@dataclass(frozen=True, slots=True)
class LotPlan:
    """One lot of a year, before its rows are built.

    Attributes:
        programme: its programme's code.
        number: the number after the year (``PSS2025_10`` -> 10).
        mandataire: the pool index of its mandataire.
        partenaire: the pool index of its cotraitant or formateur, if any.
        forfait: under forfait recrutement (one session per action, on the planned date).
        sessions: sessions of each of its actions (one byte per action).
        first_id: its first ``id_action_cr``; its actions use ids below ``first_id + 2 * n``.
        secteur: for 1E1F, the index of its trade (``reference.secteurs()``).
        seed: the seed of its rows.
    """

    programme: str
    number: int
    mandataire: int
    partenaire: int | None
    forfait: bool
    sessions: bytes
    first_id: int
    secteur: int
    seed: int

    @property
    def n_actions(self) -> int:
        """How many actions."""
        return len(self.sessions)

    @property
    def n_sessions(self) -> int:
        """How many sessions, all actions together."""
        return sum(self.sessions)


class _Columns:
    """The lots of a plan as compact columns (a few bytes per lot and per action).

    Attributes:
        mandataire, partenaire: pool indices (``-1``: no partner).
        secteur, forfait: the trade's index, forfait recrutement (0 or 1).
        seed: the seed of the lot's rows.
        sizes: actions per lot.
        sessions: sessions per action, all lots one after the other.
    """

    def __init__(self) -> None:
        self.mandataire = array("i")
        self.partenaire = array("i")
        self.secteur = array("B")
        self.forfait = array("B")
        self.seed = array("Q")
        self.sizes = array("B")
        self.sessions = bytearray()

    def append(
        self,
        mandataire: int,
        partenaire: int,
        secteur: int,
        forfait: bool,
        seed: int,
        per_action: list[int],
    ) -> None:
        """Add a lot."""
        self.mandataire.append(mandataire)
        self.partenaire.append(partenaire)
        self.secteur.append(secteur)
        self.forfait.append(forfait)
        self.seed.append(seed)
        self.sizes.append(len(per_action))
        self.sessions.extend(per_action)

    def extend(self, other: _Columns) -> None:
        """Add the lots of ``other`` after these."""
        for name in ("mandataire", "partenaire", "secteur", "forfait", "seed", "sizes"):
            getattr(self, name).extend(getattr(other, name))
        self.sessions.extend(other.sessions)


class Lots(Sequence[LotPlan]):
    """The lots of a year, in the order of the Lots sheet; each built when asked for.

    Args:
        columns: the lots' columns, in order.
        programmes: each lot's programme index (in ``PROGRAMME_SHARES``).
        numbers: each lot's number.
        year: the year (for the ``id_action_cr``).
    """

    def __init__(self, columns: _Columns, programmes: array, numbers: array, year: int) -> None:
        self._columns = columns
        self._programmes = programmes
        self._numbers = numbers
        self._first_action = array("q", [0])
        for size in columns.sizes:
            self._first_action.append(self._first_action[-1] + size)
        self._first_id = first_id(year)

    def __len__(self) -> int:
        return len(self._columns.sizes)

    @overload
    def __getitem__(self, position: int) -> LotPlan: ...

    @overload
    def __getitem__(self, position: slice) -> Sequence[LotPlan]: ...

    def __getitem__(self, position: int | slice) -> LotPlan | Sequence[LotPlan]:
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(position)
        c = self._columns
        begin, end = self._first_action[position], self._first_action[position + 1]
        partenaire = c.partenaire[position]
        return LotPlan(
            programme=_CODES[self._programmes[position]],
            number=self._numbers[position],
            mandataire=c.mandataire[position],
            partenaire=None if partenaire < 0 else partenaire,
            forfait=bool(c.forfait[position]),
            sessions=bytes(c.sessions[begin:end]),
            first_id=self._first_id + 2 * begin,
            secteur=c.secteur[position],
            seed=c.seed[position],
        )

    @property
    def n_actions(self) -> int:
        """How many actions, all lots together."""
        return len(self._columns.sessions)

    @property
    def n_sessions(self) -> int:
        """How many sessions, all lots together."""
        return sum(self._columns.sessions)


@dataclass
class YearPlan:
    """The lots of one year, in the order of the Lots sheet (programme, then number).

    Attributes:
        year: the year.
        pool: the organisations.
        lots: the lots (built one at a time when read).
        by_mandataire: pool index -> positions in ``lots`` of the lots it holds.
        partenaires: pool indices of the partners that are a site of a lot this year.
    """

    year: int
    pool: Pool
    lots: Lots
    by_mandataire: dict[int, array]
    partenaires: set[int]

    def numero_lot(self, lot: LotPlan) -> str:
        """The lot's number, e.g. ``PSS2025_10``."""
        return f"{lot.programme}{self.year}_{lot.number}"

    @property
    def n_actions(self) -> int:
        """How many actions in the year."""
        return self.lots.n_actions

    @property
    def n_sessions(self) -> int:
        """How many sessions in the year (the sessions asked for)."""
        return self.lots.n_sessions

    def organisations(self) -> Iterator[Organisation]:
        """The organisations of the year's Organismes sheet, by pool index: the mandataires
        holding a lot and the partners that are a site of one."""
        for index in sorted(set(self.by_mandataire) | self.partenaires):
            yield self.pool.organisation(index)


def first_id(year: int) -> int:
    """The first ``id_action_cr`` of a year: ids never collide between years (9 digits)."""
    return (year - 2000) * 10_000_000 + 1_000_001


def check_sessions(sessions: int) -> None:
    """Check the sessions asked for a year.

    Raises:
        ValueError: fewer than one per programme, or more than :data:`MAX_SESSIONS`.
    """
    if sessions < MIN_SESSIONS:
        raise ValueError(
            f"Au moins {MIN_SESSIONS} sessions par année : une par programme ({sessions} demandées)."
        )
    if sessions > MAX_SESSIONS:
        raise ValueError(f"Au plus {MAX_SESSIONS} sessions par année ({sessions} demandées).")


def plan_year(pool: Pool, year: int, sessions: int) -> YearPlan:
    """Plan the lots of ``year`` holding exactly ``sessions`` sessions.

    The first five lots are one of each programme; the others are drawn by programme share.
    A lot has 3 to 10 actions (the last lots fewer, to end on the exact count); an action has
    1 to 3 sessions, one in a lot under forfait recrutement.

    Raises:
        ValueError: see :func:`check_sessions`.
    """
    check_sessions(sessions)
    rng = rng_for(pool.seed, sessions, year, "plan")
    weights = list(PROGRAMME_SHARES.values())
    # one bucket per programme, filled in drawing order: the Lots sheet lists them by programme
    buckets = [_Columns() for _ in _CODES]
    remaining, count = sessions, 0
    while remaining > 0:
        programme = count if count < len(_CODES) else rng.choices(range(len(_CODES)), weights)[0]
        # keep a session for each programme still to come
        budget = remaining - max(len(_CODES) - count - 1, 0)
        forfait = rng.random() < (0.4 if _CODES[programme] == "PSS" else 0.2)
        per_action: list[int] = []
        for _ in range(rng.randint(3, 10)):
            wanted = 1 if forfait else rng.choices((1, 2, 3), _SESSIONS_WEIGHTS)[0]
            wanted = min(wanted, budget - sum(per_action))
            if wanted <= 0:
                break
            per_action.append(wanted)
        remaining -= sum(per_action)
        partenaire = pool.draw_partenaire(rng) if rng.random() < 0.35 else -1
        secteur = rng.randrange(len(secteurs()))
        mandataire = pool.draw_mandataire(rng)
        buckets[programme].append(
            mandataire, partenaire, secteur, forfait, rng.getrandbits(48), per_action
        )
        count += 1
    columns, programmes, numbers = _Columns(), array("B"), array("i")
    for programme, bucket in enumerate(buckets):
        columns.extend(bucket)
        programmes.extend([programme] * len(bucket.sizes))
        number = 0
        for _ in bucket.sizes:
            number += rng.choice((1, 1, 1, 2))
            numbers.append(number)
    by_mandataire: dict[int, array] = {}
    for position, mandataire in enumerate(columns.mandataire):
        by_mandataire.setdefault(mandataire, array("i")).append(position)
    partners = {p for p in columns.partenaire if p >= 0}
    return YearPlan(year, pool, Lots(columns, programmes, numbers, year), by_mandataire, partners)
