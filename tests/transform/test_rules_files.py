"""Rule files as data: which rules apply to a programme and year, next year's rules as a new
file and nothing else, and bad rule files refused with a clear error (real YAML files).
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from pipelines.transform.rules import check_action, coverage_note
from schemas.rules import (
    DEFAULT_FOLDER,
    RuleFileError,
    current_rulebook,
    load_rule_file,
    load_rulebook,
)
from tests.transform.test_rules import ACTION, S2, pss_bundle

COMMON = DEFAULT_FOLDER / "PRF-commun.yaml"
PSS_2025 = DEFAULT_FOLDER / "PSS-2025.yaml"


def test_shipped_rule_files() -> None:
    rulebook = load_rulebook()
    assert sorted(rulebook.files) == [("PE", 2025), ("PSS", 2025)]
    rules, specific = rulebook.rules_for("PSS", 2025)
    assert specific
    assert [r.code for r in rules] == [
        "champ-obligatoire",
        "longueur-max",
        "texte-interdit",
        "information-collective-obligatoire",
        "organisme-responsable-mandataire",
        "nb-places-dispositif",
        "prise-en-charge-frais",
        "public-demandeur-emploi",
        "codes-externes",
        "forfait-recrutement-date",
        "dates-session",
        "siret",
        "PSS:certifinfo",
        "PSS:intitule",
        "PSS:formacodes",
        "PSS:annee-debut",
        "PSS:esp",
    ]
    pe = [r.code for r in rulebook.rules_for("PE", 2025)[0]][12:]
    assert pe == [
        "PE:certifinfo",
        "PE:type-certification",
        "PE:annee-debut",
        "PE:esp",
        "PE:rythme",
        "PE:type-parcours",
    ]


def test_rule_files_are_package_data() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "rules/*.yaml" in pyproject["tool"]["setuptools"]["package-data"]["schemas"]


@pytest.mark.parametrize(("programme", "year"), [("1E1F", 2025), ("PSS", 2024), ("PE", 2026)])
def test_programme_or_year_without_a_file_gets_the_common_rules_only(
    programme: str, year: int
) -> None:
    rulebook = load_rulebook()
    rules, specific = rulebook.rules_for(programme, year)
    assert not specific
    assert rules == list(rulebook.common.rules)
    bundle = pss_bundle()
    bundle.programme, bundle.annee = programme, year
    bundle.formation["intitule_formation"] = "Titre professionnel assistant ressources humaines"
    bundle.formation["certifiante"] = True
    assert check_action(bundle, rulebook) == ([], False)
    assert coverage_note(programme, year, specific) == (
        f"pas de règles spécifiques pour {programme} {year} : règles communes seules"
    )
    assert coverage_note("PSS", 2025, True) is None


def _folder(tmp_path: Path, **files: str) -> Path:
    """A rule folder holding the shipped common file and ``files`` (name -> YAML text)."""
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(COMMON, folder / COMMON.name)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_next_year_is_a_new_file_and_nothing_else(tmp_path: Path) -> None:
    text = PSS_2025.read_text(encoding="utf-8")
    text = text.replace("annee: 2025", "annee: 2026").replace("year: 2025", "year: 2026")
    rulebook = load_rulebook(_folder(tmp_path, **{"PSS-2026.yaml": text}))
    assert rulebook.rules_for("PSS", 2026)[1]
    assert not rulebook.rules_for("PSS", 2025)[1]

    assert check_action(pss_bundle(annee=2026), rulebook) == ([], True)
    bundle = pss_bundle(annee=2026)
    bundle.sessions[1].fields["date_debut"] = date(2025, 12, 1)
    issues, _ = check_action(bundle, rulebook)
    assert [(i.rule, i.record, i.field) for i in issues] == [
        ("PSS:annee-debut", S2, "session.date_debut")
    ]


def test_the_current_rulebook_is_read_again_only_when_a_rule_file_changes(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path)
    first = current_rulebook(folder)
    assert current_rulebook(folder) is first  # a nightly's files share one parse
    assert not first.rules_for("PSS", 2026)[1]
    text = PSS_2025.read_text(encoding="utf-8")
    (folder / "PSS-2026.yaml").write_text(
        text.replace("annee: 2025", "annee: 2026").replace("year: 2025", "year: 2026"),
        encoding="utf-8",
    )
    added = current_rulebook(folder)
    assert added is not first and added.rules_for("PSS", 2026)[1]
    (folder / "PSS-2026.yaml").unlink()
    assert not current_rulebook(folder).rules_for("PSS", 2026)[1]
    with pytest.raises(RuleFileError):
        current_rulebook(tmp_path / "absent")


def test_intitule_comparison_is_an_option_of_the_rule_file(tmp_path: Path) -> None:
    text = PSS_2025.read_text(encoding="utf-8").replace("ignore: []", "ignore: [case, dashes]")
    rulebook = load_rulebook(_folder(tmp_path, **{"PSS-2025.yaml": text}))
    bundle = pss_bundle()
    bundle.formation["intitule_formation"] = "formation aide-soignant - module préparatoire"
    assert check_action(bundle, rulebook) == ([], True)
    bundle.formation["intitule_formation"] = "Formation aide soignant - Module preparatoire"
    issues, _ = check_action(bundle, rulebook)
    assert [(i.rule, i.record) for i in issues] == [("PSS:intitule", ACTION)]


Edit = Callable[[str], str]


def _replace(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


BAD_FILES: list[tuple[str, str, Edit, list[str]]] = [
    ("unknown-kind", "PSS-2025.yaml", _replace("kind: set_equals", "kind: set_equal"),
     ["règle « PSS:formacodes »", "kind « set_equal » inconnu"]),
    ("missing-message", "PSS-2025.yaml",
     _replace('    message: "{label} : « {expected} » attendu pour ce programme, saisi : {value} ({record})."\n', ""),
     ["règle « PSS:certifinfo »", "message : paramètre manquant"]),
    ("missing-parameter", "PSS-2025.yaml", _replace("    year: 2025\n", ""),
     ["règle « PSS:annee-debut »", "year : paramètre manquant"]),
    ("duplicate-code", "PSS-2025.yaml", _replace('code: "PSS:esp"', 'code: "PSS:annee-debut"'),
     ["code « PSS:annee-debut » en double"]),
    ("wrong-prefix", "PSS-2025.yaml", _replace('code: "PSS:esp"', 'code: "PE:esp"'),
     ["code « PE:esp »", "préfixé « PSS: »"]),
    ("no-prefix", "PSS-2025.yaml", _replace('code: "PSS:esp"', "code: esp"),
     ["code « esp »", "préfixé « PSS: »"]),
    ("prefix-in-common", "PRF-commun.yaml", _replace("code: siret", 'code: "PRF:siret"'),
     ["PRF-commun.yaml", "code « PRF:siret »", "sans préfixe"]),
    ("year-not-file-name", "PSS-2026.yaml", lambda t: t,
     ["PSS-2026.yaml", "déclare PSS-2025", "s'appeler PSS-2025.yaml"]),
    ("programme-not-file-name", "PE-2025.yaml", lambda t: t, ["PE-2025.yaml", "déclare PSS-2025"]),
    ("year-commun", "PSS-2025.yaml", _replace("annee: 2025", "annee: commun"),
     ["seul le programme PRF a l'année « commun »"]),
    ("unknown-key", "PSS-2025.yaml", _replace("    year: 2025\n", "    year: 2025\n    annee: 2025\n"),
     ["règle « PSS:annee-debut »", "annee : clé inconnue"]),
    ("unknown-path", "PSS-2025.yaml", _replace("formation.intitule_formation", "formation.intitule"),
     ["règle « PSS:intitule »", "chemin inconnu « formation.intitule »"]),
    ("session-field-at-action-level", "PSS-2025.yaml", _replace("applies_to: session", "applies_to: action"),
     ["règle « PSS:annee-debut »", "« session.date_debut » n'est pas un champ de niveau action"]),
    ("unknown-variable", "PSS-2025.yaml", _replace("débute le {value}", "débute le {valeur}"),
     ["variable(s) inconnue(s) ['valeur']"]),
    ("message-without-record", "PSS-2025.yaml", _replace("attendu exactement « {expected} » ({record})", "attendu « {expected} »"),
     ["règle « PSS:intitule »", "doit nommer ['{record}']"]),
    ("bad-severity", "PSS-2025.yaml", _replace("severity: bloquant", "severity: bloquante"),
     ["valeur « bloquante » non permise"]),
    ("yaml-duplicate-key", "PSS-2025.yaml", _replace("    year: 2025\n", "    year: 2025\n    year: 2026\n"),
     ["YAML illisible (ligne", "clé « year » en double"]),
    ("path-not-text", "PSS-2025.yaml", _replace("path: formation.certifiante", "path: 12"),
     ["règle « PSS:certifinfo »", "path : texte attendu"]),
    ("yaml-syntax", "PSS-2025.yaml", _replace("rules:\n", "rules:\n  - code: [\n"), ["YAML illisible (ligne"]),
    ("not-a-mapping", "PSS-2025.yaml", lambda t: "- a\n- b\n", ["doit être un dictionnaire"]),
    ("no-check", "PSS-2025.yaml", lambda t: t + '  - code: "PSS:vide"\n    checks: []\n',
     ["règle « PSS:vide »", "checks : liste trop courte"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "edit", "fragments"),
    [pytest.param(name, edit, fragments, id=case) for case, name, edit, fragments in BAD_FILES],
)
def test_bad_rule_files_are_refused_clearly(
    tmp_path: Path, name: str, edit: Edit, fragments: list[str]
) -> None:
    source = COMMON if name == COMMON.name else PSS_2025
    folder = _folder(tmp_path)
    (folder / name).write_text(edit(source.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(RuleFileError) as caught:
        load_rulebook(folder)
    message = str(caught.value)
    assert message.startswith(f"Fichier de règles {name} : "), message
    for fragment in fragments:
        assert fragment in message, message
    assert caught.value.path == folder / name


def test_programme_file_name_must_match_its_content(tmp_path: Path) -> None:
    path = tmp_path / "PSS-2025.yaml"
    path.write_text(
        PSS_2025.read_text(encoding="utf-8").replace("programme: PSS", "programme: pss")
    )
    with pytest.raises(
        RuleFileError, match=r"programme : « pss » ne suit pas le motif \^\[A-Z0-9\]\+\$"
    ):
        load_rule_file(path)


def test_folder_without_common_rules_or_with_yml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="dossier de règles introuvable"):
        load_rulebook(tmp_path / "absent")
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(PSS_2025, folder)
    (folder / "README.md").write_text("ignored")
    with pytest.raises(RuleFileError, match=r"^Fichier de règles PRF-commun.yaml : fichier absent"):
        load_rulebook(folder)
    shutil.copy(COMMON, folder)
    (folder / "PE-2025.yml").write_text("programme: PE\n")
    with pytest.raises(RuleFileError, match=r"PE-2025.yml : extension .yml"):
        load_rulebook(folder)
