"""How a sheet arrives: its columns, their aliases and the kind each cell is parsed to.

Shared by every tabular input (the Région's extraction, the organisations' entry workbooks):
the reader finds sheets and headers from these declarations and normalises values by kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: How a cell is parsed before the rules run.
Kind = Literal[
    "text",
    "key",
    "postal",
    "int",
    "number",
    "percent",
    "date",
    "bool",
    "siret",
    "enum",
    "codes",
    "time",
    "list",
]


@dataclass(frozen=True)
class Column:
    """One column of a sheet as it arrives.

    Attributes:
        name: canonical name, used everywhere downstream.
        kind: how cells are parsed (see :data:`Kind`).
        required: a missing column refuses the delivery; a blank cell rejects the row.
        aliases: other headers accepted (matched after normalisation).
        expected: how the value should look, for French messages.
    """

    name: str
    kind: Kind
    required: bool = False
    aliases: tuple[str, ...] = ()
    expected: str = ""


@dataclass(frozen=True)
class Sheet:
    """One sheet of the extraction (or one CSV file of the folder variant)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = field(default=())
    #: a sheet that may hold no row at all (else a sheet without data refuses the delivery)
    allow_empty: bool = False

    def column(self, name: str) -> Column:
        """Return the column named ``name``."""
        return next(c for c in self.columns if c.name == name)
