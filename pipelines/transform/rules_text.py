"""Values as the publication rules see them: empty or not, compared loosely, text without
markup, forbidden contents, dates, and values written the French way in messages.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Collection, Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

#: French thousands separator (espace fine insécable): 3 412.
THOUSANDS = "\u202f"
EMPTY = "non renseigné"
_DASHES = str.maketrans(
    dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-")
)
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc\u00b4\u0060\u2032", "'"))
_BLANKS = re.compile(r"\s+")
# An HTML/XML comment, tag or declaration; a lone « < » (« a < b ») is text.
_TAG = re.compile(r"<!--.*?-->|<[!?/]?[A-Za-z][^<>]*>", re.S)
_FORBIDDEN = {
    "table": re.compile(
        r"<table\b|^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(\|[ \t]*:?-{3,}:?[ \t]*)+\|?[ \t]*$",
        re.I | re.M,
    ),
    "image": re.compile(r"<(img|svg|picture)\b|data:image/|!\[[^\]]*\]\([^)]*\)", re.I),
    "embedded_document": re.compile(
        r"<(object|embed|iframe|video|audio)\b|data:application/", re.I
    ),
}
_CONTENT_NAMES = {
    "table": "un tableau",
    "image": "une image",
    "embedded_document": "un document intégré",
}
_NO_SPACES = re.compile(r"\s+")
# Unicode category Cc is U+0000-U+001F and U+007F-U+009F; tab, line feed and return are text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: How many distinct texts the pure text functions remember: an offer repeats its short texts
#: (blank values, choices); the bound keeps long descriptions from piling up.
_CACHE_SIZE = 4096
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?!\d)")


#: Types whose every value is given (exactly these types, not their subclasses).
_ALWAYS_GIVEN = frozenset({int, bool, date, datetime})


def is_filled(value: Any) -> bool:
    """Tell whether a value is given: not None/NaN, not blank text, not an empty collection.

    ``0`` and ``False`` are given. A mapping (a référent) is given when one of its values is.
    """
    if value is None:
        return False
    kind = type(value)
    if kind is str:  # the usual cases first
        return bool(value.strip())
    if kind in _ALWAYS_GIVEN:
        return True
    if kind.__name__ in ("NaTType", "NAType"):
        return False
    if isinstance(value, float):
        return not math.isnan(value)
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, dict):
        return any(is_filled(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return bool(value)
    return True


def normalise(text: str, ignore: Collection[str] = ()) -> str:
    """Return ``text`` (NFC, surrounding blanks stripped) without what ``ignore`` lists.

    Args:
        text: the text to compare.
        ignore: any of ``case``, ``accents``, ``dashes`` (every dash is ``-``), ``spaces``
            (every blank removed), ``apostrophes`` (every apostrophe is ``'``).
    """
    return _normalise(text, ignore if isinstance(ignore, tuple) else tuple(ignore))


@lru_cache(maxsize=_CACHE_SIZE)
def _normalise(text: str, ignore: tuple[str, ...]) -> str:
    """:func:`normalise`, remembered: the same texts come back in every action."""
    text = unicodedata.normalize("NFC", text).strip()
    if "case" in ignore:
        text = text.casefold()
    if "accents" in ignore:
        decomposed = unicodedata.normalize("NFD", text)
        text = unicodedata.normalize(
            "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
        )
    if "dashes" in ignore:
        text = text.translate(_DASHES)
    if "apostrophes" in ignore:
        text = text.translate(_APOSTROPHES)
    if "spaces" in ignore:
        text = _NO_SPACES.sub("", text)
    return text


LOOSE = ("case", "accents", "dashes", "spaces", "apostrophes")


def visible_text(text: str) -> str:
    """Return the text a reader sees: tags removed, entities decoded, blanks collapsed."""
    return _BLANKS.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def forbidden_contents(text: str, kinds: Iterable[str]) -> list[str]:
    """Return what ``text`` holds among ``kinds``, in French (« un tableau »...)."""
    return list(_forbidden_contents(text, kinds if isinstance(kinds, tuple) else tuple(kinds)))


@lru_cache(maxsize=_CACHE_SIZE)
def _forbidden_contents(text: str, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`forbidden_contents`, remembered."""
    found = []
    for kind in kinds:
        if kind == "control_character":
            if _CONTROL.search(text):
                codes = sorted({f"U+{ord(c):04X}" for c in text if _is_control(c)})
                found.append(f"caractère(s) de contrôle {', '.join(codes)}")
        elif _FORBIDDEN[kind].search(text):
            found.append(_CONTENT_NAMES[kind])
    return tuple(found)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" and char not in "\t\n\r"


def as_date(value: Any) -> date | None:
    """Return a ``date`` from a date, a datetime or a ``yyyy-mm-dd`` text, else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def french_number(number: float) -> str:
    """Write a number the French way: ``3412`` -> ``3 412``, ``12.5`` -> ``12,5``."""
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    return f"{number:,}".replace(",", THOUSANDS).replace(".", ",")


def display(value: Any) -> str:
    """Write a value for a French message (dates dd/mm/yyyy, oui/non, 12,5, lists)."""
    if not is_filled(value):
        return EMPTY
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, int | float):  # codes more often than quantities: no thousands
        return french_number(value).replace(THOUSANDS, "")
    if isinstance(value, set | frozenset):
        return ", ".join(sorted(display(v) for v in value))
    if isinstance(value, list | tuple):
        return ", ".join(display(v) for v in value)
    text = _BLANKS.sub(" ", str(value)).strip()
    return text if len(text) <= 80 else text[:79] + "…"


def quoted_choices(values: Iterable[str]) -> str:
    """Write choices as « a », « b » ou « c »."""
    quoted = [f"« {v} »" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " ou " + quoted[-1]
