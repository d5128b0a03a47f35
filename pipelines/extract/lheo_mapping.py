"""One LHEO ``<formation>`` -> rows of the entry tables ``formations`` and ``actions``.

The mapping is the table of ``pipelines/extract/lheo.py``; sessions and informations
collectives are in :mod:`pipelines.extract.lheo_sessions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.extract.lheo_nodes import Element, Lheo, digest, extra_name, numero, pick, text_of
from pipelines.extract.lheo_sessions import ActionContext, Row, map_sessions
from pipelines.extract.lheo_tables import DICT_PUBLIC, labels
from schemas.entries import ENTRY_SHEETS

#: ``extra/@info`` names read for each column (compared folded: lower case, no accents, ``-``).
#: Intercarif names first where Intercarif has one (``duree-hebdo``), then the names of
#: ``shared/lheo/README.md`` (``codes-externes``: ``numero-lot``, ``id-action-cr``...).
ACTION_EXTRAS: dict[str, tuple[str, ...]] = {
    "id_action_cr": ("id-action-cr", "id-action", "identifiant-action-cr"),
    "numero_lot": ("numero-lot", "numero-lot-cr", "lot"),
    "of_mandataire_cr": ("of-mandataire-cr", "of-mandataire", "mandataire-cr"),
    "complement_intitule": ("complement-intitule",),
    "complement_programme": ("complement-programme",),
    "objectifs": ("objectifs", "objectifs-action"),
    "resultats_attendus": ("resultats-attendus-action", "resultats-attendus"),
    "plus_formation": ("le-plus-formation", "plus-formation", "mon-plus-formation"),
    "url_video": ("url-video",),
    "url_pdf": ("url-pdf",),
    "commentaires": ("commentaire-prerequis", "commentaires-prerequis", "commentaires"),
    "nb_places_restantes": ("nb-places-restantes",),
    "effectif_minimal": ("effectif-minimal",),
    "capacite_simultanee": ("capacite-simultanee",),
    "frais_ht": ("frais-ht",),
    "taux_tva": ("taux-tva",),
    "frais_ttc": ("frais-ttc",),
    "frais_certification": ("frais-certification", "frais-anpec"),
}
FORMATION_EXTRAS: dict[str, tuple[str, ...]] = {
    "famille_metier": ("famille-metier",),
    "type_certification": ("type-certification",),
}
#: Code of the Conseil régional in ``dict-financeurs``.
FINANCEUR_REGION = "2"


@dataclass(frozen=True)
class _Formation:
    """What the rows of a formation's actions take from the formation."""

    ref_formation: str
    siret_responsable: str | None
    parcours: str | None
    niveau_entree: str | None


@dataclass
class FormationRows:
    """What one ``<formation>`` gives.

    Attributes:
        rows: entry table -> ``(XML line, row)`` in document order.
        computed_refs: references computed because ``@numero`` was absent.
        unknown_dates: lines of ``date-information`` with an unknown date (ignored).
    """

    rows: dict[str, list[tuple[int, Row]]] = field(
        default_factory=lambda: {spec.name: [] for spec in ENTRY_SHEETS}
    )
    computed_refs: int = 0
    unknown_dates: list[int] = field(default_factory=list)


def map_formation(formation: Element, lh: Lheo) -> FormationRows:
    """Map one ``<formation>`` (and everything under it) to entry rows.

    A formation gives one ``formations`` row per distinct SIRET of its actions (an action's
    rows carry its site's SIRET, and point to the formation under that SIRET): the first at
    the formation's line, the others at the line of their first action.
    """
    out = FormationRows()
    responsable = lh.find(formation, "organisme-formation-responsable")
    siret_responsable = lh.text(responsable, "SIRET-organisme-formation/SIRET")
    skip = (lh.tag("action"), lh.tag("organisme-formation-responsable"))
    extras = lh.extras(child for child in formation if child.tag not in skip)
    formacodes = _formacodes(formation, lh)
    certifinfo = lh.text(formation, "certification/code-CERTIFINFO")
    intitule = lh.text(formation, "intitule-formation")
    ref = numero(formation)
    if ref is None:
        ref = digest("formation", siret_responsable, intitule, formacodes, certifinfo)
        out.computed_refs += 1
    base: Row = {
        "ref_formation": ref,
        "intitule_formation": intitule,
        "objectif_formation": lh.text(formation, "objectif-formation"),
        "resultats_attendus": lh.text(formation, "resultats-attendus"),
        "contenu_formation": lh.text(formation, "contenu-formation"),
        "code_niveau_sortie": lh.text(formation, "code-niveau-sortie"),
        "formacodes": formacodes,
        "certifiante": "1" if certifinfo else lh.text(formation, "certifiante"),
        "code_certifinfo": certifinfo,
        **{column: pick([extras], names) for column, names in FORMATION_EXTRAS.items()},
    }
    context = _Formation(
        ref,
        siret_responsable,
        lh.text(formation, "parcours-de-formation"),
        lh.text(formation, "code-niveau-entree"),
    )
    lines: dict[str | None, int] = {}
    for action in lh.findall(formation, "action"):
        siret = _map_action(action, context, lh, out)
        lines.setdefault(siret, _line(action) if lines else _line(formation))
    if not lines:
        lines[siret_responsable] = _line(formation)
    out.rows["formations"] = [(line, {"siret": s, **base}) for s, line in lines.items()]
    return out


def _line(element: Element) -> int:
    return int(element.sourceline or 0)


def _formacodes(formation: Element, lh: Lheo) -> str | None:
    """Formacodes joined by ``;``, the principal one first (the first, or ``tag="principal"``)."""
    codes = lh.findall(formation, "domaine-formation/code-FORMACODE")
    principal = [c for c in codes if (c.get("tag") or "").strip().lower() == "principal"][:1]
    ordered = principal + [c for c in codes if c not in principal]
    texts = [(c.text or "").strip() for c in ordered]
    return ";".join(dict.fromkeys(t for t in texts if t)) or None


def _map_action(action: Element, context: _Formation, lh: Lheo, out: FormationRows) -> str | None:
    """Add the ``actions`` row of ``action`` (and its sessions' rows); return its SIRET."""
    sessions = lh.findall(action, "session")
    own = lh.extras(child for child in action if child.tag != lh.tag("session"))
    extras = [own, *(lh.extras([s]) for s in sessions)]
    siret = (
        lh.text(action, "lieu-de-formation/SIRET-lieu-formation/SIRET")
        or lh.text(action, "organisme-formateur/SIRET-formateur/SIRET")
        or context.siret_responsable
    )
    values = {column: pick(extras, names) for column, names in ACTION_EXTRAS.items()}
    ref = numero(action)
    if ref is None:
        parts = (context.ref_formation, siret, values["id_action_cr"], values["numero_lot"])
        ref = digest("action", *parts)
        out.computed_refs += 1
    region = next(
        (
            f
            for f in lh.findall(action, "organisme-financeur")
            if lh.text(f, "code-financeur") == FINANCEUR_REGION
        ),
        None,
    )
    url_action, url_video, url_pdf = _urls(lh.texts(action, "url-action/urlweb"))
    row: Row = {
        "siret": siret,
        "ref_action": ref,
        "ref_formation": context.ref_formation,
        **values,
        "url_action": url_action,
        "url_video": values["url_video"] or url_video,
        "url_pdf": values["url_pdf"] or url_pdf,
        "type_equipement": labels(
            "dict-type-equipement", lh.texts(action, "equipement/type-equipement")
        ),
        "niveau_entree": context.niveau_entree,
        "prerequis": lh.text(action, "conditions-specifiques"),
        "public": labels(DICT_PUBLIC, _public(action, region, lh)),
        "nb_places_dispositif": lh.text(region, "nb-places-financees"),
        "frais_ttc": values["frais_ttc"] or lh.text(action, "prix-total-TTC"),
        "frais_additionnels": lh.text(action, "frais-restants"),
        "prise_en_charge_frais": lh.text(action, "prise-en-charge-frais-possible"),
    }
    out.rows["actions"].append((_line(action), row))
    session_context = ActionContext(siret, ref, context.siret_responsable, context.parcours, own)
    out.computed_refs += map_sessions(
        action, sessions, session_context, lh, out.rows, out.unknown_dates
    )
    return siret


def _public(action: Element, region: Element | None, lh: Lheo) -> list[str]:
    """The financed public (Intercarif: the Région's ``specificites/code-public-vise`` extra),
    else the action's ``code-public-vise``."""
    financed = [
        text
        for extra in (region.iter(lh.tag("extra")) if region is not None else ())
        if extra_name(extra.get("info")) == "code-public-vise" and (text := text_of(extra))
    ]
    return financed or lh.texts(action, "code-public-vise")


def _urls(urls: list[str]) -> tuple[str | None, str | None, str | None]:
    """``url-action/urlweb`` [1,3] -> (action, vidéo, PDF): the first is the action's page, a
    later one ending in ``.pdf`` the PDF, another one the video."""
    first, rest = (urls[0] if urls else None), urls[1:]
    pdf = next((u for u in rest if u.lower().split("?")[0].endswith(".pdf")), None)
    video = next((u for u in rest if u != pdf), None)
    return first, video, pdf
