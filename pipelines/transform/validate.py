"""Validating an extraction: parse, schema rules (pandera, lazy), cross-sheet integrity.

Row-level problems never raise: they become report rows and the rest of the file goes
through. Only file-level problems (the year, no action left) refuse the delivery.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from functools import cache
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.engines.pandas_engine import Engine

from pipelines.errors import ExtractionFileError, message
from pipelines.extract.extraction import RawDelivery
from pipelines.extract.values import as_text
from pipelines.transform.frame import ValidatedExtraction
from pipelines.transform.integrity import check_actions, check_lots
from pipelines.transform.parse import parse_sheet
from pipelines.transform.report import Report, RowError
from schemas.extraction import MODELS, SHEETS, Sheet

logger = logging.getLogger(__name__)

#: pandera built-in check (name up to ``(``) -> our reason code.
BUILTIN_REASONS = {
    "not_nullable": "valeur-manquante",
    "field_uniqueness": "cle-dupliquee",
    "greater_than_or_equal_to": "valeur-negative",
    "less_than_or_equal_to": "valeur-trop-grande",
    "str_length": "longueur-max",
    "isin": "valeur-non-autorisee",
    "in_range": "valeur-non-autorisee",
}
#: DataFrame-level checks are reported on one column.
FRAME_CHECK_COLUMN = {"date-fin-avant-debut": "date_fin_prevue", "cle-dupliquee": "siret"}


class Problems:
    """Collects the problems of one tabular delivery, one per (sheet, row, column, reason)."""

    def __init__(self, extraction: RawDelivery) -> None:
        self.extraction = extraction
        self.file = extraction.info.file_name
        self._seen: set[tuple[str, int, str | None, str]] = set()
        self.errors: list[RowError] = []
        self.rows: dict[str, set[int]] = defaultdict(set)

    def add(self, sheet: str, row: int, column: str | None, reason: str, **context: Any) -> None:
        """Record that ``row`` of ``sheet`` is rejected for ``reason``."""
        key = (sheet, row, column, reason)
        if key in self._seen:
            return
        self._seen.add(key)
        located = self.extraction.sheets[sheet]
        value = as_text(located.raw.at[row, column]) if column else None
        spec = located.spec
        fields: dict[str, Any] = {
            "column": located.header(column) if column else "",
            "value": value if value is not None else "",
            "sheet": spec.title,
            "expected": spec.column(column).expected if column else "",
        }
        fields.update(context)
        text = message(reason, **fields)
        self.errors.append(RowError(self.file, sheet, row, column, value, reason, text))
        self.rows[sheet].add(row)

    def sorted_errors(self) -> list[RowError]:
        """The errors by sheet (in dependency order), row, then column order."""

        order = {name: i for i, name in enumerate(self.extraction.sheets)}

        def key(e: RowError) -> tuple[int, int, int, str]:
            spec = self.extraction.sheets[e.sheet].spec
            names = [c.name for c in spec.columns]
            column = names.index(e.column) if e.column in names else -1
            return (order[e.sheet], e.row, column, e.reason)

        return sorted(self.errors, key=key)


def validate_extraction(extraction: RawDelivery) -> ValidatedExtraction:
    """Validate a located extraction and split each sheet into accepted rows and rejects.

    Raises:
        ExtractionFileError: the year cannot be told or contradicts the file name, or no action
            is left. The problems found so far are attached as ``exc.report``.
    """
    info = extraction.info
    problems = Problems(extraction)
    typed: dict[str, pd.DataFrame] = {}
    for spec in SHEETS:
        typed[spec.name] = check_sheet(extraction, spec, MODELS[spec.name], problems)
    year = _year(typed["programmes"], info.file_name, info.name_year)
    accepted = {
        name: frame.drop(index=sorted(problems.rows[name])) for name, frame in typed.items()
    }
    accepted["lots"] = check_lots(accepted, typed, year, problems)
    accepted["actions"] = check_actions(accepted, typed, problems)
    report = Report(file=info.file_name, year=year, warnings=list(extraction.warnings))
    report.errors = problems.sorted_errors()
    for spec in SHEETS:
        total = len(typed[spec.name])
        rejected = len(problems.rows[spec.name])
        report.counts[spec.name] = {"accepted": total - rejected, "rejected": rejected}
    rejected_keys = {
        sheet: set(typed[sheet].loc[sorted(problems.rows[sheet]), key].dropna().tolist())
        for sheet, key in (("lots", "numero_lot"), ("actions", "id_action_cr"))
    }
    result = ValidatedExtraction(info, year, accepted, report, rejected_keys)
    logger.info(
        "%s: %s",
        info.file_name,
        ", ".join(
            f"{s} {c['accepted']} acceptées / {c['rejected']} rejetées"
            for s, c in report.counts.items()
        ),
    )
    if accepted["actions"].empty:
        error = ExtractionFileError(info.file_name, "aucune-action")
        error.report = report
        raise error
    return result


def check_sheet(
    extraction: RawDelivery,
    spec: Sheet,
    model: type[pa.DataFrameModel],
    problems: Problems,
) -> pd.DataFrame:
    """Parse a located sheet and run its pandera model lazily; record every problem.

    Returns:
        The typed frame of every row (rejected ones included; ``problems.rows`` says which).
    """
    frame, cell_problems = parse_sheet(extraction.sheets[spec.name])
    unreadable = set()
    for problem in cell_problems:
        problems.add(spec.name, problem.row, problem.column, problem.reason)
        unreadable.add((problem.row, problem.column))
    if frame.empty:  # no row, nothing to reject (pandera would only compare dtypes)
        return frame
    if _passes(model, frame):  # nothing to report: the lazy validation would find nothing
        return frame
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        _record_failures(exc.failure_cases, frame, spec, unreadable, problems)
    return frame


@cache
def _screenable(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema | None:
    """The schema of ``model`` when :func:`_passes` knows every option it uses, else None."""
    schema = model.to_schema()
    if (
        schema.strict or schema.coerce or schema.unique or schema.ordered or schema.parsers
        or schema.index is not None or schema.dtype is not None or schema.add_missing_columns
        or schema.unique_column_names or schema.drop_invalid_rows
    ):  # fmt: skip
        return None
    for column in schema.columns.values():
        if (
            column.coerce or not column.required or column.regex or column.parsers
            or column.drop_invalid_rows or column.default is not None
        ):  # fmt: skip
            return None
    return schema


def _passes(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> bool:
    """Tell, cheaply, that ``model`` has nothing to report on ``frame``.

    Runs what the lazy validation runs (dtype, nullable, unique, each declared check through
    pandera's own :class:`~pandera.api.checks.Check`), without its fixed cost per sheet
    (failure cases, error reports). False as soon as anything may fail, or for a schema using an
    option not screened here: the full validation then says what fails and where.
    """
    schema = _screenable(model)
    if schema is None:
        return False
    for name, column in schema.columns.items():
        if name not in frame.columns:
            return False
        series = frame[name]
        if column.dtype is not None:
            dtype_ok = column.dtype.check(_pandera_dtype(series.dtype), series)
            if not (dtype_ok if isinstance(dtype_ok, bool) else bool(dtype_ok.all())):
                return False
        if not column.nullable and series.isna().any():
            return False
        if column.unique and series.duplicated().any():
            return False
        if not all(check(frame, name).check_passed for check in column.checks):
            return False
    return all(check(frame).check_passed for check in schema.checks)


@cache
def _pandera_dtype(dtype: Any) -> Any:
    """pandera's dtype for a column's dtype (the parsed frames use a handful of them)."""
    return Engine.dtype(dtype)


def _record_failures(
    cases: pd.DataFrame,
    frame: pd.DataFrame,
    spec: Sheet,
    unreadable: set[tuple[int, str]],
    problems: Problems,
) -> None:
    """Turn pandera's failure cases into report rows, one per row and column."""
    for case in cases.itertuples(index=False):
        if pd.isna(case.index):
            # parsing gives every column its declared dtype: a schema-level failure is a bug
            raise RuntimeError(
                f"{problems.file} / {spec.name}: schema-level failure {case.check!r} on "
                f"column {case.column!r}"
            )
        check = str(case.check)
        row = int(case.index)
        if case.schema_context == "DataFrameSchema":
            column = FRAME_CHECK_COLUMN.get(check, str(case.column))
            value_column: str | None = column
        else:
            column = value_column = str(case.column)
        if (row, column) in unreadable:
            continue
        name = check.split("(", 1)[0]
        reason = BUILTIN_REASONS.get(name, check)
        context: dict[str, Any] = {}
        if reason == "longueur-max":
            context = {"length": len(str(frame.at[row, column])), "max_length": _arg(check, -1)}
        elif reason == "valeur-negative":
            context = {"min_value": _arg(check, 0)}
        elif reason == "valeur-trop-grande":
            context = {"max_value": _arg(check, 0)}
        elif reason == "valeur-non-autorisee" and value_column:
            context = {"expected": spec.column(value_column).expected or _arg_list(check)}
        problems.add(spec.name, row, column, reason, **context)


def _arg(check: str, position: int) -> str:
    args = re.findall(r"[-\d.]+", check.split("(", 1)[1]) if "(" in check else []
    return args[position] if args else "?"


def _arg_list(check: str) -> str:
    return check.split("(", 1)[1].rstrip(")") if "(" in check else ""


def _year(programmes: pd.DataFrame, file_name: str, name_year: int | None) -> int:
    """Tell the frame's year: the programmes' ``annee``, which must agree with the file name."""
    years = sorted({int(y) for y in programmes["annee"].dropna()})
    if name_year is not None:
        if years and years != [name_year]:
            raise ExtractionFileError(
                file_name,
                "annee-incoherente",
                name_year=name_year,
                detail=", ".join(str(y) for y in years),
            )
        return name_year
    if len(years) == 1:
        return years[0]
    detail = (
        "aucune année dans la feuille Programmes"
        if not years
        else "plusieurs années dans la feuille Programmes : " + ", ".join(map(str, years))
    )
    raise ExtractionFileError(file_name, "annee-introuvable", detail=detail)
