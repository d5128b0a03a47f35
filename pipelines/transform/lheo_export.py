"""One published action (:class:`~pipelines.transform.bundle.ActionBundle`) -> one LHEO
``<formation>`` element, 2.3 (``http://lheo.gouv.fr/2.3``) or 2.2 (``http://www.lheo.org/2.2``).

Pure: no I/O, no clock (the only dates are the store's). :func:`formation_text` writes the
element as text, exactly as lxml serialises it indented for its place in the document (level 2:
``lheo/offres/formation``); the feed writer (:mod:`pipelines.load.lheo_feed`) parses each one
back, validates it against the XSD and streams its bytes.

Mapping (``shared/lheo/README.md`` §(c); F = formation, A = action, S = session, OFR =
organisme-formation-responsable; ``x[g/n]`` = ``extras info=g`` / ``extra info=n``):

==============================  ==================================================================
LHEO                            store
==============================  ==================================================================
F/@numero, A/@numero, S/@numero FAS codes: formation id, ``F-A``, ``F-A-S``
F, A, S/@datecrea, @datemaj     ``created_at`` / last ``updated_at`` of the rows shown, Paris day
F/domaine-formation             formacodes (principal first, ``tag="principal"``), ≤ 5, ``@ref``
F/intitule-formation            formation intitulé (A's complément: A x[sofi-action/complement-…])
F/objectif-formation            A objectifs, else F objectif_formation, else ``-``
F/resultats-attendus            A résultats attendus, else F's, else ``-``
F/contenu-formation             F contenu + A complément programme, else ``-``
F/certifiante, certification    1 with a Certifinfo (code-CERTIFINFO), else F certifiante
F/contact-formation             the site's phone/email (else the responsable's); 2.3 type 4
F/parcours-de-formation         first session's type de parcours (default 1, en groupe)
F/code-niveau-entree            A niveau d'entrée (default 0, non communiqué); 2.2: 0–8
F/objectif-general-formation    F objectif_formation when it is a dict-AIS label
F/code-niveau-sortie            F niveau de sortie (2.2: 0–8, x[niveaux-2019])
A (see lheo_export_action)      sessions grouped by lieu, ESP, rythme, durées, modalités
F/OFR                           the mandataire: organisme of the first session's
                                ``organisme_responsable_siret`` (else the site)
OFR/numero-activite             its N° de déclaration d'activité (11 characters), else that of an
                                establishment of the same OF in the bundle, else ``99999999999``
                                (ONISEP's « inconnu ») with x[numero-activite/origine]
F extras                        x[sofi-formation/famille-metier, type-certification]
==============================  ==================================================================
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from lxml import etree

from pipelines.transform import lheo_export_text as tx
from pipelines.transform.bundle import ActionBundle
from pipelines.transform.lheo_export_action import action, group_sessions
from pipelines.transform.lheo_export_codes import FORMACODE_VERSION, code, niveau
from pipelines.transform.lheo_export_xml import (
    NAMESPACES,
    NOT_XML,
    NOT_XML_MESSAGE,
    Element,
    Xml,
)

__all__ = [
    "FORMATION_DEPTH",
    "NAMESPACES",
    "LheoRecordError",
    "build_formation",
    "flux_extras",
    "formation_text",
    "xml_builder",
]

#: ``numero-activite`` of an organisation whose number is unknown (as ONISEP's LHEO writes it).
NUMERO_ACTIVITE_INCONNU = "99999999999"
#: dict-type-contact: Accueil
ACCUEIL = "4"
#: Where a ``<formation>`` stands in the document (``lheo/offres/formation``): its indentation.
FORMATION_DEPTH = 2
_BLANKS = re.compile(r"\s+")


class LheoRecordError(ValueError):
    """An action that cannot be written as LHEO (its message is French)."""


@lru_cache(maxsize=2)
def xml_builder(version: str) -> Xml:
    """The element builder of ``version`` (``2.3`` or ``2.2``), one per version."""
    return Xml(version)


def build_formation(bundle: ActionBundle, version: str = "2.3") -> etree._Element | None:
    """The ``<formation>`` of one published action as an lxml element (:func:`formation_text`
    parsed), or None when it has no session.

    Raises:
        LheoRecordError: the action has no known responsable organisation.
        ValueError: an unknown version, a value XML cannot hold.
    """
    text = formation_text(bundle, version)
    if text is None:
        return None
    try:
        return etree.fromstring(text.encode())
    except etree.XMLSyntaxError:
        if NOT_XML.search(text):
            raise ValueError(NOT_XML_MESSAGE) from None
        raise


def formation_text(bundle: ActionBundle, version: str = "2.3") -> str | None:
    """The ``<formation>`` of one published action as text (from ``<formation`` to
    ``</formation>``, indented for level 2), or None when it has no session (an LHEO action
    needs one).

    Raises:
        LheoRecordError: the action has no known responsable organisation.
        ValueError: an unknown version.

    A value XML cannot hold (a control character) is written as it is: parsing the text back
    fails (:func:`build_formation` then raises ValueError).
    """
    if not bundle.sessions:
        return None
    x = xml_builder(version)
    f, a = bundle.formation, bundle.action
    first = bundle.sessions[0].fields
    responsable_siret = first.get("organisme_responsable_siret") or bundle.siret
    responsable = bundle.organismes.get(responsable_siret)
    if responsable is None:
        raise LheoRecordError(f"organisme responsable {responsable_siret} inconnu du store")
    dates = _dates(bundle)
    created = tx.day_of(f.get("created_at"))
    attrib = {"numero": f.get("id"), "datecrea": created, "datemaj": dates["formation"]}
    element = x.root("formation", attrib, FORMATION_DEPTH)
    _domaine(x, element, f)
    x.required(element, "intitule-formation", f.get("intitule_formation"))
    x.required(element, "objectif-formation", a.get("objectifs") or f.get("objectif_formation"))
    x.required(
        element, "resultats-attendus", a.get("resultats_attendus") or f.get("resultats_attendus")
    )
    contenu = tx.join(f.get("contenu_formation"), a.get("complement_programme"), "\n\n")
    x.required(element, "contenu-formation", contenu)
    certifinfo = tx.clean(f.get("code_certifinfo"))
    x.leaf(element, "certifiante", "1" if certifinfo or f.get("certifiante") else "0")
    site = bundle.organismes.get(bundle.siret) or {}
    contact = x.sub(element, "contact-formation")
    if x.v23:
        x.leaf(contact, "type-contact", ACCUEIL)
    source = site if site.get("email") or site.get("telephone") else responsable
    x.coordonnees(contact, telephone=source.get("telephone"), courriel=source.get("email"))
    x.leaf(
        element,
        "parcours-de-formation",
        code("dict-type-parcours", first.get("type_parcours")) or "1",
    )
    entree = niveau(a.get("niveau_entree"), x.version)
    x.leaf(element, "code-niveau-entree", entree or "0")
    x.opt(element, "objectif-general-formation", code("dict-AIS", f.get("objectif_formation")))
    if certifinfo:
        x.sub(x.sub(element, "certification"), "code-CERTIFINFO", certifinfo)
    sortie = niveau(f.get("code_niveau_sortie"), x.version)
    x.opt(element, "code-niveau-sortie", sortie)
    fallback = _address(site) or _address(responsable)
    for views in group_sessions(bundle.sessions):
        action(x, element, bundle, views, fallback, dates)
    _responsable(x, element, bundle, responsable)
    x.extras(element, "sofi-formation", [
        ("famille-metier", tx.clean(f.get("famille_metier"))),
        ("type-certification", tx.clean(f.get("type_certification"))),
    ])  # fmt: skip
    if not x.v23:
        x.extras(element, "niveaux-2019", [
            ("code-niveau-entree", _changed(a.get("niveau_entree"), entree)),
            ("code-niveau-sortie", _changed(f.get("code_niveau_sortie"), sortie)),
        ])  # fmt: skip
    return x.text_of(element)


def flux_extras(export_date: dt.date) -> list[tuple[str, str, str]]:
    """The root ``<extras info="flux-intercarif">`` (Intercarif's): ``date-export``
    (``AAAAMMJJ``, the date only), as ``(extras/@info, extra/@info, text)`` items."""
    return [("flux-intercarif", "date-export", f"{export_date:%Y%m%d}")]


def _changed(value: Any, written: str | None) -> str | None:
    """The 2019 level code when LHEO 2.2 had to write another one."""
    original = code("dict-niveaux", value)
    return original if original is not None and original != written else None


def _dates(bundle: ActionBundle) -> dict[str, str | None]:
    """``datemaj`` of the formation (every row it shows), of the action (all but the
    formation's row), of each session (by FAS code), and the action's ``datecrea``."""

    day_of = tx.day_of
    rows = [bundle.action, bundle.dispositif, bundle.action_region, bundle.lot,
            bundle.programme_row, *bundle.organismes.values()]  # fmt: skip
    days = [d for d in (day_of(r.get("updated_at")) for r in rows) if d]
    found: dict[str, str | None] = {}
    for s in bundle.sessions:  # each session's day, read once
        found[s.ref] = day = day_of(s.fields.get("updated_at"))
        if day:
            days.append(day)
    action = max(days) if days else None
    formation = day_of(bundle.formation.get("updated_at"))
    found["formation"] = max(action, formation) if action and formation else action or formation
    found["datemaj"] = action
    found["datecrea"] = day_of(bundle.action.get("created_at"))
    return found


def _domaine(x: Xml, element: Element, f: dict[str, Any]) -> None:
    """``domaine-formation``: the formacodes, principal first (``tag="principal"``), ≤ 5."""
    domaine = x.sub(element, "domaine-formation")
    listed = [str(c).strip() for c in (f.get("formacodes") or []) if str(c).strip()]
    principal = str(f.get("domaine_principal") or "").strip()
    ordered = list(dict.fromkeys(([principal] if principal else []) + listed))[:5]
    for n, formacode in enumerate(ordered):
        attrib = {"ref": FORMACODE_VERSION, "tag": "principal" if n == 0 else None}
        x.sub(domaine, "code-FORMACODE", formacode, attrib)


def _address(organisme: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    if not (organisme.get("code_postal") and organisme.get("commune")):
        return None
    return organisme.get("adresse"), organisme.get("code_postal"), organisme.get("commune")


def _numero_activite(bundle: ActionBundle, responsable: dict[str, Any]) -> tuple[str, str | None]:
    """The responsable's N° d'activité and, when it is not its own, where it comes from."""

    def valid(organisme: dict[str, Any]) -> str | None:
        found = _BLANKS.sub("", str(organisme.get("numero_activite") or ""))
        return found if len(found) == 11 else None

    if own := valid(responsable):
        return own, None
    for siret in sorted(bundle.organismes):
        other = bundle.organismes[siret]
        if other.get("of_cr") == responsable.get("of_cr") and (found := valid(other)):
            return found, "autre-etablissement"
    return NUMERO_ACTIVITE_INCONNU, "inconnu"


def _responsable(x: Xml, element: Element, bundle: ActionBundle, org: dict[str, Any]) -> None:
    """``organisme-formation-responsable``: the mandataire (the store's responsable), written
    once per organisation and N° d'activité."""
    numero, origine = _numero_activite(bundle, org)
    fields = ("siret", "raison_sociale", "adresse", "code_postal", "commune", "telephone", "email")
    key = ("responsable", numero, origine, *(org.get(name) for name in fields))
    x.cached(element, key, lambda parent: _write_responsable(x, parent, org, numero, origine))


def _write_responsable(
    x: Xml, element: Element, org: dict[str, Any], numero: str, origine: str | None
) -> None:
    responsable = x.sub(element, "organisme-formation-responsable")
    x.leaf(responsable, "numero-activite", numero)
    x.sub(x.sub(responsable, "SIRET-organisme-formation"), "SIRET", org.get("siret"))
    x.required(responsable, "nom-organisme", org.get("raison_sociale"))
    x.required(responsable, "raison-sociale", org.get("raison_sociale"))
    x.coordonnees(x.sub(responsable, "coordonnees-organisme"), address=_address(org),
                  telephone=org.get("telephone"), courriel=org.get("email"))  # fmt: skip
    contact = x.sub(responsable, "contact-organisme")
    if x.v23:
        x.leaf(contact, "type-contact", ACCUEIL)
    x.coordonnees(contact, telephone=org.get("telephone"), courriel=org.get("email"))
    x.extras(responsable, "numero-activite", [("origine", origine)])
