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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from operator import itemgetter
from typing import IO, Any

from pipelines.load.safe_csv import ENCODING, FORMULA_STARTS, SEPARATOR, escape_cell

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
    #: the cell's text of a value that is not None (chosen once from ``kind`` and ``source``)
    render: Callable[[Any], str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", tuple(self.source.split(".")))
        object.__setattr__(self, "render", _renderer(self.kind, self.source))

    def cell(self, record: dict[str, Any]) -> str:
        """This column's cell for a record, as CSV text (not yet escaped)."""
        value: Any = record
        for key in self.path:
            value = value.get(key) if isinstance(value, dict) else None
        return "" if value is None else self.render(value)


class CsvRows:
    """Turns a record into its row of cells, escaped against formula injection: what
    ``[escape_cell(c.cell(record)) for c in columns]`` gives, planned once for the columns.

    The columns' values are read a group at a time (one ``itemgetter`` for the fields of
    ``formation``, one for those of ``lot``...), put back in the columns' order, then shown
    (a text as it is, anything else by its column's :attr:`CsvColumn.render`) and escaped. A
    record missing a field (the records never do) falls back to :meth:`CsvColumn.cell`.
    """

    def __init__(self, columns: Sequence[CsvColumn]) -> None:
        """Plan the reading of ``columns``."""
        self.columns = tuple(columns)
        groups: dict[tuple[str, ...], list[int]] = {}
        for index, column in enumerate(self.columns):
            groups.setdefault(column.path[:-1], []).append(index)
        self._groups = [
            (parent, itemgetter(*(self.columns[i].path[-1] for i in indices)), len(indices))
            for parent, indices in groups.items()
        ]
        read = [i for indices in groups.values() for i in indices]  # the order values come in
        order = sorted(range(len(read)), key=read.__getitem__)
        self._order: Callable[[list[Any]], tuple[Any, ...]] = (
            itemgetter(*order) if len(order) > 1 else tuple  # itemgetter(i) gives no tuple
        )
        #: per column: ``str`` if a text is shown as it is, ``int`` if an int is shown as its
        #: ``str`` (what :attr:`CsvColumn.render` gives them, without a call), and the render
        self._shows = [
            (
                str if c.kind == "string" else None,
                int if c.kind in ("number", "integer") else None,
                c.render,
            )
            for c in self.columns
        ]

    def __call__(self, record: dict[str, Any]) -> list[str]:
        """The row of ``record``, in the columns' order."""
        values: list[Any] = []
        for parent, pick, size in self._groups:
            group: Any = record
            for key in parent:
                group = group.get(key) if isinstance(group, dict) else None
            if not isinstance(group, dict):
                values.extend([None] * size)
                continue
            try:
                found = pick(group)
            except KeyError:
                return [escape_cell(c.cell(record)) for c in self.columns]
            if size == 1:
                values.append(found)
            else:
                values.extend(found)
        texts = [
            ""
            if value is None
            else value
            if value.__class__ is text_class
            else str(value)
            if value.__class__ is int_class
            else show(value)
            for value, (text_class, int_class, show) in zip(
                self._order(values), self._shows, strict=True
            )
        ]
        return ["'" + text if text[:1] in FORMULA_STARTS else text for text in texts]


def _renderer(kind: str, source: str) -> Callable[[Any], str]:
    """How a column of ``kind`` shows a value (not None), in :meth:`CsvColumn.cell`'s order."""
    if kind == "boolean":
        return _yes_no
    if kind == "date":
        return french_date
    if kind in ("number", "integer"):
        return french_decimal
    item = _ITEMS.get(source, str)

    def render(value: Any) -> str:
        if value.__class__ is str:
            return value  # type: ignore[no-any-return]
        if isinstance(value, list):
            return LIST_SEPARATOR.join(map(item, value))
        return str(value)

    return render


def _yes_no(value: Any) -> str:
    return "oui" if value else "non"


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
        self._row = CsvRows(self.columns)
        self._text = io.TextIOWrapper(raw, encoding=ENCODING, newline="")
        self._writer = csv.writer(self._text, delimiter=SEPARATOR, lineterminator="\r\n")
        self._writer.writerow([escape_cell(c.header) for c in self.columns])

    def write(self, record: dict[str, Any]) -> None:
        """Write the row of one record, every cell escaped against formula injection."""
        self._writer.writerow(self._row(record))

    def close(self) -> None:
        """Flush, and hand the binary file back to its owner (not closed)."""
        self._text.flush()
        self._text.detach()
