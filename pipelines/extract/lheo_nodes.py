"""Reading values out of one LHEO element: namespaced paths, texts, extras, dates, addresses.

Every value is returned as text, as the file writes it (trimmed), or None when absent: the
shared cell parsers (``pipelines.extract.values``) read them later, as they read a workbook's
cells. Only LHEO conventions are resolved here: the ``-`` placeholder of free texts, the
unknown dates ``00000000``/``99999999`` and the month/year dates ``AAAAMM00``/``AAAA0000``.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from typing import TypeAlias

from lxml import etree

Element: TypeAlias = etree._Element

#: Text meaning « nothing » in LHEO exports (Intercarif writes it in mandatory free texts).
PLACEHOLDERS = frozenset({"-"})
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NAME = re.compile(r"[\s_]+")


class Lheo:
    """Paths and texts in one LHEO namespace.

    Args:
        namespace: ``http://lheo.gouv.fr/2.3`` or ``http://www.lheo.org/2.2``.
    """

    def __init__(self, namespace: str) -> None:
        self.prefix = f"{{{namespace}}}"
        self._paths: dict[str, str] = {}

    def tag(self, name: str) -> str:
        """The qualified tag of ``name``."""
        return self.prefix + name

    def path(self, path: str) -> str:
        """``a/b`` -> ``{ns}a/{ns}b`` (cached: a file uses a few dozen paths)."""
        found = self._paths.get(path)
        if found is None:
            found = self._paths[path] = "/".join(self.prefix + s for s in path.split("/"))
        return found

    def find(self, element: Element, path: str) -> Element | None:
        """The first element at ``path`` under ``element``."""
        return element.find(self.path(path))

    def findall(self, element: Element, path: str) -> list[Element]:
        """Every element at ``path`` under ``element``."""
        return element.findall(self.path(path))

    def text(self, element: Element | None, path: str) -> str | None:
        """The trimmed text of the first element at ``path`` (None if absent or ``-``)."""
        if element is None:
            return None
        found = element.find(self.path(path))
        return text_of(found)

    def texts(self, element: Element | None, path: str) -> list[str]:
        """The texts of every element at ``path`` (absent and ``-`` ones left out)."""
        if element is None:
            return []
        return [t for t in (text_of(e) for e in element.findall(self.path(path))) if t]

    def extras(self, elements: Iterable[Element]) -> dict[str, str]:
        """``extra`` name (folded, see :func:`extra_name`) -> first value, under ``elements``."""
        found: dict[str, str] = {}
        extra = self.tag("extra")
        for element in elements:
            for item in element.iter(extra):
                name, value = extra_name(item.get("info")), text_of(item)
                if name and value is not None:
                    found.setdefault(name, value)
        return found

    def address(self, adresse: Element | None) -> tuple[str | None, str | None, str | None]:
        """``(lines, postal code, town)`` of an ``adresse`` element, lines joined by ``, ``."""
        if adresse is None:
            return None, None, None
        lines = self.texts(adresse, "ligne")
        return (
            ", ".join(lines) or self.text(adresse, "denomination"),
            self.text(adresse, "codepostal"),
            self.text(adresse, "ville"),
        )

    def address_text(self, adresse: Element | None) -> str | None:
        """An address as one line: ``lines, postal code town``."""
        lines, postal, town = self.address(adresse)
        place = " ".join(p for p in (postal, town) if p)
        return ", ".join(p for p in (lines, place) if p) or None


def text_of(element: Element | None) -> str | None:
    """The trimmed text of an element (its descendants' too), None if empty or ``-``."""
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text if text and text not in PLACEHOLDERS else None


def extra_name(info: str | None) -> str:
    """Fold an ``extra/@info`` for matching: lower case, no accents, ``_``/blanks -> ``-``."""
    if not info:
        return ""
    decomposed = unicodedata.normalize("NFKD", info.strip().lower())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NAME.sub("-", bare)


def pick(extras: Iterable[dict[str, str]], names: tuple[str, ...]) -> str | None:
    """The first value of any of ``names`` in ``extras`` (dicts in order of priority)."""
    for found in extras:
        for name in names:
            if name in found:
                return found[name]
    return None


def lheo_date(value: str | None, *, end: bool = False) -> str | None:
    """An LHEO date ``AAAAMMJJ`` for the cell parsers.

    ``00000000`` and ``99999999`` (unknown) give None. A month ``AAAAMM00`` gives its first day,
    or its last when ``end``; a year ``AAAA0000`` its 1 January or 31 December. Anything else
    is returned unchanged (the date parser reports what it cannot read).
    """
    if value is None or value in ("00000000", "99999999"):
        return None
    match = _DATE.match(value)
    if not match:
        return value
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12:
        if month == 0 and day == 0:
            return f"{year:04d}1231" if end else f"{year:04d}0101"
        return value
    if day == 0:
        last = calendar.monthrange(year, month)[1] if year else 31
        return f"{year:04d}{month:02d}{last if end else 1:02d}"
    return value


def digest(*parts: str | None) -> str:
    """A stable reference for an element without ``@numero``: ``lheo-`` + 16 hex digits."""
    joined = "\x1f".join(p or "" for p in parts)
    return "lheo-" + hashlib.sha1(joined.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def numero(element: Element) -> str | None:
    """The element's ``@numero``, trimmed (None if absent or blank)."""
    value = (element.get("numero") or "").strip()
    return value or None
