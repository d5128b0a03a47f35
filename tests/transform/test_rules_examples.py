"""The procedures' examples, messages, order of issues and what counts as text, on the real
rule files: each passes or fails as the PSS (November 2024) and PE (February 2025) procedures say.
"""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.transform.rules import evaluate, is_blocking
from pipelines.transform.rules_text import THOUSANDS, visible_text
from tests.transform.test_rules import (
    ACTION,
    RULEBOOK,
    S1,
    S2,
    B,
    check,
    pe_bundle,
    pss_bundle,
    tuples,
)

# --------------------------------------------------------------------------- messages


def test_messages_name_record_and_field_french_style() -> None:
    bundle = pss_bundle()
    bundle.sessions[0].fields["date_fin"] = None
    bundle.action["objectifs"] = "x" * 3412
    assert [i.message for i in check(bundle)] == [
        "Le champ Date fin est obligatoire (session 19482-89393-143842).",
        f"Objectifs : 3{THOUSANDS}412 caractères, 3{THOUSANDS}000 au plus (action 19482-89393).",
    ]


def test_message_of_a_flag_and_of_forbidden_content() -> None:
    bundle = pss_bundle()
    bundle.flags.append(
        {"rule": "nb-places-dispositif", "field": "nb_places_dispositif", "entry": 15, "frame": 12}
    )
    bundle.action["objectifs"] = "<p>Voir</p><img src='a.png'>\x0b"
    issues = check(bundle)
    assert [i.message for i in issues] == [
        "Objectifs : ni tableau, ni image, ni document intégré, ni caractère de contrôle ; "
        "trouvé : une image, caractère(s) de contrôle U+000B (action 19482-89393).",
        "Nb places dispositif : la saisie indiquait 15, le bon de commande de la Région 12 ; la "
        "valeur de la Région est retenue (dispositif de l'action 19482-89393).",
    ]
    assert is_blocking(issues)
    assert not is_blocking(issues[1:])  # a warning alone never blocks


def test_a_flag_is_reported_by_the_rule_it_names_only() -> None:
    bundle = pss_bundle()
    bundle.flags.append({"rule": "regle-inconnue", "field": "public", "entry": 1, "frame": 2})
    assert check(bundle) == []


def test_issues_come_in_rule_then_session_order_and_twice_the_same() -> None:
    bundle = pss_bundle()
    for s in bundle.sessions:
        s.fields["esp"] = "permanente"
        s.informations_collectives = []
    bundle.formation["certifiante"] = True
    expected = [
        ("information-collective-obligatoire", B, S1, "session.informations_collectives"),
        ("information-collective-obligatoire", B, S2, "session.informations_collectives"),
        ("PSS:certifinfo", B, ACTION, "formation.certifiante"),
        ("PSS:esp", B, S1, "session.esp"),
        ("PSS:esp", B, S2, "session.esp"),
    ]
    assert tuples(check(bundle)) == expected
    assert check(bundle) == check(bundle)


# --------------------------------------------------------------------------- the procedures' examples


@pytest.mark.parametrize(
    ("intitule", "passes"),
    [
        ("Formation aide-soignant – Module préparatoire", True),
        ("  Formation aide-soignant – Module préparatoire ", True),
        ("Formation aide-soignant - Module préparatoire", False),  # hyphen, not the en dash
        ("Formation aide-soignant — Module préparatoire", False),
        ("formation aide-soignant – module préparatoire", False),
        ("Formation aide-soignant – Module préparatoire (Nantes)", False),
    ],
)
def test_pss_intitule_is_compared_as_written(intitule: str, passes: bool) -> None:
    bundle = pss_bundle()
    bundle.formation["intitule_formation"] = intitule
    assert [i.rule for i in check(bundle)] == ([] if passes else ["PSS:intitule"])


@pytest.mark.parametrize(
    ("formacodes", "passes"),
    [
        (["15084", "44022", "44004"], True),
        ("44022;44004 / 15084", True),
        (["44022", "44004", "15084", "44028"], False),
        (["44022"], False),
        ([], False),
    ],
)
def test_pss_formacodes_exactly(formacodes: object, passes: bool) -> None:
    bundle = pss_bundle()
    bundle.formation["formacodes"] = formacodes
    assert [i.rule for i in check(bundle)] == ([] if passes else ["PSS:formacodes"])


def test_pss_formacodes_message_lists_what_is_missing() -> None:
    bundle = pss_bundle()
    bundle.formation["formacodes"] = ["44022", "44028"]
    (issue,) = check(bundle)
    assert issue.message == (
        "Formacodes (domaine formation) : 44022, 44028 ; attendus exactement 44022, 44004, "
        "15084 (formation de l'action 19482-89393)."
    )


@pytest.mark.parametrize(
    ("esp", "pss", "pe"),
    [
        ("entrée/sortie à dates fixes", True, True),
        ("Entrées/sorties à dates fixes", True, True),
        ("ENTREE/SORTIE A DATES FIXES", True, True),
        ("Entrée/sortie cadencées", False, True),
        ("entrée/sortie cadencées ou séquencées", False, True),
        ("Entrées / sorties séquencées", False, True),
        ("entrées/sorties permanentes", False, False),
    ],
)
def test_esp_per_programme(esp: str, pss: bool, pe: bool) -> None:
    for factory, passes, code in ((pss_bundle, pss, "PSS:esp"), (pe_bundle, pe, "PE:esp")):
        bundle = factory()
        for s in bundle.sessions:
            s.fields["esp"] = esp
        codes = [i.rule for i in check(bundle)]
        assert codes == ([] if passes else [code] * len(bundle.sessions)), factory.__name__


@pytest.mark.parametrize(
    ("field", "value", "passes"),
    [
        ("rythme", "temps plein", True),
        ("rythme", "Temps  plein", True),
        ("rythme", "temps partiel", False),
        ("type_parcours", "mixte - modulaire", True),
        ("type_parcours", "Mixte – modulaire", True),
        ("type_parcours", "MIXTE—MODULAIRE", True),
        ("type_parcours", "individualisé", False),
        ("type_parcours", "collectif", False),
    ],
)
def test_pe_rythme_and_type_parcours(field: str, value: str, passes: bool) -> None:
    bundle = pe_bundle()
    bundle.sessions[0].fields[field] = value
    code = {"rythme": "PE:rythme", "type_parcours": "PE:type-parcours"}[field]
    assert [i.rule for i in check(bundle)] == ([] if passes else [code])


@pytest.mark.parametrize(
    ("certifiante", "code", "failing"),
    [
        (True, "93561", []),
        (True, " 93561 ", []),
        (True, 93561, []),
        (True, "93560", ["formation.code_certifinfo"]),
        (True, None, ["formation.code_certifinfo"]),
        (False, None, ["formation.certifiante", "formation.code_certifinfo"]),
        (None, "93561", ["formation.certifiante"]),
    ],
)
def test_pe_certifinfo_93561(certifiante: object, code: object, failing: list[str]) -> None:
    bundle = pe_bundle()
    bundle.formation |= {"certifiante": certifiante, "code_certifinfo": code}
    assert [(i.rule, i.field) for i in check(bundle)] == [("PE:certifinfo", f) for f in failing]


@pytest.mark.parametrize(
    ("start", "passes"),
    [(date(2025, 1, 6), True), (date(2025, 12, 31), True), (date(2024, 12, 2), False),
     (date(2026, 1, 5), False)],
)  # fmt: skip
def test_sessions_start_in_2025(start: date, passes: bool) -> None:
    for factory, code in ((pss_bundle, "PSS:annee-debut"), (pe_bundle, "PE:annee-debut")):
        bundle = factory()
        bundle.lot["forfait_recrutement"] = False
        bundle.sessions[0].fields |= {"date_debut": start, "date_fin": date(2027, 1, 29)}
        assert [i.rule for i in check(bundle)] == ([] if passes else [code])


def test_forfait_recrutement_session_starting_on_the_planned_date_passes() -> None:
    bundle = pss_bundle()
    bundle.lot["forfait_recrutement"] = True
    bundle.sessions[1].fields["date_debut"] = bundle.action_region["date_debut_prevue"]
    assert check(bundle) == []
    bundle.action_region["date_debut_prevue"] = None  # no planned date: nothing to compare to
    bundle.sessions[1].fields["date_debut"] = date(2025, 9, 8)
    assert check(bundle) == []


def test_a_referent_is_its_contact() -> None:
    bundle = pss_bundle()
    store_row = {"id": 7, "session_id": 3, "type": "pmr", "nom": None, "email": " "}
    bundle.sessions[0].referents["pmr"] = store_row | {"telephone": None}
    assert tuples(check(bundle)) == [("champ-obligatoire", B, S1, "session.referents.pmr")]
    bundle.sessions[0].referents["pmr"] = store_row | {"telephone": "02 40 20 40 20"}
    assert check(bundle) == []


def test_mandatory_zero_and_false_are_answers() -> None:
    bundle = pss_bundle()
    bundle.sessions[0].fields["duree_entreprise_h"] = 0.0
    assert check(bundle) == []


# --------------------------------------------------------------------------- markup


def test_lengths_count_the_visible_text() -> None:
    assert visible_text("<p>Stage&nbsp;en <b>EHPAD</b></p>\n\n<br/>") == "Stage en EHPAD"
    assert visible_text("a < b et c > d") == "a < b et c > d"
    bundle = pss_bundle()
    bundle.action["objectifs"] = "<p><strong>" + "x" * 2990 + "</strong></p>" * 5
    bundle.action["plus_formation"] = "<em>" + "é" * 250 + "</em>"
    assert check(bundle) == []


def test_evaluate_with_common_rules_only() -> None:
    rules, specific = RULEBOOK.rules_for("PSS", 2025)
    common = rules[: len(RULEBOOK.common.rules)]
    bundle = pss_bundle()
    bundle.formation["intitule_formation"] = "Autre intitulé"
    assert evaluate(bundle, common) == []
    assert specific
