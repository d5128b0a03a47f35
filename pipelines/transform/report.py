"""The validation report: what was accepted, what was rejected and why.

A report is data, never an exception (frictionless style): row-level problems are
:class:`RowError` rows; a file-level problem is kept in :attr:`Report.refusal`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class RowError:
    """One problem found in one row (a quarantine line).

    Attributes:
        file: the delivery's file name, as received.
        sheet: canonical sheet name (``programmes``, ``organismes``, ``lots``, ``actions``).
        row: the row number as Excel (or a spreadsheet opening the CSV) shows it.
        column: canonical column name, or None for a row-level rule.
        value: the cell as it arrived, as text.
        reason: stable kebab-case code (see ``pipelines.errors.REASONS``).
        message: French message for the Carif-Oref.
    """

    file: str
    sheet: str
    row: int
    column: str | None
    value: str | None
    reason: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        """Return the error as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Refusal:
    """Why a whole delivery was refused (file-level problem)."""

    file: str
    reason: str
    message: str
    sheet: str | None = None
    column: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the refusal as a JSON-ready dict."""
        return asdict(self)


@dataclass
class Report:
    """Outcome of validating one delivery.

    Attributes:
        file: the delivery's file name.
        year: the frame's year, when it could be told.
        errors: every rejected row's problems, sorted by sheet order then row.
        counts: per sheet, ``{"accepted": n, "rejected": m}`` (rows, not errors).
        warnings: French notes that reject nothing (a renamed sheet, extra columns...).
        refusal: set when the delivery is refused as a whole.
    """

    file: str
    year: int | None = None
    errors: list[RowError] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    refusal: Refusal | None = None

    @property
    def refused(self) -> bool:
        """True when the whole delivery is refused."""
        return self.refusal is not None

    @property
    def exit_code(self) -> int:
        """0 valid, 1 rows rejected, 2 delivery refused (the CLI's exit codes)."""
        if self.refused:
            return 2
        return 1 if self.errors else 0

    def as_dict(self) -> dict[str, Any]:
        """Return the report as one JSON-ready document."""
        return {
            "file": self.file,
            "year": self.year,
            "status": self.status,
            "refusal": self.refusal.as_dict() if self.refusal else None,
            "counts": self.counts,
            "warnings": self.warnings,
            "errors": [e.as_dict() for e in self.errors],
        }

    @property
    def status(self) -> str:
        """``refusee``, ``valide`` or ``lignes-rejetees``."""
        return ("valide", "lignes-rejetees", "refusee")[self.exit_code]
