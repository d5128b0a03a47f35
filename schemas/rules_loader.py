"""Loading rule files: safe YAML (a key written twice is refused), validation by the models of
``schemas.rules``, and French errors naming the file, the rule and the check."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from schemas import rules as models

logger = logging.getLogger(__name__)


class RuleFileError(ValueError):
    """A rule file (or the rule folder) cannot be used.

    Attributes:
        path: the file (or folder) concerned.
        problem: what is wrong, in French.
    """

    def __init__(self, path: Path, problem: str) -> None:
        """Keep the file and the problem; the message names both."""
        self.path, self.problem = path, problem
        super().__init__(f"Fichier de règles {path.name} : {problem}")


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that refuses a key written twice in one mapping."""


def _unique_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"clé « {key} » en double", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)

_PROBLEMS = {
    "missing": "paramètre manquant",
    "extra_forbidden": "clé inconnue",
    "union_tag_not_found": "« kind » manquant",
    "too_short": "liste trop courte",
    "too_long": "liste trop longue",
    "string_type": "texte attendu",
    "int_type": "nombre entier attendu",
    "bool_type": "true ou false attendu",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "date_type": "date attendue (AAAA-MM-JJ)",
}


def _where(loc: tuple[int | str, ...], raw: Any) -> str:
    parts: list[str] = []
    for i, part in enumerate(loc):
        if loc[i - 1 : i] == ("rules",) and isinstance(part, int):
            rules = raw.get("rules") if isinstance(raw, dict) else None
            rule = rules[part] if isinstance(rules, list) and part < len(rules) else None
            code = rule.get("code") if isinstance(rule, dict) else None
            parts[-1] = f"règle « {code} »" if code else f"règle n°{part + 1}"
        elif loc[i - 1 : i] == ("checks",) and isinstance(part, int):
            parts[-1] = f"contrôle n°{part + 1}"
        elif loc[i - 1 : i] == ("fields",) and isinstance(part, int):
            parts[-1] = f"champ n°{part + 1}"
        elif not (i and loc[i - 2 : i - 1] == ("checks",) and isinstance(loc[i - 1], int)):
            parts.append(str(part))  # (the kind pydantic inserts after a check's index is noise)
    return " › ".join(parts)


def _explain(error: ValidationError, raw: Any) -> str:
    errors = error.errors(include_url=False)
    lines = []
    for e in errors:
        ctx, loc = e.get("ctx") or {}, tuple(e["loc"])
        if e["type"] == "too_short" and any(
            o["loc"][: len(loc)] == loc != o["loc"] for o in errors
        ):
            continue  # a list whose items failed is also « too short »: the items say why
        if e["type"] == "union_tag_invalid":
            problem = f"kind « {ctx.get('tag')} » inconnu (connus : {ctx.get('expected_tags')})"
        elif e["type"] == "literal_error":
            expected = str(ctx.get("expected")).replace(" or ", " ou ")
            problem = f"valeur « {e.get('input')} » non permise (permises : {expected})"
        elif e["type"] == "string_pattern_mismatch":
            problem = f"« {e.get('input')} » ne suit pas le motif {ctx.get('pattern')}"
        elif e["type"] == "value_error":
            problem = str(ctx.get("error", e["msg"]))
        else:
            problem = _PROBLEMS.get(e["type"], e["msg"])
        where = _where(loc, raw)
        lines.append(f"{where} : {problem}" if where else problem)
    return " ; ".join(lines)


def load_rule_file(path: Path) -> models.RuleFile:
    """Read and validate one rule file; its name must be ``<programme>-<annee>.yaml``.

    Raises:
        RuleFileError: unreadable YAML, invalid content, or a name that does not match.
    """
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        line = f"ligne {exc.problem_mark.line + 1}" if exc.problem_mark else "position inconnue"
        raise RuleFileError(path, f"YAML illisible ({line}) : {exc.problem}") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RuleFileError(path, f"illisible : {exc}") from exc
    if not isinstance(raw, dict):
        raise RuleFileError(path, "le fichier doit être un dictionnaire (programme, annee, rules)")
    try:
        rule_file = models.RuleFile.model_validate(raw)
    except ValidationError as exc:
        raise RuleFileError(path, _explain(exc, raw)) from exc
    if path.stem != rule_file.name:
        raise RuleFileError(
            path, f"le fichier déclare {rule_file.name} : il doit s'appeler {rule_file.name}.yaml"
        )
    return rule_file


def load_rulebook(folder: Path | None = None) -> models.RuleBook:
    """Load every ``*.yaml`` rule file of ``folder`` (``PRF-commun.yaml`` is required).

    Args:
        folder: the rule folder; by default the one shipped in ``schemas/rules/``.

    Raises:
        RuleFileError: the folder or its common file is missing, or a file is invalid.
    """
    folder = folder or models.DEFAULT_FOLDER
    if not folder.is_dir():
        raise RuleFileError(folder, "dossier de règles introuvable")
    common: models.RuleFile | None = None
    files: dict[tuple[str, int], models.RuleFile] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".yml":
            raise RuleFileError(path, "extension .yml : renommer en .yaml")
        if path.suffix != ".yaml":
            continue
        rule_file = load_rule_file(path)
        if isinstance(rule_file.annee, int):
            files[(rule_file.programme, rule_file.annee)] = rule_file
        else:
            common = rule_file
    if common is None:
        raise RuleFileError(
            folder / f"{models.COMMON_PROGRAMME}-{models.COMMON_YEAR}.yaml",
            "fichier absent (règles communes)",
        )
    logger.info("%d rule files loaded from %s", len(files) + 1, folder)
    return models.RuleBook(common=common, files=files)


def current_rulebook(folder: Path | None = None) -> models.RuleBook:
    """:func:`load_rulebook`, read again only when a rule file changed.

    A nightly or a backfill ingests hundreds of entry files: the YAML is parsed and checked
    once, then reused while no ``.yaml`` of the folder is added, removed or rewritten (name,
    size and modification time). The rule book is never modified by its users.
    """
    folder = folder or models.DEFAULT_FOLDER
    if not folder.is_dir():
        return load_rulebook(folder)  # raises the usual RuleFileError
    stamp = tuple(
        sorted((p.name, st.st_size, st.st_mtime_ns) for p in folder.iterdir()
               if p.suffix in (".yaml", ".yml") for st in (p.stat(),))
    )  # fmt: skip
    return _rulebook_of(folder, stamp)


@lru_cache(maxsize=4)
def _rulebook_of(folder: Path, stamp: tuple[tuple[str, int, int], ...]) -> models.RuleBook:
    return load_rulebook(folder)
