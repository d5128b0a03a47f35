"""Store labels -> LHEO codes, the import's tables read in reverse.

The store keeps what people picked (« niveau 3 (CAP, BEP) », « entrée/sortie à dates fixes »),
or a code when the entry came as LHEO (``1``). A value becomes a code by, in order: being a code
of the LHEO table already; the entry template's list (``schemas.lists``, which gives the code of
each label people pick); the labels of the LHEO tables and the SOFI labels
(:func:`pipelines.extract.lheo_tables.code_tables`, the tables the import reads), compared
ignoring case, accents and dashes. Anything else has no code (the caller decides the default).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pipelines.extract.lheo_tables import DICT_PUBLIC, code_tables
from schemas import lists
from schemas.lists import ValueList, fold_label

#: The Formacode version declared in ``@ref`` of every Formacode (domaine, public, pédagogie).
FORMACODE_VERSION = "V13"
#: Public when the dispositif names none a code exists for: « demandeur d'emploi ».
PUBLIC_DEFAUT = "80006"
#: dict-niveaux: the 2019 levels (11 to 18) in LHEO 2.2, which only knows 0 to 8. Décret
#: 2019-14: 3 = V, 4 = IV, 5 = III, 6 = II, 7 and 8 = I; levels 1 and 2 have no former
#: equivalent: « information non communiquée » (the 2019 code goes to an extra).
NIVEAUX_22 = {
    "11": "0",
    "12": "0",
    "13": "4",
    "14": "5",
    "15": "6",
    "16": "7",
    "17": "8",
    "18": "8",
}
#: Formacodes of ``code-modalite-pedagogique`` for the « périodes » and FOAD labels.
PERIODES = lists.PERIODES

_TABLE_LISTS: dict[str, ValueList | None] = {
    "dict-niveaux": lists.NIVEAUX,
    "dict-AIS": lists.OBJECTIFS_GENERAUX,
    "dict-type-parcours": lists.TYPES_PARCOURS,
    "dict-modalites-es": lists.ESP,
    "dict-modalites-enseignement": lists.MODALITES_ENSEIGNEMENT,
    "dict-etat-recrutement": lists.ETATS_RECRUTEMENT,
    "dict-modalite-recrutement": lists.MODALITES_RECRUTEMENT,
    "dict-type-equipement": lists.TYPES_EQUIPEMENT,
    DICT_PUBLIC: lists.PUBLICS,
}


@lru_cache(maxsize=4096)
def _code(table: str, value: str) -> str | None:
    entries = code_tables().get(table, {})
    if value in entries:
        return value
    value_list = _TABLE_LISTS.get(table)
    found = value_list.code_of(value) if value_list is not None else None
    if found is not None:
        return found
    folded = fold_label(value)
    return next((c for c, label in entries.items() if fold_label(label) == folded), None)


def code(table: str, value: Any) -> str | None:
    """The LHEO code of ``value`` (a label or a code) in ``table``; None if it has none."""
    if value is None:
        return None
    found = str(value).strip()
    return _code(table, found) if found else None


def codes(table: str, value: Any, separator: str = ";") -> list[str]:
    """The codes of a cell holding several values (``a;b``), each once, in order."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(separator)
    found = (code(table, item) for item in items)
    return list(dict.fromkeys(c for c in found if c))


def niveau(value: Any, version: str) -> str | None:
    """A level (dict-niveaux) for ``version``: 2019 codes converted for 2.2."""
    found = code("dict-niveaux", value)
    if found is not None and version == "2.2":
        return NIVEAUX_22.get(found, found)
    return found


def publics(value: Any) -> list[str]:
    """Formacodes of the public (at most 10), « demandeur d'emploi » when none is known."""
    return codes(DICT_PUBLIC, value)[:10] or [PUBLIC_DEFAUT]


def modalites_pedagogiques(periodes: Any, modalites: Any) -> list[str]:
    """``code-modalite-pedagogique`` [0,5]: the périodes (9641x), then the modalités that have
    a Formacode (« formation à distance (FOAD) » 96128)."""
    return list(dict.fromkeys(_pedagogie(str(periodes or ""), str(modalites or ""))))[:5]


@lru_cache(maxsize=1024)
def _pedagogie(periodes: str, modalites: str) -> tuple[str, ...]:
    found = [PERIODES.code_of(p) for p in _items(periodes)]
    found += [lists.MODALITES_PEDAGOGIQUES.code_of(m) for m in _items(modalites)]
    return tuple(c for c in found if c)


def _items(value: Any) -> list[str]:
    return [v.strip() for v in str(value).split(";") if v.strip()] if value else []
