"""Matching sheet names and headers as people type them.

Names are compared ignoring case, accents, blanks and punctuation: ``N° lot``, ``numero_lot``
and ``Numéro lot`` normalise alike.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents (``Numéro`` -> ``numero``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=4096)
def normalise_name(text: str) -> str:
    """Reduce a header to letters and digits only (``N° lot`` -> ``nlot``)."""
    return _NON_ALNUM.sub("", fold(text))


def words(text: str) -> list[str]:
    """Split a sheet name into folded words (``Lots_2025`` -> ``["lots", "2025"]``)."""
    return [w for w in _NON_ALNUM.split(fold(text)) if w]


def sheet_matches(actual: str, canonical: str) -> bool:
    """Tell whether a sheet (or CSV file stem) named ``actual`` is the sheet ``canonical``.

    It matches when its words start with the canonical name's words, followed or not by a year
    or other words (``Lots 2025``, ``Actions PRF``, ``lots2025``, ``Informations collectives``).
    """
    parts, target = words(actual), words(canonical)
    if not parts:
        return False
    if parts[: len(target)] == target:
        return True
    joined = "".join(target)
    return re.fullmatch(rf"{re.escape(joined)}(?:(?:19|20)?\d\d)?", parts[0]) is not None


def is_exact_sheet_name(actual: str, canonical: str) -> bool:
    """Tell whether the sheet bears exactly the canonical name (no warning needed)."""
    return words(actual) == words(canonical)
