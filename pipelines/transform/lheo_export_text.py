"""Values of the store written as LHEO wants them: plain text cut to the XSD's lengths on a word
boundary, address lines of 50 characters, ``AAAAMMJJ`` dates, « 9h30 » hours, integers, amounts.

Lengths count characters (code points after NFC normalisation), as the XSD's ``maxLength`` does.
A cut never splits a character from its combining marks, and ends with « … » so readers see the
text goes on. Markup is dropped (HTML tags removed, entities decoded): LHEO texts are plain text.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
ELLIPSIS = "…"
#: Characters XML 1.0 cannot hold (lxml refuses them): C0 controls but tab/newline/CR, and
#: the non-characters U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>|<!--.*?-->", re.S)
_BLOCK_TAGS = frozenset({"br", "p", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4"})
_SPACES = re.compile(r"[^\S\n]+")
#: What :func:`clean` has to work on: markup, entities, controls, any blank but one space.
_NEEDS_WORK = re.compile(r"[<&\x00-\x1f\ufffe\uffff]|[^\S ]|  ")
_NEWLINES = re.compile(r"\s*\n\s*")
_CUT_TRIM = " \t\n,;:-–—"
_PLACE = re.compile(r"^(?P<lignes>.*)[\s,]+(?P<cp>\d{5})\s+(?P<ville>\S.*)$")
_HOUR = re.compile(r"^(\d{1,2})[:hH](\d{2})?$")


def _markup(match: re.Match[str]) -> str:
    name = (match.group(2) or "").lower()
    return "\n" if name in _BLOCK_TAGS else " " if name else ""


def clean(value: Any, *, multiline: bool = False) -> str | None:
    """A store value as plain text: markup removed, entities decoded, blanks collapsed.

    Args:
        value: any value (None gives None).
        multiline: keep line breaks (at most one blank line in a row); else one line.

    Returns:
        The text, NFC-normalised, or None when nothing is left.
    """
    if value is None:
        return None
    if type(value) is str and len(value) <= MEMO_LENGTH:
        return _clean_text(value, multiline)
    return _clean(str(value), multiline)


#: The longest text :func:`clean` remembers (the same texts recur across an offer's actions and
#: sessions); at most :data:`MEMO_SIZE` of them, so memory does not grow with the offer.
MEMO_LENGTH = 4000
MEMO_SIZE = 2048


@lru_cache(maxsize=MEMO_SIZE)
def _clean_text(text: str, multiline: bool) -> str | None:
    return _clean(text, multiline)


def _clean(text: str, multiline: bool) -> str | None:
    if not _NEEDS_WORK.search(text) and unicodedata.is_normalized("NFC", text):
        return text.strip(" ") or None
    if "<" in text:
        text = _TAG.sub(_markup, text)
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFC", _NOT_XML.sub("", text.replace("\r\n", "\n")))
    text = _SPACES.sub(" ", text.replace("\r", "\n"))
    if multiline:
        text = _NEWLINES.sub(_breaks, text)
    else:
        text = _SPACES.sub(" ", text.replace("\n", " "))
    return text.strip() or None


def _breaks(match: re.Match[str]) -> str:
    """Blanks around line breaks -> one break, or two (a paragraph) at most."""
    return "\n" * min(2, match[0].count("\n"))


def _joins(ch: str) -> bool:
    """A character that belongs to the previous one (combining mark, joiner, selector)."""
    return unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch in "\u200d\ufe0e\ufe0f"


def join(first: Any, second: Any, separator: str) -> str | None:
    """Two texts (:func:`clean`, multiline) joined by ``separator``; None when both are empty."""
    parts = (clean(first, multiline=True), clean(second, multiline=True))
    return separator.join(p for p in parts if p) or None


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters on a word boundary, ending with « … » when cut.

    A text without a blank in its first ``limit`` characters (one long word) is cut inside the
    word, but never between a character and its combining marks.
    """
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    blank = max(text.rfind(" ", 0, room + 1), text.rfind("\n", 0, room + 1))
    head = text[:blank].rstrip(_CUT_TRIM) if blank > 0 else ""
    if not head:
        end = room
        while end > 0 and _joins(text[end]):
            end -= 1
        head = text[:end]
    return head + ELLIPSIS


def text(value: Any, limit: int, *, multiline: bool = False) -> str | None:
    """:func:`clean` then :func:`cut` (None when nothing is left)."""
    found = clean(value, multiline=multiline)
    return cut(found, limit) if found else None


def wrap(value: Any, width: int = 50, count: int = 4) -> list[str]:
    """One line of text as at most ``count`` lines of ``width`` characters (address ``ligne``).

    Words are kept whole where they fit; the last line is cut (« … ») when the text is longer.
    """
    found = clean(value)
    lines: list[str] = []
    while found and len(lines) < count - 1 and len(found) > width:
        blank = found.rfind(" ", 0, width + 1)
        end = blank if blank > 0 else width
        while blank <= 0 and end > 0 and _joins(found[end]):
            end -= 1
        lines.append(found[:end].rstrip())
        found = found[end:].lstrip()
    if found:
        lines.append(cut(found, width))
    return lines


def lheo_date(value: Any, *, end: bool = False) -> str:
    """A date as ``AAAAMMJJ``; unknown: ``00000000`` (start) or ``99999999`` (end)."""
    if type(value) is dt.date:
        return _lheo_day(value)
    return _lheo_date(value, end)


@lru_cache(maxsize=4096)
def _lheo_day(value: dt.date) -> str:
    return f"{value:%Y%m%d}"


def _lheo_date(value: Any, end: bool) -> str:
    if isinstance(value, str) and value:
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.date):
        return f"{value:%Y%m%d}"
    return "99999999" if end else "00000000"


def day_of(timestamp: Any) -> str | None:
    """The Paris date (``AAAAMMJJ``) of a store timestamp (ISO text or datetime)."""
    if not timestamp:
        return None
    if isinstance(timestamp, str):
        return _day_of_text(timestamp)
    return _day(timestamp)


@lru_cache(maxsize=4096)
def _day_of_text(timestamp: str) -> str:
    return _day(dt.datetime.fromisoformat(timestamp))


def _day(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(PARIS):%Y%m%d}"


def hour(value: Any) -> str | None:
    """``09:30`` -> ``9h30``, ``14:00`` -> ``14h`` (LHEO's form); None if not an hour."""
    match = _HOUR.match(str(value).strip()) if value else None
    if not match or int(match[1]) > 23:
        return None
    minutes = match[2] or "00"
    return f"{int(match[1])}h" + ("" if minutes == "00" else minutes)


def place(value: Any) -> tuple[str, str, str] | None:
    """``18 rue X, 44800 Saint-Herblain`` -> (lines, postal code, town); None if not so."""
    found = clean(value)
    match = _PLACE.match(found) if found else None
    if not match:
        return None
    return match["lignes"].strip(" ,") or "-", match["cp"], match["ville"].strip()


def integer(value: Any) -> int | None:
    """A number of hours or places as an integer (``xs:long``), rounded half up."""
    if value is None or value == "":
        return None
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def amount(value: Any) -> str | None:
    """An amount in euros with two decimals and a dot (``5835.06``)."""
    if value is None or value == "":
        return None
    return str(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def number(value: Any) -> str | None:
    """A number without a useless ``.0`` (``35``, ``5.5``)."""
    if value is None or value == "":
        return None
    found = Decimal(str(value)).normalize()
    return f"{found:f}"
