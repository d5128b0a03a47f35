"""Publication rules as data: the models of a rule file (``schemas/rules/*.yaml``) and its loader.

A rule file holds the rules of one programme for one year (``PSS-2025.yaml``), or the rules
common to every programme of the Région (``PRF-commun.yaml``): next year's procedure is a new
file, not new code. A rule (``code``) is made of one or more checks; a check has a ``kind``
from a small vocabulary, a severity, the level of record it names (``applies_to``), the fields
it checks (``path`` in the action bundle + French ``label``), its parameters and a French
message template. ``schemas/rules/README.md`` describes the vocabulary; the engine that applies
it is ``pipelines.transform.rules``.

Loading is strict: an unknown key, kind, path or message variable, a missing parameter, a code
given twice or without its programme's prefix, a file whose name does not say its programme and
year, all raise :class:`RuleFileError`, naming the file and the problem.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)
from sqlalchemy.orm import DeclarativeBase

from schemas.entries import REFERENT_TYPES
from schemas.store import (
    Action,
    ActionRegion,
    Dispositif,
    Formation,
    InformationCollective,
    Lot,
    Session,
)

logger = logging.getLogger(__name__)

#: Where the rule files shipped with the package live.
DEFAULT_FOLDER = Path(__file__).parent / "rules"
COMMON_PROGRAMME, COMMON_YEAR = "PRF", "commun"

Severity = Literal["bloquant", "avertissement"]
Level = Literal["formation", "action", "dispositif", "session"]
Ignorable = Literal["case", "accents", "dashes", "spaces", "apostrophes"]
Content = Literal["table", "image", "embedded_document", "control_character"]
# YAML writes 44022 or "44022" alike: both are the text "44022".
Text = Annotated[str, BeforeValidator(lambda v: str(v) if type(v) is int else v)]
Scalar = StrictBool | StrictInt | str


def _columns(model: type[DeclarativeBase]) -> frozenset[str]:
    return frozenset(column.key for column in model.__table__.columns)


_REFERENTS = {f"referents.{t}" for t in REFERENT_TYPES} | {
    f"referents.{t}.{a}" for t in REFERENT_TYPES for a in ("nom", "email", "telephone")
}
#: Every path a rule may read: namespace -> names (``schemas.store`` columns + what the bundle adds).
PATHS: dict[str, frozenset[str]] = {
    "formation": _columns(Formation),
    "action": _columns(Action),
    "dispositif": _columns(Dispositif) | {"numero_lot", "id_action_cr", "of_mandataire_cr"},
    "session": _columns(Session)
    | {"organisme_responsable_siret", "informations_collectives"}
    | _REFERENTS,
    "lot": _columns(Lot),
    "action_region": _columns(ActionRegion),
    "bundle": frozenset({"ref", "siret", "programme", "annee", "mandataire_sirets", "sessions"}),
}
#: Paths holding a list, and the item fields ``min_count`` may require of their items.
LIST_PATHS: dict[str, frozenset[str]] = {
    "bundle.sessions": frozenset(),
    "bundle.mandataire_sirets": frozenset(),
    "formation.formacodes": frozenset(),
    "session.modalites_recrutement": frozenset(),
    "session.informations_collectives": _columns(InformationCollective) - {"id", "session_id"},
}
#: Namespaces whose fields a check of each level checks (and names in its issues).
SUBJECTS: dict[str, frozenset[str]] = {
    "formation": frozenset({"formation"}),
    "action": frozenset({"action", "lot", "action_region", "bundle"}),
    "dispositif": frozenset({"dispositif"}),
    "session": frozenset({"session"}),
}
#: Variables every message may use: the record (« session 19482-89393-143842 »), its bare
#: reference, the field's label and path.
BASE_VARIABLES = frozenset({"record", "ref", "label", "field"})
_KEBAB = r"[a-z0-9]+(?:-[a-z0-9]+)*"


def _known_path(path: str) -> str:
    namespace, _, name = path.partition(".")
    if name not in PATHS.get(namespace, frozenset()):
        raise ValueError(f"chemin inconnu « {path} » (voir schemas/rules/README.md)")
    return path


Path_ = Annotated[str, AfterValidator(_known_path)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldRef(_Strict):
    """A field of the bundle (``session.date_fin``) and how messages name it (« Date fin »)."""

    path: Path_
    label: Annotated[str, Field(min_length=1)]


class Condition(_Strict):
    """A check applies only when the value at ``path`` equals ``equals``."""

    path: Path_
    equals: Scalar


class _Check(_Strict):
    """What every check declares. Each field of ``fields`` is checked on its own."""

    severity: Severity
    applies_to: Level
    fields: Annotated[tuple[FieldRef, ...], Field(min_length=1)]
    message: Annotated[str, Field(min_length=1)]
    when: Condition | None = None

    #: Message variables the kind provides, besides :data:`BASE_VARIABLES`.
    variables: ClassVar[frozenset[str]] = frozenset()

    def references(self) -> list[str]:
        """Return the paths the check reads besides its fields."""
        return [self.when.path] if self.when else []

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        for ref in self.fields:
            if ref.path.partition(".")[0] not in SUBJECTS[self.applies_to]:
                raise ValueError(
                    f"le champ « {ref.path} » n'est pas un champ de niveau {self.applies_to}"
                )
        for path in self.references():
            if path.startswith("session.") and self.applies_to != "session":
                raise ValueError(f"« {path} » ne se lit que dans un contrôle de niveau session")
        _check_template(self.message, BASE_VARIABLES | self.variables)
        return self


class _Compare(_Check):
    #: An empty value fails the check (``fail``), or is left to ``champ-obligatoire`` (``skip``).
    when_empty: Literal["fail", "skip"] = "fail"


class Required(_Check):
    """Each field is filled; values of ``blank_values`` (compared loosely) count as empty."""

    kind: Literal["required"]
    blank_values: tuple[Text, ...] = ()


class MaxLength(_Check):
    """At most ``max`` characters, counted on the visible text when ``strip_markup``."""

    kind: Literal["max_length"]
    max: Annotated[StrictInt, Field(gt=0)]
    strip_markup: StrictBool = True
    variables = frozenset({"length", "max"})


class ForbiddenContent(_Check):
    """The text holds none of the ``forbid`` contents."""

    kind: Literal["forbidden_content"]
    forbid: Annotated[tuple[Content, ...], Field(min_length=1)]
    variables = frozenset({"found"})


class MinCount(_Check):
    """A list holds at least ``min`` items having every ``item_fields`` filled."""

    kind: Literal["min_count"]
    min: Annotated[StrictInt, Field(ge=1)]
    item_fields: tuple[str, ...] = ()
    variables = frozenset({"count", "min"})

    @model_validator(mode="after")
    def _lists(self) -> Self:
        for ref in self.fields:
            allowed = LIST_PATHS.get(ref.path)
            if allowed is None:
                raise ValueError(f"« {ref.path} » n'est pas une liste")
            if unknown := set(self.item_fields) - allowed:
                raise ValueError(f"item_fields inconnus pour {ref.path} : {sorted(unknown)}")
        return self


class Equals(_Compare):
    """The value equals ``value``, ignoring what ``ignore`` lists (texts)."""

    kind: Literal["equals"]
    value: Scalar
    ignore: tuple[Ignorable, ...] = ()
    variables = frozenset({"value", "expected"})


class OneOf(_Compare):
    """The value is one of ``values``, ignoring what ``ignore`` lists."""

    kind: Literal["one_of"]
    values: Annotated[tuple[Text, ...], Field(min_length=1)]
    ignore: tuple[Ignorable, ...] = ()
    variables = frozenset({"value", "expected"})


class SetEquals(_Compare):
    """A list holds exactly ``values``, in any order."""

    kind: Literal["set_equals"]
    values: Annotated[tuple[Text, ...], Field(min_length=1)]
    variables = frozenset({"value", "expected", "missing", "extra"})


class YearEquals(_Compare):
    """A date falls in ``year``."""

    kind: Literal["year_equals"]
    year: Annotated[StrictInt, Field(ge=2000, le=2100)]
    variables = frozenset({"value", "year"})


class DateOrder(_Check):
    """``fields`` are [start, end]: end is not before start."""

    kind: Literal["date_order"]
    fields: Annotated[tuple[FieldRef, ...], Field(min_length=2, max_length=2)]
    variables = frozenset({"value", "start", "start_label"})


class NoPlaceholderDate(_Check):
    """A date is none of ``dates``, lies in [``min``, ``max``], and is no ``month_days`` (MM-DD)."""

    kind: Literal["no_placeholder_date"]
    dates: tuple[date, ...] = ()
    min: date | None = None
    max: date | None = None
    month_days: tuple[
        Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")], ...
    ] = ()
    variables = frozenset({"value"})

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not (self.dates or self.min or self.max or self.month_days):
            raise ValueError("dates, min, max ou month_days : au moins un est nécessaire")
        if self.min and self.max and self.min > self.max:
            raise ValueError("min est après max")
        return self


class ValidSiret(_Check):
    """A SIRET has 14 digits and a valid key (Luhn, or La Poste's rule)."""

    kind: Literal["valid_siret"]
    variables = frozenset({"value"})


class EqualsField(_Compare):
    """The value equals the one at ``reference`` (or is one of them if it is a collection).

    Nothing is checked while the reference is empty.
    """

    kind: Literal["equals_field"]
    reference: Path_
    variables = frozenset({"value", "expected"})

    def references(self) -> list[str]:
        """Return the paths the check reads besides its fields."""
        return [*super().references(), self.reference]


class Flag(_Check):
    """One issue per flag the merge raised for this rule (``ActionBundle.flags``).

    ``fields`` gives the labels of the fields the flags may name.
    """

    kind: Literal["flag"]
    applies_to: Literal["formation", "action", "dispositif"]
    variables = frozenset({"entry", "frame"})


Check = Annotated[
    Required
    | MaxLength
    | ForbiddenContent
    | MinCount
    | Equals
    | OneOf
    | SetEquals
    | YearEquals
    | DateOrder
    | NoPlaceholderDate
    | ValidSiret
    | EqualsField
    | Flag,
    Field(discriminator="kind"),
]


class Rule(_Strict):
    """A publication rule: its code (``champ-obligatoire``, ``PSS:intitule``) and its checks.

    A rule of one check may write the check's keys beside ``code`` instead of under ``checks``.
    """

    code: str
    description: str | None = None
    checks: Annotated[tuple[Check, ...], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _one_check(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kind" in data:
            if "checks" in data:
                raise ValueError("« kind » et « checks » s'excluent")
            outer = {k: data[k] for k in ("code", "description") if k in data}
            return {**outer, "checks": [{k: v for k, v in data.items() if k not in outer}]}
        return data

    @model_validator(mode="after")
    def _one_flag(self) -> Self:
        if sum(isinstance(c, Flag) for c in self.checks) > 1:
            raise ValueError(f"règle {self.code} : un seul contrôle flag par règle")
        return self


class RuleFile(_Strict):
    """One rule file: a programme and year (or ``PRF`` / ``commun``) and its rules."""

    programme: Annotated[str, Field(pattern=r"^[A-Z0-9]+$")]
    annee: StrictInt | Literal["commun"]
    source: str | None = None
    rules: Annotated[tuple[Rule, ...], Field(min_length=1)]

    @property
    def name(self) -> str:
        """The file's stem: ``PSS-2025``, ``PRF-commun``."""
        return f"{self.programme}-{self.annee}"

    @model_validator(mode="after")
    def _codes(self) -> Self:
        common = self.programme == COMMON_PROGRAMME
        if common != (self.annee == COMMON_YEAR):
            raise ValueError(f"seul le programme {COMMON_PROGRAMME} a l'année « {COMMON_YEAR} »")
        pattern = _KEBAB if common else re.escape(self.programme) + ":" + _KEBAB
        seen: set[str] = set()
        for rule in self.rules:
            if not re.fullmatch(pattern, rule.code):
                expected = "sans préfixe" if common else f"préfixé « {self.programme}: »"
                raise ValueError(f"code « {rule.code} » : attendu en kebab-case, {expected}")
            if rule.code in seen:
                raise ValueError(f"code « {rule.code} » en double")
            seen.add(rule.code)
        return self


def _check_template(message: str, allowed: frozenset[str]) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(message) if name is not None}
    except ValueError as exc:
        raise ValueError(f"message mal formé : {exc}") from exc
    if unknown := names - allowed:
        raise ValueError(
            f"message : variable(s) inconnue(s) {sorted(unknown)} (permises : {sorted(allowed)})"
        )
    if missing := {"record", "label"} - names:
        raise ValueError(f"message : doit nommer {sorted('{' + m + '}' for m in missing)}")


@dataclass(frozen=True)
class RuleBook:
    """The common rules and the rules of each programme and year."""

    common: RuleFile
    files: Mapping[tuple[str, int], RuleFile]

    def rules_for(self, programme: str, year: int) -> tuple[list[Rule], bool]:
        """Return the rules of an action of ``programme`` in ``year``.

        Returns:
            The common rules then the programme-year file's rules, and whether that file exists
            (False: the run report says « pas de règles spécifiques ... : règles communes seules »).
        """
        specific = self.files.get((programme.strip().upper(), year))
        rules = list(self.common.rules) + (list(specific.rules) if specific else [])
        return rules, specific is not None


# The loader lives in its own module; it is part of this module's interface.
from schemas.rules_loader import (  # noqa: E402
    RuleFileError,
    current_rulebook,
    load_rule_file,
    load_rulebook,
)

__all__ = [
    "Rule", "RuleBook", "RuleFile", "RuleFileError", "current_rulebook", "load_rule_file",
    "load_rulebook",
]  # fmt: skip
