"""Publication rules on the real rule files (``schemas/rules``): complete PSS and PE actions
pass, and each rule (each of its checks, each mandatory field) fails on its own with an exact
(rule, severity, record, field) and a message naming the record and the field.

The factories here (``pss_bundle``, ``pe_bundle``) serve ``test_rules_examples`` and
``test_rules_files`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from pipelines.transform.bundle import ActionBundle, Issue, SessionView
from pipelines.transform.rules import check_action, evaluate
from schemas.rules import Required, load_rulebook

SIRET_OF = "13000511900032"  # site dispensateur (the procedures' example)
SIRET_MANDATAIRE = "44306184100047"
BAD_SIRET = "12345678901234"
ACTION = "19482-89393"
S1, S2 = "19482-89393-143842", "19482-89393-143843"
PE_SESSION = "19482-89394-143850"

RULEBOOK = load_rulebook()


def tuples(issues: list[Issue]) -> list[tuple[str, str, str, str | None]]:
    return [(i.rule, i.severity, i.record, i.field) for i in issues]


def session(ref: str, debut: date, fin: date, **fields: object) -> SessionView:
    """A complete session; ``fields`` override its columns."""
    columns: dict[str, object] = {
        "siret": SIRET_OF,
        "ref_session": ref,
        "lieu_adresse": "2 rue de la Loire",
        "lieu_code_postal": "44000",
        "lieu_commune": "Nantes",
        "date_debut": debut,
        "date_fin": fin,
        "esp": "entrée/sortie à dates fixes",
        "rythme": "temps plein",
        "periodes": "du lundi au vendredi",
        "type_parcours": "collectif",
        "modalites_pedagogiques": "en établissement de formation, en entreprise",
        "modalite_enseignement": "formation en présentiel",
        "duree_centre_h": 420.0,
        "duree_entreprise_h": 70.0,
        "duree_hebdo_h": 35.0,
        "organisme_responsable_siret": SIRET_MANDATAIRE,
        "etat_recrutement": "ouvert",
        "modalites_recrutement": ["entretien", "tests"],
    }
    return SessionView(
        ref=ref,
        fields=columns | fields,
        informations_collectives=[
            {
                "date": debut,
                "heure_debut": "09:30",
                "heure_fin": "11:30",
                "lieu": "Nantes, 2 rue de la Loire",
                "commentaire": None,
            }
        ],
        referents={
            "pmr": {"nom": "Référente handicap", "email": "pmr@example.org", "telephone": None},
            "mobilite": {"nom": "Référent mobilité", "email": None, "telephone": "0240204020"},
        },
    )


def pss_bundle(annee: int = 2025) -> ActionBundle:
    """A complete PREPA Sanitaire et social action, as the November 2024 procedure asks."""
    return ActionBundle(
        ref=ACTION,
        siret=SIRET_OF,
        programme="PSS",
        annee=annee,
        formation={
            "siret": SIRET_OF,
            "ref_formation": "F-PSS",
            "intitule_formation": "Formation aide-soignant – Module préparatoire",
            "objectif_formation": "Préparer l'entrée en formation d'aide-soignant.",
            "code_niveau_sortie": "3",
            "famille_metier": "Santé",
            "formacodes": ["44022", "44004", "15084"],
            "domaine_principal": "44022",
            "certifiante": False,
            "code_certifinfo": None,
            "type_certification": None,
        },
        action={
            "siret": SIRET_OF,
            "ref_action": "A-PSS",
            "complement_intitule": "module gériatrie",
            "complement_programme": "<p>Remise à niveau <strong>contextualisée</strong>.</p>",
            "objectifs": "<ul><li>Réussir la sélection</li><li>Découvrir le métier</li></ul>",
            "plus_formation": "Stage en EHPAD &amp; en hôpital",
            "niveau_entree": "0",
        },
        dispositif={
            "programme_id": 1,
            "lot_id": 1,
            "action_region_id": 1,
            "public": "Demandeurs d’emploi",
            "nb_places_dispositif": 12,
            "prise_en_charge_frais": True,
            "numero_lot": "PSS2025_10",
            "id_action_cr": 2872,
            "of_mandataire_cr": 75,
        },
        lot={
            "numero_lot": "PSS2025_10",
            "intitule_lot": "PSS2025_10 - Lot 10 - Prépa sanitaire Loire-Atlantique",
            "of_mandataire_cr": 75,
            "forfait_recrutement": False,
        },
        action_region={"id_action_cr": 2872, "date_debut_prevue": date(annee, 3, 3)},
        mandataire_sirets={SIRET_MANDATAIRE, "44306184100039"},
        sessions=[
            session(S1, date(annee, 3, 3), date(annee, 6, 27)),
            session(S2, date(annee, 9, 8), date(annee, 12, 19)),
        ],
    )


def pe_bundle() -> ActionBundle:
    """A complete PASS Entreprendre action (February 2025 procedure), in a forfait lot."""
    return ActionBundle(
        ref="19482-89394",
        siret=SIRET_OF,
        programme="PE",
        annee=2025,
        formation={
            "siret": SIRET_OF,
            "ref_formation": "F-PE",
            "intitule_formation": (
                "Actions de formation dispensées aux créateurs et repreneurs d'entreprise"
            ),
            "objectif_formation": "Créer ou reprendre une entreprise.",
            "code_niveau_sortie": "0",
            "famille_metier": "Création d'entreprise",
            "formacodes": ["32047"],
            "certifiante": True,
            "code_certifinfo": "93561",
            "type_certification": "Autre certification sans niveau spécifique",
        },
        action={
            "siret": SIRET_OF,
            "ref_action": "A-PE",
            "complement_programme": None,
            "objectifs": None,
            "plus_formation": None,
            "niveau_entree": "Sans niveau spécifique",
        },
        dispositif={
            "programme_id": 2,
            "public": "Demandeur d'emploi",
            "nb_places_dispositif": 15,
            "prise_en_charge_frais": True,
            "numero_lot": "PE2025_12",
            "id_action_cr": 4259,
            "of_mandataire_cr": 386,
        },
        lot={
            "numero_lot": "PE2025_12",
            "intitule_lot": "PE2025_12 - Lot 12 - Création-reprise en Loire-Atlantique",
            "of_mandataire_cr": 386,
            "forfait_recrutement": True,
        },
        action_region={"id_action_cr": 4259, "date_debut_prevue": date(2025, 2, 10)},
        mandataire_sirets={SIRET_MANDATAIRE},
        sessions=[
            session(
                PE_SESSION,
                date(2025, 2, 10),
                date(2025, 5, 16),
                esp="Entrée/sortie cadencées",
                rythme="Temps plein",
                type_parcours="Mixte – modulaire",
                duree_entreprise_h=0,  # 0 h is an answer, not a blank
            )
        ],
    )


def check(bundle: ActionBundle) -> list[Issue]:
    issues, specific = check_action(bundle, RULEBOOK)
    assert specific
    return issues


def test_valid_pss_action_passes() -> None:
    assert check(pss_bundle()) == []


def test_valid_pe_action_passes() -> None:
    assert check(pe_bundle()) == []


# --------------------------------------------------------------------------- one rule at a time

Mutate = Callable[[ActionBundle], None]


def _set(namespace: str, name: str, value: object) -> Mutate:
    def mutate(bundle: ActionBundle) -> None:
        if namespace == "bundle":
            setattr(bundle, name, value)
        else:
            getattr(bundle, namespace)[name] = value

    return mutate


def _s2(name: str, value: object) -> Mutate:
    def mutate(bundle: ActionBundle) -> None:
        bundle.sessions[1].fields[name] = value

    return mutate


def _s2_referent(kind: str) -> Mutate:
    def mutate(bundle: ActionBundle) -> None:
        del bundle.sessions[1].referents[kind]

    return mutate


def _pe_session(name: str, value: object) -> Mutate:
    def mutate(bundle: ActionBundle) -> None:
        bundle.sessions[0].fields[name] = value

    return mutate


B, W = "bloquant", "avertissement"
FORMATION_FIELDS = [
    "siret",
    "intitule_formation",
    "objectif_formation",
    "code_niveau_sortie",
    "famille_metier",
]
ACTION_FIELDS = [
    ("bundle", "programme"),
    ("lot", "intitule_lot"),
    ("lot", "of_mandataire_cr"),
    ("action", "siret"),
    ("action", "niveau_entree"),
]
SESSION_FIELDS = [
    "lieu_adresse",
    "lieu_code_postal",
    "lieu_commune",
    "date_debut",
    "date_fin",
    "esp",
    "rythme",
    "periodes",
    "type_parcours",
    "modalites_pedagogiques",
    "modalite_enseignement",
    "duree_centre_h",
    "duree_entreprise_h",
    "organisme_responsable_siret",
    "etat_recrutement",
    "modalites_recrutement",
]


def _no_sessions(bundle: ActionBundle) -> None:
    bundle.sessions = []


def _no_ic(bundle: ActionBundle) -> None:
    bundle.sessions[1].informations_collectives = []


def _ic_without_lieu(bundle: ActionBundle) -> None:
    bundle.sessions[1].informations_collectives[0]["lieu"] = "  "


def _forfait(bundle: ActionBundle) -> None:
    bundle.lot["forfait_recrutement"] = True  # S1 starts on the planned date, S2 later


def _flag(rule: str, name: str, entry: object, frame: object) -> Mutate:
    def mutate(bundle: ActionBundle) -> None:
        bundle.flags.append({"rule": rule, "field": name, "entry": entry, "frame": frame})

    return mutate


def _responsable_bad_siret(bundle: ActionBundle) -> None:
    bundle.sessions[1].fields["organisme_responsable_siret"] = BAD_SIRET
    bundle.mandataire_sirets.add(BAD_SIRET)


def _pss_s2_in_2026(bundle: ActionBundle) -> None:
    bundle.sessions[1].fields |= {"date_debut": date(2026, 1, 5), "date_fin": date(2026, 4, 3)}


def _pe_start_2024(bundle: ActionBundle) -> None:
    bundle.sessions[0].fields["date_debut"] = date(2024, 12, 2)
    bundle.action_region["date_debut_prevue"] = date(2024, 12, 2)


Variant = tuple[str, Callable[[], ActionBundle], Mutate, tuple[str, str, str, str], str]

VARIANTS: list[Variant] = [
    *[
        ("champ-obligatoire", pss_bundle, _set("formation", f, None), (ACTION, f"formation.{f}"), "required")
        for f in FORMATION_FIELDS
    ],
    *[
        ("champ-obligatoire", pss_bundle, _set(ns, f, " "), (ACTION, f"{ns}.{f}"), "required")
        for ns, f in ACTION_FIELDS
    ],
    ("champ-obligatoire", pss_bundle, _no_sessions, (ACTION, "bundle.sessions"), "min_count"),
    *[
        ("champ-obligatoire", pss_bundle, _s2(f, None), (S2, f"session.{f}"), "required")
        for f in SESSION_FIELDS
    ],
    ("champ-obligatoire", pss_bundle, _s2("modalites_recrutement", []), (S2, "session.modalites_recrutement"), "required"),
    ("champ-obligatoire", pss_bundle, _s2("type_parcours", "Type de parcours inconnu"), (S2, "session.type_parcours"), "required"),
    ("champ-obligatoire", pss_bundle, _s2_referent("pmr"), (S2, "session.referents.pmr"), "required"),
    ("champ-obligatoire", pss_bundle, _s2_referent("mobilite"), (S2, "session.referents.mobilite"), "required"),
    ("champ-obligatoire", pss_bundle, _set("dispositif", "programme_id", None), (ACTION, "dispositif.programme_id"), "required"),
    ("longueur-max", pss_bundle, _set("action", "complement_programme", "é" * 3001), (ACTION, "action.complement_programme"), "max_length"),
    ("longueur-max", pss_bundle, _set("action", "objectifs", "<p>" + "x" * 3001 + "</p>"), (ACTION, "action.objectifs"), "max_length"),
    ("longueur-max", pss_bundle, _set("action", "plus_formation", "a&nbsp;" * 126), (ACTION, "action.plus_formation"), "max_length"),
    ("texte-interdit", pss_bundle, _set("action", "objectifs", "<table><tr><td>1</td></tr></table>"), (ACTION, "action.objectifs"), "forbidden_content"),
    ("texte-interdit", pss_bundle, _set("action", "objectifs", "Voir <img src='x.png'>"), (ACTION, "action.objectifs"), "forbidden_content"),
    ("texte-interdit", pss_bundle, _set("action", "objectifs", '<embed src="plaquette.pdf">'), (ACTION, "action.objectifs"), "forbidden_content"),
    ("texte-interdit", pss_bundle, _set("action", "objectifs", "Réussir\x07 la sélection"), (ACTION, "action.objectifs"), "forbidden_content"),
    ("information-collective-obligatoire", pss_bundle, _no_ic, (S2, "session.informations_collectives"), "min_count"),
    ("information-collective-obligatoire", pss_bundle, _ic_without_lieu, (S2, "session.informations_collectives"), "min_count"),
    ("organisme-responsable-mandataire", pss_bundle, _s2("organisme_responsable_siret", SIRET_OF), (S2, "session.organisme_responsable_siret"), "equals_field"),
    ("nb-places-dispositif", pss_bundle, _set("dispositif", "nb_places_dispositif", None), (ACTION, "dispositif.nb_places_dispositif"), "required"),
    ("nb-places-dispositif", pss_bundle, _flag("nb-places-dispositif", "nb_places_dispositif", 15, 12), (ACTION, "dispositif.nb_places_dispositif"), "flag"),
    ("prise-en-charge-frais", pss_bundle, _set("dispositif", "prise_en_charge_frais", False), (ACTION, "dispositif.prise_en_charge_frais"), "equals"),
    ("prise-en-charge-frais", pss_bundle, _set("dispositif", "prise_en_charge_frais", None), (ACTION, "dispositif.prise_en_charge_frais"), "equals"),
    ("public-demandeur-emploi", pss_bundle, _set("dispositif", "public", "salarié"), (ACTION, "dispositif.public"), "one_of"),
    ("codes-externes", pss_bundle, _set("dispositif", "numero_lot", None), (ACTION, "dispositif.numero_lot"), "required"),
    ("codes-externes", pss_bundle, _set("dispositif", "id_action_cr", None), (ACTION, "dispositif.id_action_cr"), "required"),
    ("codes-externes", pss_bundle, _set("dispositif", "of_mandataire_cr", None), (ACTION, "dispositif.of_mandataire_cr"), "required"),
    ("codes-externes", pss_bundle, _flag("codes-externes", "dispositif.id_action_cr", 2873, 2872), (ACTION, "dispositif.id_action_cr"), "flag"),
    ("organisme-responsable-mandataire", pss_bundle, _flag("organisme-responsable-mandataire", "dispositif.of_mandataire_cr", "73282932000074", "13000511900032"), (ACTION, "dispositif.of_mandataire_cr"), "flag"),
    ("siret", pss_bundle, _flag("siret", "dispositif.of_mandataire_cr", "13000511900033", "13000511900032"), (ACTION, "dispositif.of_mandataire_cr"), "flag"),
    ("forfait-recrutement-date", pss_bundle, _forfait, (S2, "session.date_debut"), "equals_field"),
    ("dates-session", pss_bundle, _s2("date_fin", date(2025, 9, 1)), (S2, "session.date_fin"), "date_order"),
    ("dates-session", pss_bundle, _s2("date_fin", date(9999, 12, 31)), (S2, "session.date_fin"), "no_placeholder_date"),
    ("dates-session", pss_bundle, _s2("date_fin", date(2100, 6, 30)), (S2, "session.date_fin"), "no_placeholder_date"),
    ("dates-session", pss_bundle, _s2("date_debut", date(2025, 1, 1)), (S2, "session.date_debut"), "no_placeholder_date"),
    ("siret", pss_bundle, _set("formation", "siret", BAD_SIRET), (ACTION, "formation.siret"), "valid_siret"),
    ("siret", pss_bundle, _set("action", "siret", "1300051190003"), (ACTION, "action.siret"), "valid_siret"),
    ("siret", pss_bundle, _s2("siret", BAD_SIRET), (S2, "session.siret"), "valid_siret"),
    ("siret", pss_bundle, _responsable_bad_siret, (S2, "session.organisme_responsable_siret"), "valid_siret"),
    ("PSS:certifinfo", pss_bundle, _set("formation", "certifiante", True), (ACTION, "formation.certifiante"), "equals"),
    ("PSS:intitule", pss_bundle, _set("formation", "intitule_formation", "Formation aide-soignant - Module préparatoire"), (ACTION, "formation.intitule_formation"), "equals"),
    ("PSS:formacodes", pss_bundle, _set("formation", "formacodes", ["44022", "44004"]), (ACTION, "formation.formacodes"), "set_equals"),
    ("PSS:annee-debut", pss_bundle, _pss_s2_in_2026, (S2, "session.date_debut"), "year_equals"),
    ("PSS:esp", pss_bundle, _s2("esp", "entrées/sorties permanentes"), (S2, "session.esp"), "one_of"),
    ("PE:certifinfo", pe_bundle, _set("formation", "certifiante", False), ("19482-89394", "formation.certifiante"), "equals"),
    ("PE:certifinfo", pe_bundle, _set("formation", "code_certifinfo", "93560"), ("19482-89394", "formation.code_certifinfo"), "equals"),
    ("PE:type-certification", pe_bundle, _set("formation", "type_certification", "Titre professionnel"), ("19482-89394", "formation.type_certification"), "equals"),
    ("PE:annee-debut", pe_bundle, _pe_start_2024, (PE_SESSION, "session.date_debut"), "year_equals"),
    ("PE:esp", pe_bundle, _pe_session("esp", "entrées/sorties permanentes"), (PE_SESSION, "session.esp"), "one_of"),
    ("PE:rythme", pe_bundle, _pe_session("rythme", "temps partiel"), (PE_SESSION, "session.rythme"), "equals"),
    ("PE:type-parcours", pe_bundle, _pe_session("type_parcours", "individualisé"), (PE_SESSION, "session.type_parcours"), "equals"),
]  # fmt: skip


def _label(rule_code: str, path: str) -> str:
    for rule in [*RULEBOOK.common.rules, *(r for f in RULEBOOK.files.values() for r in f.rules)]:
        if rule.code == rule_code:
            for check_ in rule.checks:
                for ref in check_.fields:
                    if ref.path == path:
                        return ref.label
    raise AssertionError(f"{rule_code} has no field {path}")


@pytest.mark.parametrize(
    ("rule", "factory", "mutate", "where", "kind"),
    [pytest.param(*v, id=f"{v[0]}:{v[3][1]}:{i}") for i, v in enumerate(VARIANTS)],
)
def test_each_rule_fails_alone(
    rule: str,
    factory: Callable[[], ActionBundle],
    mutate: Mutate,
    where: tuple[str, str],
    kind: str,
) -> None:
    bundle = factory()
    rules, _ = RULEBOOK.rules_for(bundle.programme, bundle.annee)
    mutate(bundle)
    issues = evaluate(bundle, rules)
    severity = W if kind == "flag" else B
    assert tuples(issues) == [(rule, severity, *where)]
    record, path = where
    assert record in issues[0].message
    assert _label(rule, path) in issues[0].message


def test_every_rule_check_and_mandatory_field_has_a_failing_variant() -> None:
    declared = {
        (rule.code, c.kind)
        for rules in (RULEBOOK.common.rules, *(f.rules for f in RULEBOOK.files.values()))
        for rule in rules
        for c in rule.checks
    }
    assert declared == {(v[0], v[4]) for v in VARIANTS}
    mandatory = {
        ref.path
        for c in RULEBOOK.common.rules[0].checks
        if isinstance(c, Required)
        for ref in c.fields
    }
    assert mandatory <= {v[3][1] for v in VARIANTS if v[0] == "champ-obligatoire"}
