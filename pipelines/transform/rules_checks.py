"""What each kind of check finds in one record (an action, or one of its sessions).

A check function reads values through a :class:`Scope` and yields one :class:`Finding` per
failing field, with the message variables of its kind; ``pipelines.transform.rules`` turns
findings into issues. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pipelines.transform.bundle import ActionBundle, SessionView
from pipelines.transform.rules_text import (
    LOOSE,
    as_date,
    display,
    forbidden_contents,
    french_number,
    is_filled,
    normalise,
    quoted_choices,
    visible_text,
)
from schemas.extraction import is_valid_siret
from schemas.rules import (
    Check,
    DateOrder,
    Equals,
    EqualsField,
    Flag,
    ForbiddenContent,
    MaxLength,
    MinCount,
    NoPlaceholderDate,
    OneOf,
    Required,
    SetEquals,
    ValidSiret,
    YearEquals,
)

_LIST_SEPARATORS = re.compile(r"[;,/\s]+")
_CONTACT = ("nom", "email", "telephone")


@dataclass(frozen=True)
class Scope:
    """The record a check looks at: the action, or one of its sessions.

    Attributes:
        bundle: the action and its frame.
        session: the session, for a session-level check.
        rule: the code of the rule being checked (flags name it).
    """

    bundle: ActionBundle
    session: SessionView | None
    rule: str

    def read(self, path: str) -> Any:
        """Return the value at a rule path (``session.referents.pmr``, ``lot.numero_lot``)."""
        return _reader(path)(self)


@lru_cache(maxsize=1024)
def _reader(path: str) -> Callable[[Scope], Any]:
    """How to read a rule path from a scope, worked out once per path."""
    namespace, _, name = path.partition(".")
    if namespace == "bundle":
        return lambda scope: getattr(scope.bundle, name)
    if namespace != "session":
        return lambda scope: getattr(scope.bundle, namespace).get(name)
    head, _, tail = name.partition(".")
    if head == "informations_collectives":
        return lambda scope: _session(scope, path).informations_collectives
    if head == "referents":  # a référent is its contact: a store row also has ids, type
        kind, _, attribute = tail.partition(".")
        if attribute:
            return lambda scope: (_session(scope, path).referents.get(kind) or {}).get(attribute)

        def contact(scope: Scope) -> Any:
            referent = _session(scope, path).referents.get(kind) or {}
            return {key: referent.get(key) for key in _CONTACT}

        return contact
    return lambda scope: _session(scope, path).fields.get(name)


def _session(scope: Scope, path: str) -> SessionView:
    if scope.session is None:
        raise ValueError(f"{path} read outside a session")
    return scope.session


@dataclass(frozen=True)
class Finding:
    """A field that fails a check, with the message variables of its kind."""

    field: str
    label: str
    variables: dict[str, str]


def same(value: Any, expected: Any) -> bool:
    """Tell whether two values are equal: as booleans, as dates, else as stripped texts."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return not isinstance(value, str) and value == expected
    left, right = as_date(value), as_date(expected)
    if left and right:
        return left == right
    return normalise(str(value)) == normalise(str(expected))


@lru_cache(maxsize=256)
def _loose_set(values: tuple[str, ...], ignore: tuple[str, ...]) -> frozenset[str]:
    """The values of a check, normalised once per rule book (a check's values never change)."""
    return frozenset(normalise(v, ignore) for v in values)


def _required(check: Required, scope: Scope) -> Iterator[Finding]:
    blanks = _loose_set(check.blank_values, LOOSE)
    for ref in check.fields:
        value = scope.read(ref.path)
        if not is_filled(value) or (
            blanks and isinstance(value, str) and normalise(value, LOOSE) in blanks
        ):
            yield Finding(ref.path, ref.label, {})


def _max_length(check: MaxLength, scope: Scope) -> Iterator[Finding]:
    for ref in check.fields:
        value = scope.read(ref.path)
        if is_filled(value):
            text = visible_text(str(value)) if check.strip_markup else str(value)
            if len(text) > check.max:
                variables = {"length": french_number(len(text)), "max": french_number(check.max)}
                yield Finding(ref.path, ref.label, variables)


def _forbidden_content(check: ForbiddenContent, scope: Scope) -> Iterator[Finding]:
    for ref in check.fields:
        value = scope.read(ref.path)
        if is_filled(value) and (found := forbidden_contents(str(value), check.forbid)):
            yield Finding(ref.path, ref.label, {"found": ", ".join(found)})


def _min_count(check: MinCount, scope: Scope) -> Iterator[Finding]:
    for ref in check.fields:
        items = scope.read(ref.path) or []
        count = sum(
            1
            for item in items
            if all(is_filled(_item_value(item, name)) for name in check.item_fields)
        )
        if count < check.min:
            variables = {"count": french_number(count), "min": french_number(check.min)}
            yield Finding(ref.path, ref.label, variables)


def _item_value(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _compared(
    check: Equals | OneOf | SetEquals | YearEquals | EqualsField,
    scope: Scope,
    fails: Callable[[Any], dict[str, str] | None],
    expected: str,
) -> Iterator[Finding]:
    """Yield the fields whose value ``fails`` (or is empty, when ``when_empty`` is ``fail``)."""
    for ref in check.fields:
        value = scope.read(ref.path)
        if not is_filled(value):
            if check.when_empty == "fail":
                variables = {"value": display(value), "expected": expected}
                if isinstance(check, SetEquals):
                    variables |= {"missing": expected, "extra": display(None)}
                if isinstance(check, YearEquals):
                    variables |= {"year": str(check.year)}
                yield Finding(ref.path, ref.label, variables)
        elif (failure := fails(value)) is not None:
            yield Finding(ref.path, ref.label, failure)


def _equals(check: Equals, scope: Scope) -> Iterator[Finding]:
    expected = display(check.value)

    def fails(value: Any) -> dict[str, str] | None:
        if isinstance(check.value, bool):
            ok = same(value, check.value)
        else:
            ok = normalise(str(value), check.ignore) == normalise(str(check.value), check.ignore)
        return None if ok else {"value": display(value), "expected": expected}

    return _compared(check, scope, fails, expected)


def _one_of(check: OneOf, scope: Scope) -> Iterator[Finding]:
    allowed = _loose_set(check.values, check.ignore)
    expected = _quoted_choices(check.values)

    def fails(value: Any) -> dict[str, str] | None:
        ok = normalise(str(value), check.ignore) in allowed
        return None if ok else {"value": display(value), "expected": expected}

    return _compared(check, scope, fails, expected)


_quoted_choices = lru_cache(maxsize=256)(quoted_choices)


def _set_equals(check: SetEquals, scope: Scope) -> Iterator[Finding]:
    expected = ", ".join(check.values)

    def fails(value: Any) -> dict[str, str] | None:
        if isinstance(value, str):
            items: Any = _LIST_SEPARATORS.split(value)
        else:
            items = value if isinstance(value, list | tuple | set | frozenset) else [value]
        actual = {str(v).strip() for v in items if is_filled(v)}
        if actual == set(check.values):
            return None
        missing = [v for v in check.values if v not in actual]
        extra = sorted(actual - set(check.values))
        return {
            "value": display(sorted(actual)),
            "expected": expected,
            "missing": display(missing),
            "extra": display(extra),
        }

    return _compared(check, scope, fails, expected)


def _year_equals(check: YearEquals, scope: Scope) -> Iterator[Finding]:
    def fails(value: Any) -> dict[str, str] | None:
        day = as_date(value)
        if day is not None and day.year == check.year:
            return None
        return {"value": display(day or value), "year": str(check.year)}

    return _compared(check, scope, fails, str(check.year))


def _equals_field(check: EqualsField, scope: Scope) -> Iterator[Finding]:
    reference = scope.read(check.reference)
    if not is_filled(reference):
        return iter(())
    choices = reference if isinstance(reference, set | frozenset | list | tuple) else [reference]
    expected = display(reference)

    def fails(value: Any) -> dict[str, str] | None:
        ok = any(same(value, choice) for choice in choices)
        return None if ok else {"value": display(value), "expected": expected}

    return _compared(check, scope, fails, expected)


def _date_order(check: DateOrder, scope: Scope) -> Iterator[Finding]:
    start_ref, end_ref = check.fields
    start, end = as_date(scope.read(start_ref.path)), as_date(scope.read(end_ref.path))
    if start and end and end < start:
        variables = {"value": display(end), "start": display(start), "start_label": start_ref.label}
        yield Finding(end_ref.path, end_ref.label, variables)


def _no_placeholder_date(check: NoPlaceholderDate, scope: Scope) -> Iterator[Finding]:
    for ref in check.fields:
        day = as_date(scope.read(ref.path))
        if day is None:
            continue
        if (
            day in check.dates
            or (check.min is not None and day < check.min)
            or (check.max is not None and day > check.max)
            or day.strftime("%m-%d") in check.month_days
        ):
            yield Finding(ref.path, ref.label, {"value": display(day)})


def _valid_siret(check: ValidSiret, scope: Scope) -> Iterator[Finding]:
    for ref in check.fields:
        value = scope.read(ref.path)
        if is_filled(value) and not is_valid_siret(str(value).strip()):
            yield Finding(ref.path, ref.label, {"value": display(str(value))})


def _flag(check: Flag, scope: Scope) -> Iterator[Finding]:
    labels = {ref.path: ref.label for ref in check.fields}
    for flag in scope.bundle.flags:
        if flag.get("rule") != scope.rule:
            continue
        name = str(flag.get("field") or check.fields[0].path)
        path = name if "." in name else f"{check.applies_to}.{name}"
        variables = {"entry": display(flag.get("entry")), "frame": display(flag.get("frame"))}
        yield Finding(path, labels.get(path, name), variables)


_KINDS: dict[type[Any], Callable[[Any, Scope], Iterator[Finding]]] = {
    Required: _required,
    MaxLength: _max_length,
    ForbiddenContent: _forbidden_content,
    MinCount: _min_count,
    Equals: _equals,
    OneOf: _one_of,
    SetEquals: _set_equals,
    YearEquals: _year_equals,
    EqualsField: _equals_field,
    DateOrder: _date_order,
    NoPlaceholderDate: _no_placeholder_date,
    ValidSiret: _valid_siret,
    Flag: _flag,
}


def run_check(check: Check, scope: Scope) -> list[Finding]:
    """Return what ``check`` finds in the record of ``scope``, in the order of its fields."""
    return list(_KINDS[type(check)](check, scope))


def applies(check: Check, scope: Scope) -> bool:
    """Tell whether the check's ``when`` condition holds (always, without one)."""
    return check.when is None or same(scope.read(check.when.path), check.when.equals)
