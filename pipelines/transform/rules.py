"""The publication rules engine: checks an action (:class:`ActionBundle`) against the rules of
its programme and year (``schemas/rules/*.yaml``) and lists what it breaks (:class:`Issue`).

An action publishes as a whole: a blocking issue anywhere (formation, action, dispositif, any
session) keeps it « en cours de saisie »; warnings (``avertissement``) never do.

Who an issue names (``Issue.record``, and ``{record}`` in messages):

* a session-level check names the session by its ``ref`` (« session 19482-89393-143842 »),
  one issue per failing session;
* formation-, action- and dispositif-level checks name the action's ``ref``
  (« formation de l'action 19482-89393 », « action 19482-89393 », « dispositif de l'action
  19482-89393 »): the issue belongs to the action that publishes, even when its formation is
  shared with other actions (each of them gets its own issue).

Issues come in a fixed order: rules as the files list them (common rules first), then checks
in their order, then sessions in ``bundle.sessions`` order, then fields in their order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from pipelines.transform.bundle import ActionBundle, Issue
from pipelines.transform.rules_checks import Finding, Scope, applies, run_check
from schemas.rules import Check, Rule, RuleBook

logger = logging.getLogger(__name__)

BLOQUANT, AVERTISSEMENT = "bloquant", "avertissement"
# (YAML folds long messages over lines; the narrow no-break spaces of 3 412 stay.)
_ASCII_BLANKS = re.compile(r"[ \t\r\n]+")
_RECORDS = {
    "formation": "formation de l'action {ref}",
    "action": "action {ref}",
    "dispositif": "dispositif de l'action {ref}",
    "session": "session {ref}",
}


class _Variables(dict[str, str]):
    """Message variables; a variable a finding lacks stays written as ``{name}``."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def evaluate(bundle: ActionBundle, rules: Sequence[Rule]) -> list[Issue]:
    """Check one action against rules.

    Pure: no I/O, the same bundle and rules give the same issues in the same order.

    Args:
        bundle: the action, its sessions and its frame.
        rules: the rules to apply (``RuleBook.rules_for(programme, year)[0]``).

    Returns:
        One issue per failing field of each record; empty when the action may be published.
    """
    issues: list[Issue] = []
    for rule in rules:
        action = (Scope(bundle, None, rule.code),)
        sessions: list[Scope] | None = None  # the rule's session scopes, made once
        for check in rule.checks:
            scopes: Sequence[Scope] = action
            if check.applies_to == "session":
                if sessions is None:
                    sessions = [Scope(bundle, session, rule.code) for session in bundle.sessions]
                scopes = sessions
            always = check.when is None
            for scope in scopes:
                if always or applies(check, scope):
                    findings = run_check(check, scope)
                    if findings:
                        issues.extend(_issue(rule, check, scope, f) for f in findings)
    return issues


def check_action(bundle: ActionBundle, rulebook: RuleBook) -> tuple[list[Issue], bool]:
    """Check one action against the rules of its programme and year.

    Returns:
        The issues (see :func:`evaluate`) and whether a rule file exists for the bundle's
        programme and year (False: the common rules only, see :func:`coverage_note`).
    """
    rules, specific = rulebook.rules_for(bundle.programme, bundle.annee)
    return evaluate(bundle, rules), specific


def is_blocking(issues: Sequence[Issue]) -> bool:
    """Tell whether the issues keep the action « en cours de saisie »."""
    return any(issue.severity == BLOQUANT for issue in issues)


def coverage_note(programme: str, year: int, specific: bool) -> str | None:
    """Return the run report's line for a programme and year without a rule file, else None."""
    if specific:
        return None
    return f"pas de règles spécifiques pour {programme} {year} : règles communes seules"


def _issue(rule: Rule, check: Check, scope: Scope, finding: Finding) -> Issue:
    ref = scope.session.ref if scope.session is not None else scope.bundle.ref
    variables: dict[str, Any] = {
        **finding.variables,
        "record": _RECORDS[check.applies_to].format(ref=ref),
        "ref": ref,
        "label": finding.label,
        "field": finding.field,
    }
    message = _ASCII_BLANKS.sub(" ", check.message.format_map(_Variables(variables))).strip()
    return Issue(rule.code, check.severity, ref, finding.field, message)
