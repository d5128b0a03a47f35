"""The sessions of one store action -> ``<action>`` elements (LHEO 2.3 / 2.2).

LHEO holds at action level what SOFI holds per session (lieu, ESP, rythme, durées, modalités):
sessions that agree on all of it share one ``<action>``; sessions that differ are written as
further ``<action>`` elements (same ``@numero``, the action's FAS code) under the formation
(``shared/lheo/README.md`` §(g) 2). Values below come from the group's first session (S), the
action (A) and the dispositif (D); ``x[g/n]`` = ``extras info=g`` / ``extra info=n``.

===============================  ===============================================================
LHEO (in XSD order)              store
===============================  ===============================================================
rythme-formation                 S rythme (``-`` when none)
code-public-vise ``@ref`` V13    D public -> Formacode (80006 demandeur d'emploi by default)
info-public-vise                 D public (text)
niveau-entree-obligatoire        0 (SOFI has no such field)
modalites-alternance             « En centre de formation (455 h) et en entreprise (210 h). »
                                 when there are company hours, else ``-``
modalites-enseignement           S modalité d'enseignement (default 0, présentiel)
conditions-specifiques           A prérequis + commentaires, else « aucune »
prise-en-charge-frais-possible   D prise en charge (default 1: a PRF action is financed)
lieu-de-formation                S lieu; 2.3: with SIRET-lieu-formation = site, left out when
                                 the lieu is unknown; 2.2: exactly one (else the site's address)
modalites-entrees-sorties        S ESP; « cadencées ou séquencées » (no code): 0 + x[sofi-action/
                                 esp]
url-action                       A url_action, url_video, url_pdf (in that order)
session                          see :mod:`~pipelines.transform.lheo_export_session`
adresse-information,             2.2 only: the informations collectives' first address and
date-information                 first three dates
modalites-recrutement            S modalités de recrutement (labels, « ; »)
modalites-pedagogiques           S modalités pédagogiques (text, ≤ 200)
code-modalite-pedagogique        S périodes (9641x) and FOAD (96128), ``@ref`` V13
equipement                       2.3: A types d'équipement (dict-type-equipement); 2.2: x[sofi-
                                 action/type-equipement]
frais-restants                   D frais additionnels
prix-total-TTC                   D frais TTC (``5835.06``)
duree-indicative                 S commentaire durée (≤ 150)
nombre-heures-centre/-entreprise S durées (hours rounded half up: ``xs:long``); total = sum
conventionnement                 1 (financed by the Région)
organisme-formateur              the site: SIRET, raison sociale
organisme-financeur              code-financeur 2 (Conseil régional), nb-places-financees = D nb
                                 places dispositif; x[specificites/programme-financeur] (the
                                 programme's libellé), x[specificites/code-public-vise];
                                 x[codes-externes/numero-lot, id-action-cr, of-mandataire-cr,
                                 code-programme]
extras                           x[duree-hebdo/duree-hebdo] (Intercarif); x[frais-pedagogiques/
                                 frais-ht, taux-tva, frais-ttc, frais-certification] (EDOF);
                                 x[sofi-action/complement-intitule, le-plus-formation, url-video,
                                 url-pdf, esp, nb-places-restantes, effectif-minimal,
                                 capacite-simultanee]
===============================  ===============================================================
"""

from __future__ import annotations

from typing import Any

from pipelines.transform import lheo_export_text as tx
from pipelines.transform.bundle import ActionBundle, SessionView
from pipelines.transform.lheo_export_codes import (
    FORMACODE_VERSION,
    code,
    codes,
    modalites_pedagogiques,
    publics,
)
from pipelines.transform.lheo_export_session import Address, session
from pipelines.transform.lheo_export_xml import Element, Xml, url

#: Session columns LHEO keeps on the action: sessions that differ on one go to separate actions.
ACTION_COLUMNS = (
    "lieu_adresse", "lieu_code_postal", "lieu_commune", "esp", "rythme", "periodes",
    "modalites_pedagogiques", "modalite_enseignement", "duree_centre_h", "duree_entreprise_h",
    "duree_hebdo_h", "commentaire_duree",
)  # fmt: skip
#: dict-financeurs: Collectivité territoriale - Conseil régional
FINANCEUR_REGION = "2"
#: dict-modalites-es when the ESP has no LHEO code (« cadencées ou séquencées »): fixed dates
#: (several planned entries), the SOFI label going to ``extra info="esp"``.
ESP_DEFAUT = "0"


def group_sessions(sessions: list[SessionView]) -> list[list[SessionView]]:
    """Sessions grouped by their action-level columns, in order of first appearance."""
    groups: dict[tuple[Any, ...], list[SessionView]] = {}
    for view in sessions:
        key = tuple(repr(view.fields.get(c)) for c in ACTION_COLUMNS)
        groups.setdefault(key, []).append(view)
    return list(groups.values())


def lieu(view: SessionView) -> Address | None:
    """The session's place (lines, postal code, town), None when it has no postal code or town."""
    f = view.fields
    if not (f.get("lieu_code_postal") and f.get("lieu_commune")):
        return None
    return f.get("lieu_adresse"), f.get("lieu_code_postal"), f.get("lieu_commune")


def action(
    x: Xml,
    parent: Element,
    bundle: ActionBundle,
    views: list[SessionView],
    fallback: Address | None,
    dates: dict[str, str | None],
) -> None:
    """Append one ``<action>`` holding ``views`` (sessions that agree on the action columns).

    Args:
        x: the version's builder.
        parent: the ``<formation>``.
        bundle: the store action.
        views: its sessions for this ``<action>``.
        fallback: the address used when the sessions have no place (the site's, else the
            responsable's), for ``lieu-de-formation`` (2.2) and ``adresse-inscription``.
        dates: ``datecrea``, ``datemaj`` of the action, and each session's ``datemaj`` by ref.
    """
    a, d, f = bundle.action, bundle.dispositif, views[0].fields
    element = x.sub(
        parent, "action",
        attrib={"numero": bundle.ref, "datecrea": dates["datecrea"], "datemaj": dates["datemaj"]},
    )  # fmt: skip
    x.required(element, "rythme-formation", f.get("rythme"))
    for public in publics(d.get("public")):
        x.sub(element, "code-public-vise", public, {"ref": FORMACODE_VERSION})
    x.text(element, "info-public-vise", d.get("public"))
    x.leaf(element, "niveau-entree-obligatoire", "0")
    x.required(element, "modalites-alternance", _alternance(f))
    x.leaf(
        element,
        "modalites-enseignement",
        code("dict-modalites-enseignement", f.get("modalite_enseignement")) or "0",
    )
    prerequis = tx.join(a.get("prerequis"), a.get("commentaires"), "\n")
    x.required(element, "conditions-specifiques", prerequis, default="aucune")
    x.leaf(
        element,
        "prise-en-charge-frais-possible",
        "0" if d.get("prise_en_charge_frais") is False else "1",
    )
    place = lieu(views[0])
    if x.v23 and place is not None:
        lieu_element = x.sub(element, "lieu-de-formation")
        x.sub(x.sub(lieu_element, "SIRET-lieu-formation"), "SIRET", bundle.siret)
        x.coordonnees(lieu_element, address=place)
    elif not x.v23:
        x.coordonnees(x.sub(element, "lieu-de-formation"), address=place or fallback)
    esp = code("dict-modalites-es", f.get("esp"))
    x.leaf(element, "modalites-entrees-sorties", esp or ESP_DEFAUT)
    urls = [u for u in (url(a.get(k)) for k in ("url_action", "url_video", "url_pdf")) if u]
    if urls:
        block = x.sub(element, "url-action")
        for found in urls:
            x.leaf(block, "urlweb", found)
    for view in views:
        session(x, element, view, place or fallback or ("", "", ""), dates.get(view.ref))
    if not x.v23:
        _information_22(x, element, views)
    labels = [str(m) for v in views for m in (v.fields.get("modalites_recrutement") or [])]
    x.text(element, "modalites-recrutement", " ; ".join(dict.fromkeys(labels)) or None)
    x.text(
        element,
        "modalites-pedagogiques",
        (f.get("modalites_pedagogiques") or "").replace(";", ", ") or None,
    )
    for modalite in modalites_pedagogiques(f.get("periodes"), f.get("modalites_pedagogiques")):
        x.sub(element, "code-modalite-pedagogique", modalite, {"ref": FORMACODE_VERSION})
    equipements = codes("dict-type-equipement", a.get("type_equipement"))
    if x.v23:
        for equipement in equipements:
            x.sub(x.sub(element, "equipement"), "type-equipement", equipement)
    x.text(element, "frais-restants", d.get("frais_additionnels"))
    ttc = tx.amount(d.get("frais_ttc"))
    x.opt(element, "prix-total-TTC", ttc if ttc and len(ttc) <= 10 else None)
    x.text(element, "duree-indicative", f.get("commentaire_duree"))
    centre, entreprise = (
        tx.integer(f.get("duree_centre_h")),
        tx.integer(f.get("duree_entreprise_h")),
    )
    x.opt(element, "nombre-heures-centre", centre)
    x.opt(element, "nombre-heures-entreprise", entreprise)
    total = (
        (centre or 0) + (entreprise or 0) if centre is not None or entreprise is not None else None
    )
    x.opt(element, "nombre-heures-total", total)
    x.leaf(element, "conventionnement", "1")
    formateur = x.sub(element, "organisme-formateur")
    x.sub(x.sub(formateur, "SIRET-formateur"), "SIRET", bundle.siret)
    site = bundle.organismes.get(bundle.siret, {})
    x.required(formateur, "raison-sociale-formateur", site.get("raison_sociale"))
    _financeur(x, element, bundle)
    x.extras(element, "duree-hebdo", [("duree-hebdo", tx.number(f.get("duree_hebdo_h")))])
    x.extras(element, "frais-pedagogiques", [
        ("frais-ht", tx.amount(d.get("frais_ht"))), ("taux-tva", tx.number(d.get("taux_tva"))),
        ("frais-ttc", ttc), ("frais-certification", tx.amount(d.get("frais_certification"))),
    ])  # fmt: skip
    x.extras(element, "sofi-action", [
        ("complement-intitule", tx.clean(a.get("complement_intitule"))),
        ("le-plus-formation", tx.clean(a.get("plus_formation"), multiline=True)),
        ("url-video", url(a.get("url_video"))), ("url-pdf", url(a.get("url_pdf"))),
        ("esp", None if esp else tx.clean(f.get("esp"))),
        ("nb-places-restantes", d.get("nb_places_restantes")),
        ("effectif-minimal", d.get("effectif_minimal")),
        ("capacite-simultanee", d.get("capacite_simultanee")),
        ("type-equipement", None if x.v23 else ";".join(equipements) or None),
    ])  # fmt: skip


def _alternance(f: dict[str, Any]) -> str | None:
    """``modalites-alternance`` (mandatory text): the centre and company hours, when the
    session has company time."""
    centre, entreprise = tx.number(f.get("duree_centre_h")), tx.number(f.get("duree_entreprise_h"))
    if not entreprise or entreprise == "0":
        return None
    return f"En centre de formation ({centre or '?'} h) et en entreprise ({entreprise} h)."


def _information_22(x: Xml, element: Element, views: list[SessionView]) -> None:
    """2.2: ``adresse-information`` (the first information collective's place, when it reads
    as an address) and ``date-information`` [0,3] (the first three dates)."""
    informations = [i for v in views for i in v.informations_collectives]
    place = next((p for i in informations if (p := tx.place(i.get("lieu")))), None)
    if place is not None:
        x.adresse(x.sub(element, "adresse-information"), *place)
    days = sorted({tx.lheo_date(i.get("date")) for i in informations} - {"00000000"})
    for day in days[:3]:
        x.sub(x.sub(element, "date-information"), "date", day)


def _financeur(x: Xml, element: Element, bundle: ActionBundle) -> None:
    """``organisme-financeur``: the Région (code 2), its places, and the Intercarif
    ``specificites`` (programme, public) and the Région's codes externes in extras."""
    d = bundle.dispositif
    financeur = x.sub(element, "organisme-financeur")
    x.leaf(financeur, "code-financeur", FINANCEUR_REGION)
    x.opt(financeur, "nb-places-financees", tx.integer(d.get("nb_places_dispositif")))
    specificites = x.sub(financeur, "extras", attrib={"info": "specificites"})
    programme = tx.clean(bundle.programme_row.get("libelle_programme")) or bundle.programme
    x.sub(specificites, "extra", programme, {"info": "programme-financeur"})
    for public in publics(d.get("public")):
        x.sub(specificites, "extra", public, {"info": "code-public-vise", "ref": FORMACODE_VERSION})
    x.extras(financeur, "codes-externes", [
        ("numero-lot", d.get("numero_lot")), ("id-action-cr", d.get("id_action_cr")),
        ("of-mandataire-cr", d.get("of_mandataire_cr")), ("code-programme", bundle.programme),
    ])  # fmt: skip
