"""Normalising cell values as they arrive (the contract's « How it arrives »).

Each parser takes one cell as read (``str``, ``float``, ``int``, ``bool``, ``date``/``datetime``
or None) and returns the normalised value, None when the cell is blank or a placeholder, or
raises :class:`BadValue` with a reason code. Parsers never guess silently: what cannot be read
for sure is refused, with the reason.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

from pipelines.extract.names import fold
from schemas.extraction import ROLE_ALIASES

_SPACES = re.compile(r"[\s\u00a0\u202f\u2007]+")
_NBSP = re.compile(r"[\u00a0\u202f\u2007]")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_PLACEHOLDER_DATE = re.compile(r"^0+(?:[/.-]0+[/.-]0+)?$")
_CODE_SPLIT = re.compile(r"[;,/\s]+")
_EXCEL_EPOCH_1900 = dt.date(1899, 12, 30)
_EXCEL_EPOCH_1904 = dt.date(1904, 1, 1)
_TRUE = frozenset({"oui", "o", "x", "1", "vrai", "true", "yes", "y"})
_FALSE = frozenset({"non", "n", "0", "faux", "false", "no"})


class BadValue(ValueError):
    """A cell that cannot be normalised.

    Attributes:
        reason: the reason code (see ``pipelines.errors.REASONS``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def as_text(value: Any) -> str | None:
    """Render a cell as people typed it (for reports): ``12.0`` -> ``12``, dates as dd/mm/yyyy."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    return text if text.strip() else None


def parse_text(value: Any) -> str | None:
    """Free text: trimmed, non-breaking spaces made ordinary, everything else kept as written."""
    text = as_text(value)
    if text is None:
        return None
    text = _NBSP.sub(" ", text).strip()
    return text or None


def parse_key(value: Any) -> str | None:
    """A key (lot number, programme code): trimmed, stored upper-case."""
    text = parse_text(value)
    return text.upper() if text is not None else None


def parse_postal(value: Any) -> str | None:
    """A postal code: a number that lost its leading zero is padded back to 5 digits."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 0 < value < 100000:
            return f"{int(value):05d}"
    return parse_text(value)


def _compact_number(text: str) -> str:
    """Turn French or English number text into Python's form (``1 234,50`` -> ``1234.50``)."""
    text = _SPACES.sub("", text).removesuffix("€")
    if "," in text and "." in text:
        # the last separator is the decimal one, the other groups thousands
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if text.count(",") > 1:
            raise BadValue("type-invalide")
        text = text.replace(",", ".")
    return text


def parse_number(value: Any) -> float | None:
    """A decimal number: decimal comma, thousands separators and a trailing € accepted."""
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise BadValue("type-invalide")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None
        return float(value)
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        raise BadValue("type-invalide")
    text = parse_text(value)
    if text is None:
        return None
    text = _compact_number(text)
    if not _NUMBER.match(text):
        raise BadValue("type-invalide")
    return float(text)


#: Beyond this a whole number has no place in a typed column (``Int64``) nor in the store.
MAX_INT64 = 2**63 - 1


def parse_int(value: Any) -> int | None:
    """A whole number (``12``, ``12.0``, ``1 200``); ``12,5`` is refused."""
    number = parse_number(value)
    if number is None:
        return None
    if not number.is_integer() or abs(number) > MAX_INT64:
        raise BadValue("type-invalide")
    return int(number)


def parse_percent(value: Any) -> float | None:
    """A rate in percent: ``20``, ``20 %``, ``5,5%`` and Excel's ``0.2`` all give 20 / 5.5."""
    if isinstance(value, str) and "%" in value:
        number = parse_number(value.replace("%", ""))
        return None if number is None else round(number, 6)
    number = parse_number(value)
    if number is None:
        return None
    if 0 < number < 1:
        number *= 100
    return round(number, 6)


def parse_bool(value: Any) -> bool:
    """A yes/no cell: ``oui/non``, ``O/N``, ``x``/blank, ``1/0``, ``vrai/faux``; blank is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return bool(value)
        raise BadValue("booleen-invalide")
    text = parse_text(value)
    if text is None:
        return False
    folded = fold(text)
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise BadValue("booleen-invalide")


def _from_serial(serial: float, date1904: bool) -> dt.date:
    if not 0 < serial < 2958466:
        raise BadValue("date-invalide")
    days = int(serial)
    if date1904:
        return _EXCEL_EPOCH_1904 + dt.timedelta(days=days)
    if days < 60:  # Excel's phantom 29/02/1900
        days += 1
    return _EXCEL_EPOCH_1900 + dt.timedelta(days=days)


def _ymd(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise BadValue("date-invalide") from None


def parse_date(value: Any, date1904: bool = False) -> dt.date | None:
    """A date: Excel date or serial, ``dd/mm/yyyy``, ``dd/mm/yy``, ``yyyy-mm-dd``, ``yyyymmdd``.

    ``00/00/0000``, ``00000000``, 0 and blank mean absent. ``31/02/2025`` is refused.

    Args:
        value: the cell.
        date1904: the workbook uses Excel's 1904 date system (for serial numbers).
    """
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise BadValue("date-invalide")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None
        if value == 0:
            return None
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            digits = str(int(value))
            return _ymd(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        return _from_serial(float(value), date1904)
    if not isinstance(value, str):
        raise BadValue("date-invalide")
    text = parse_text(value)
    if text is None or _PLACEHOLDER_DATE.match(text):
        return None
    if match := _DMY.match(text):
        day, month, year = (int(g) for g in match.groups())
        if len(match[3]) == 2:
            year += 2000
        return _ymd(year, month, day)
    if match := _YMD.match(text):
        return _ymd(int(match[1]), int(match[2]), int(match[3]))
    if text.isdigit() and len(text) == 8:
        return _ymd(int(text[:4]), int(text[4:6]), int(text[6:]))
    if text.isdigit() and len(text) <= 6:
        return _from_serial(float(text), date1904)
    raise BadValue("date-invalide")


def parse_siret(value: Any) -> str | None:
    """A SIRET as 14 digits: lost leading zeros put back, spaces and dots removed.

    Scientific notation (``1.30005E+13``, from a CSV saved by Excel) has lost digits for good:
    it is refused, as are letters and more than 14 digits. The key is checked by the schema.
    """
    if isinstance(value, bool):
        raise BadValue("siret-format")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (math.isnan(value) or not value.is_integer()):
            raise BadValue("siret-format")
        digits = str(int(value))
    else:
        text = parse_text(value)
        if text is None:
            return None
        if _SCIENTIFIC.match(text.replace(" ", "")):
            raise BadValue("siret-notation-scientifique")
        text = text.removesuffix(".0")
        digits = _SPACES.sub("", text).replace(".", "")
    if not digits.isdigit() or len(digits) > 14:
        raise BadValue("siret-format")
    return digits.zfill(14)


def parse_enum(value: Any) -> str | None:
    """An enumeration (the organisme's role): folded, synonyms mapped (sous-traitant)."""
    text = parse_text(value)
    if text is None:
        return None
    folded = re.sub(r"[\s\u2010-\u2015_]+", "-", fold(text))
    return ROLE_ALIASES.get(folded, folded)


def parse_codes(value: Any) -> str | None:
    """A list of codes (Formacodes) separated by ``;`` ``,`` ``/`` or blanks -> ``a;b``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = as_text(value)
    else:
        text = parse_text(value)
    if text is None:
        return None
    codes = list(dict.fromkeys(c for c in _CODE_SPLIT.split(text) if c))
    return ";".join(codes) or None


_TIME = re.compile(r"^(\d{1,2})\s*(?:[:hH]\s*(\d{2})?)?$")
_LIST_SPLIT = re.compile(r"\s*(?:;|\n)\s*")


def parse_time(value: Any) -> str | None:
    """A time of day as ``HH:MM``: ``9:30``, ``09h30``, ``9h``, an Excel time or fraction of day."""
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise BadValue("heure-invalide")
    if isinstance(value, dt.datetime):
        value = value.time()
    if isinstance(value, dt.time):
        return f"{value.hour:02d}:{value.minute:02d}"
    if isinstance(value, float) and 0 <= value < 1:
        minutes = round(value * 24 * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    text = parse_text(value)
    if text is None:
        return None
    match = _TIME.match(text)
    if not match:
        raise BadValue("heure-invalide")
    hour, minute = int(match[1]), int(match[2] or 0)
    if hour > 23 or minute > 59:
        raise BadValue("heure-invalide")
    return f"{hour:02d}:{minute:02d}"


def parse_list(value: Any) -> str | None:
    """Several values in one cell, separated by ``;`` or line breaks -> ``a;b`` (trimmed)."""
    text = parse_text(value)
    if text is None:
        return None
    items = list(dict.fromkeys(i for i in _LIST_SPLIT.split(text) if i))
    return ";".join(items) or None


#: parser of each column kind (``schemas.extraction.Kind``); dates also take ``date1904``.
PARSERS: dict[str, Callable[[Any], Any]] = {
    "text": parse_text,
    "key": parse_key,
    "postal": parse_postal,
    "int": parse_int,
    "number": parse_number,
    "percent": parse_percent,
    "bool": parse_bool,
    "siret": parse_siret,
    "enum": parse_enum,
    "codes": parse_codes,
    "time": parse_time,
    "list": parse_list,
}
