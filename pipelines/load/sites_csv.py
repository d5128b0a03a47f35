"""``sites-regionaux/sessions.csv``: the regional sites' records flattened for Excel users.

French headers, ``;``, UTF-8 with BOM, CRLF, lists joined with `` | ``, dates ``jj/mm/aaaa``,
decimal commas, ``oui``/``non``, every cell escaped against formula injection
(:mod:`pipelines.load.safe_csv`). The columns and the record field each one shows are read from
the descriptor ``schemas/feeds/sites-regionaux-sessions.csv.schema.json`` (a Frictionless
Tabular Data Resource), published next to the CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import IO, Any

from pipelines.load.safe_csv import ENCODING, SEPARATOR, escape_cell

CSV_SCHEMA_FILE = "sites-regionaux-sessions.csv.schema.json"


def feed_schema(name: str) -> bytes:
    """Return the bytes of a JSON Schema of ``schemas/feeds/`` (shipped with the package)."""
    return resources.files("schemas").joinpath("feeds", name).read_bytes()


@dataclass(frozen=True)
class CsvColumn:
    """A column of ``sessions.csv``, as ``sessions.csv.schema.json`` declares it.

    Attributes:
        header: the French header (the field's ``name``).
        kind: the Table Schema type (``string``, ``integer``, ``number``, ``boolean``, ``date``).
        source: the record's field it shows (``formation.intitule_formation``).
    """

    header: str
    kind: str
    source: str
    #: ``source`` split on its dots (computed once, not once per cell)
    path: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", tuple(self.source.split(".")))

    def cell(self, record: dict[str, Any]) -> str:
        """This column's cell for a record, as CSV text (not yet escaped)."""
        value: Any = record
        for key in self.path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return ""
        if self.kind == "boolean":
            return "oui" if value else "non"
        if self.kind == "date":
            return french_date(value)
        if self.kind in ("number", "integer"):
            return french_decimal(value)
        if isinstance(value, list):
            item = _ITEMS.get(self.source, str)
            return LIST_SEPARATOR.join(item(v) for v in value)
        return str(value)


LIST_SEPARATOR = " | "


@lru_cache(maxsize=1)
def csv_columns() -> tuple[CsvColumn, ...]:
    """The columns of ``sessions.csv``, in order, from its descriptor in ``schemas/feeds/``."""
    fields = json.loads(feed_schema(CSV_SCHEMA_FILE))["schema"]["fields"]
    return tuple(CsvColumn(f["name"], f["type"], f["source"]) for f in fields)


def french_date(value: str | None) -> str:
    """``AAAA-MM-JJ`` -> ``jj/mm/aaaa`` (empty when missing)."""
    return f"{value[8:10]}/{value[5:7]}/{value[0:4]}" if value else ""


def french_decimal(value: float | int) -> str:
    """A number with a decimal comma, integral values without decimals (``455``, ``5835,06``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value).replace(".", ",")


def _information_text(info: dict[str, Any]) -> str:
    hours = "-".join(h for h in (info["heure_debut"], info["heure_fin"]) if h)
    where = f"– {info['lieu']}" if info["lieu"] else ""
    return " ".join(part for part in (french_date(info["date"]), hours, where) if part)


def _periode_text(periode: dict[str, Any]) -> str:
    start, end = french_date(periode["date_debut"]) or "?", french_date(periode["date_fin"]) or "?"
    return f"{periode['type'] or 'inscription'} : du {start} au {end}"


_ITEMS: dict[str, Callable[[Any], str]] = {
    "informations_collectives": _information_text,
    "periodes_inscription": _periode_text,
}


class CsvWriter:
    """Writes ``sessions.csv`` row by row on a binary file (``;``, BOM, CRLF, cells escaped)."""

    def __init__(self, raw: IO[bytes]) -> None:
        """Wrap ``raw`` (left open by :meth:`close`) and write the header."""
        self.columns = csv_columns()
        self._text = io.TextIOWrapper(raw, encoding=ENCODING, newline="")
        self._writer = csv.writer(self._text, delimiter=SEPARATOR, lineterminator="\r\n")
        self._writer.writerow([escape_cell(c.header) for c in self.columns])

    def write(self, record: dict[str, Any]) -> None:
        """Write the row of one record, every cell escaped against formula injection."""
        self._writer.writerow([escape_cell(c.cell(record)) for c in self.columns])

    def close(self) -> None:
        """Flush, and hand the binary file back to its owner (not closed)."""
        self._text.flush()
        self._text.detach()
