"""Writing a mandataire's entries as an LHEO 2.3 export, streamed with lxml ``etree.xmlfile``.

The same content as the entry workbook (``benchmarks.workbooks``), as an organisation's own
software exports it and as ``pipelines.extract.lheo`` reads it back: one ``<formation>`` per
formation reference (its actions at every site of the lot), the Région's codes in ``<extras>``
(``codes-externes``), SOFI fields LHEO has no element for in ``<extras info="sofi-…">``,
informations collectives as ``session/recrutement`` (modalité 9), référents as
``contact-session``. Element order follows the LHEO 2.3 XSD (``schemas/lheo/lheo.xsd``), as
``data/samples/make_lheo_entry.py`` writes it.

One ``<formation>`` is built, written and dropped at a time (a formation is one intitulé of
one lot, so at most a lot's actions): memory holds one lot, whatever the file's size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lxml import etree

from benchmarks.entries import Described, describe_action, formation_ref
from benchmarks.lots import ActionRow
from benchmarks.organisations import Organisation
from benchmarks.plan import YearPlan
from benchmarks.workbooks import EntryCounts, entry_lots
from schemas.lists import (
    ETATS_RECRUTEMENT,
    MODALITES_ENSEIGNEMENT,
    NIVEAUX,
    OBJECTIFS_GENERAUX,
    TYPES_EQUIPEMENT,
    TYPES_PARCOURS,
)

NS = "http://lheo.gouv.fr/2.3"
FORMACODE_VERSION = "V13"
PUBLIC_DEMANDEUR_EMPLOI = "80006"
PERIODES = {"cours de jour": "96414", "cours du soir": "96411"}
_RECRUTEMENT = {"information collective": "9", "entretien ou RDV individuel": "8"}
_INSCRIPTION = "Candidature individuelle, information collective puis entretien."


def _el(parent: etree._Element, name: str, text: Any = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, f"{{{NS}}}{name}", attrs)
    if text is not None:
        child.text = str(text)
    return child


def _path(parent: etree._Element, tags: str, text: Any = None) -> etree._Element:
    *outer, last = tags.split("/")
    for tag in outer:
        parent = _el(parent, tag)
    return _el(parent, last, text)


def _date(day: dt.date) -> str:
    return f"{day:%Y%m%d}"


def _hour(moment: dt.time) -> str:
    return f"{moment.hour}h{moment.minute:02d}" if moment.minute else f"{moment.hour}h"


def _extras(parent: etree._Element, info: str, values: Iterable[tuple[str, Any]]) -> None:
    group = _el(parent, "extras", info=info)
    for name, value in values:
        if value is not None and value != "":
            _el(group, "extra", value, info=name)


def _address(parent: etree._Element, adresse: str, code_postal: str, ville: str) -> None:
    node = _el(parent, "adresse")
    _el(node, "ligne", adresse)
    _el(node, "codepostal", code_postal)
    _el(node, "ville", ville)


def _code(values: Any, label: str) -> str:
    code = values.code_of(label)
    assert code is not None, (values.name, label)
    return str(code)


def write_lheo_entries(
    path: Path,
    plan: YearPlan,
    mandataire: int,
    *,
    created: dt.datetime,
    incomplete_share: float,
) -> EntryCounts:
    """Write a mandataire's entries (every action of its lots) as an LHEO 2.3 file.

    Args:
        path: the ``saisie_<siret>_<yyyymmdd>.xml`` to write.
        plan: the year's lots.
        mandataire: the pool index of the mandataire.
        created: the export's date (``datecrea``, ``date-export``).
        incomplete_share: share of the actions left incomplete on purpose.
    """
    organisation = plan.pool.organisation(mandataire)
    counts = EntryCounts()
    stamp = _date(created.date())
    with etree.xmlfile(str(path), encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{NS}}}lheo", nsmap={None: NS}):
            xf.write("\n")
            with xf.element(f"{{{NS}}}offres"):
                xf.write("\n")
                for lot in entry_lots(plan, mandataire):
                    groups: dict[str, list[ActionRow]] = {}
                    for action in lot.actions:
                        groups.setdefault(formation_ref(lot, action), []).append(action)
                    for members in groups.values():
                        entries = [
                            describe_action(plan, lot, action, incomplete_share)
                            for action in members
                        ]
                        node = _formation(entries, members, organisation, stamp)
                        etree.indent(node, space="  ", level=1)
                        xf.write(node, pretty_print=True)
                        counts.add(_counts(entries))
            flux = etree.Element(f"{{{NS}}}extras", info="flux", nsmap={None: NS})
            _el(flux, "extra", stamp, info="date-export")
            _el(flux, "extra", organisation.raison_sociale, info="emetteur")
            xf.write("\n")
            xf.write(flux, pretty_print=True)
    return counts


def _counts(entries: list[Described]) -> EntryCounts:
    """The rows one ``<formation>`` gives."""
    return EntryCounts(
        formations=len({d.formation_key for d in entries}),
        actions=len(entries),
        sessions=sum(len(d.sessions) for d in entries),
        informations_collectives=sum(len(d.informations_collectives) for d in entries),
        incomplete=sum(d.incomplete is not None for d in entries),
    )


def _formation(
    entries: list[Described],
    members: list[ActionRow],
    organisation: Organisation,
    stamp: str,
) -> etree._Element:
    """One ``<formation>``: its texts and codes, its actions, its organisme responsable."""
    first = entries[0].formation
    node = etree.Element(
        f"{{{NS}}}formation",
        {"numero": first["ref_formation"], "datecrea": stamp, "datemaj": stamp},
        nsmap={None: NS},
    )
    domaine = _el(node, "domaine-formation")
    for index, code in enumerate((first["formacodes"] or "").split(";")):
        if code:
            attrs = {"ref": FORMACODE_VERSION, **({"tag": "principal"} if index == 0 else {})}
            _el(domaine, "code-FORMACODE", code, **attrs)
    _el(node, "intitule-formation", first["intitule_formation"])
    _el(node, "objectif-formation", first["objectif_formation"])
    _el(node, "resultats-attendus", first["resultats_attendus"])
    _el(node, "contenu-formation", first["contenu_formation"])
    _el(node, "certifiante", "1" if first["certifiante"] else "0")
    head = organisation.etablissements[0]
    contact = _el(node, "contact-formation")
    _el(contact, "type-contact", "4")
    coordonnees = _el(contact, "coordonnees")
    _el(coordonnees, "nom", "Accueil formation")
    _path(coordonnees, "telfixe/numtel", head.telephone)
    _el(coordonnees, "courriel", head.email)
    session = entries[0].sessions[0]
    _el(node, "parcours-de-formation", _code(TYPES_PARCOURS, session["type_parcours"]))
    _el(node, "code-niveau-entree", _code(NIVEAUX, entries[0].action["niveau_entree"]))
    _el(node, "objectif-general-formation", _code(OBJECTIFS_GENERAUX, first["objectif_formation"]))
    if first.get("code_certifinfo"):
        _path(node, "certification/code-CERTIFINFO", first["code_certifinfo"])
    _el(node, "code-niveau-sortie", _code(NIVEAUX, first["code_niveau_sortie"]))
    _path(node, "url-formation/urlweb", f"https://www.{organisation.domain}/formations")
    for described, action in zip(entries, members, strict=True):
        _action(node, described, action, stamp)
    _responsable(node, organisation)
    _extras(
        node,
        "sofi-formation",
        [
            ("famille-metier", first.get("famille_metier")),
            ("type-certification", first.get("type_certification")),
        ],
    )
    return node


def _action(parent: etree._Element, described: Described, frame: ActionRow, stamp: str) -> None:
    """One ``<action>`` with its sessions, in the XSD's order."""
    a = described.action
    sessions = described.sessions
    s0 = sessions[0]
    node = _el(parent, "action", numero=a["ref_action"], datecrea=stamp, datemaj=stamp)
    _el(node, "rythme-formation", s0["rythme"])
    _el(node, "code-public-vise", PUBLIC_DEMANDEUR_EMPLOI, ref=FORMACODE_VERSION)
    _el(node, "niveau-entree-obligatoire", "0")
    entreprise = s0["duree_entreprise_h"]
    _el(
        node,
        "modalites-alternance",
        "Alternance entre le centre de formation et l'entreprise."
        if entreprise
        else "Formation en centre, sans période en entreprise.",
    )
    _el(node, "modalites-enseignement", _code(MODALITES_ENSEIGNEMENT, s0["modalite_enseignement"]))
    _el(node, "conditions-specifiques", a["prerequis"])
    _el(node, "prise-en-charge-frais-possible", "1" if a["prise_en_charge_frais"] else "0")
    lieu = _el(node, "lieu-de-formation")
    _path(lieu, "SIRET-lieu-formation/SIRET", a["siret"])
    coordonnees = _el(lieu, "coordonnees")
    _el(coordonnees, "nom", f"{frame.owner.raison_sociale} – {frame.site.commune.name}"[:50])
    _address(coordonnees, s0["lieu_adresse"], s0["lieu_code_postal"], s0["lieu_commune"])
    _path(coordonnees, "telfixe/numtel", frame.site.telephone)
    _el(node, "modalites-entrees-sorties", "1" if s0["esp"] == "entrée/sortie permanente" else "0")
    urls = _el(node, "url-action")
    for url in (a["url_action"], a["url_pdf"]):
        if url:
            _el(urls, "urlweb", url)
    informations: dict[str, list[dict[str, Any]]] = {}
    for ic in described.informations_collectives:
        informations.setdefault(ic["ref_session"], []).append(ic)
    for session in sessions:
        _session(node, session, informations.get(session["ref_session"], []), frame)
    _el(node, "langue-formation", "FR")
    _el(node, "modalites-recrutement", "Information collective puis entretien individuel.")
    if s0["modalites_pedagogiques"]:
        _el(node, "modalites-pedagogiques", s0["modalites_pedagogiques"])
    for periode in (s0["periodes"] or "").split(";"):
        if periode in PERIODES:
            _el(node, "code-modalite-pedagogique", PERIODES[periode], ref=FORMACODE_VERSION)
    for equipement in (a["type_equipement"] or "").split(";"):
        _path(node, "equipement/type-equipement", _code(TYPES_EQUIPEMENT, equipement))
    _el(node, "frais-restants", a["frais_additionnels"])
    _el(node, "prix-total-TTC", f"{a['frais_ttc']:.2f}")
    centre = int(s0["duree_centre_h"])
    _el(node, "nombre-heures-centre", centre)
    _el(node, "nombre-heures-entreprise", int(entreprise))
    _el(node, "nombre-heures-total", centre + int(entreprise))
    _el(node, "conventionnement", "1")
    formateur = _el(node, "organisme-formateur", numero=f"SITE-{a['siret']}")
    _path(formateur, "SIRET-formateur/SIRET", a["siret"])
    _el(formateur, "raison-sociale-formateur", frame.owner.raison_sociale)
    financeur = _el(node, "organisme-financeur")
    _el(financeur, "code-financeur", "2")
    _el(financeur, "nb-places-financees", a["nb_places_dispositif"])
    specificites = _el(financeur, "extras", info="specificites")
    _el(specificites, "extra", PUBLIC_DEMANDEUR_EMPLOI, info="code-public-vise", ref="V10")
    _extras(
        financeur,
        "codes-externes",
        [
            ("numero-lot", a["numero_lot"]),
            ("id-action-cr", a["id_action_cr"]),
            ("of-mandataire-cr", a["of_mandataire_cr"]),
        ],
    )
    _extras(node, "duree-hebdo", [("duree-hebdo", f"{s0['duree_hebdo_h']:g}")])
    _extras(
        node,
        "sofi-action",
        [
            ("complement-intitule", a["complement_intitule"]),
            ("complement-programme", a["complement_programme"]),
            ("objectifs", a["objectifs"]),
            ("resultats-attendus-action", a["resultats_attendus"]),
            ("le-plus-formation", a["plus_formation"]),
            ("commentaire-prerequis", a["commentaires"]),
            ("commentaire-duree", s0["commentaire_duree"]),
            ("nb-places-restantes", a["nb_places_restantes"]),
            ("effectif-minimal", a["effectif_minimal"]),
            ("capacite-simultanee", a["capacite_simultanee"]),
            ("frais-ht", f"{a['frais_ht']:.2f}"),
            ("taux-tva", f"{a['taux_tva']:g}"),
            ("frais-ttc", f"{a['frais_ttc']:.2f}"),
            ("frais-certification", f"{a['frais_certification']:.2f}"),
        ],
    )


def _session(
    parent: etree._Element,
    session: dict[str, Any],
    informations: list[dict[str, Any]],
    frame: ActionRow,
) -> None:
    """One ``<session>``: période, inscription, recrutement (informations collectives first),
    référents."""
    node = _el(parent, "session", numero=session["ref_session"])
    period = _el(node, "periode")
    _el(period, "debut", _date(session["date_debut"]))
    _el(period, "fin", _date(session["date_fin"]))
    inscription = _el(node, "adresse-inscription")
    _address(
        inscription, session["lieu_adresse"], session["lieu_code_postal"], session["lieu_commune"]
    )
    _el(node, "modalites-inscription", _INSCRIPTION)
    period = _path(node, "periode-inscription/periode")
    _el(period, "debut", _date(session["periode_inscription_debut"]))
    _el(period, "fin", _date(session["periode_inscription_fin"]))
    _el(node, "etat-recrutement", _code(ETATS_RECRUTEMENT, session["etat_recrutement"]))
    for ic in informations:
        recrutement = _el(node, "recrutement")
        _el(recrutement, "modalite-recrutement", _RECRUTEMENT["information collective"])
        _el(recrutement, "a-distance", "0")
        _address(
            recrutement,
            frame.site.adresse,
            frame.site.commune.code_postal,
            frame.site.commune.name,
        )
        period = _el(recrutement, "periode")
        _el(period, "debut", _date(ic["date"]))
        _el(period, "fin", _date(ic["date"]))
        _el(recrutement, "heure-debut", _hour(ic["heure_debut"]))
        _el(recrutement, "heure-fin", _hour(ic["heure_fin"]))
        _el(recrutement, "commentaire", ic["commentaire"])
    for label in (session["modalites_recrutement"] or "").split(";"):
        if label in _RECRUTEMENT and label != "information collective":
            _path(node, "recrutement/modalite-recrutement", _RECRUTEMENT[label])
    for kind in ("pmr", "mobilite", "prf"):
        name = session[f"referent_{kind}_nom"]
        if not name:
            continue
        contact = _el(node, "contact-session")
        _el(contact, "type-contact", "1" if kind == "pmr" else "0")
        coordonnees = _el(contact, "coordonnees")
        first, _, last = name.partition(" ")
        _el(coordonnees, "nom", last)
        _el(coordonnees, "prenom", first)
        _path(coordonnees, "telfixe/numtel", session[f"referent_{kind}_telephone"])
        _el(coordonnees, "courriel", session[f"referent_{kind}_email"])
        _extras(contact, "contact", [("type-contact-sofi", f"referent-{kind}")])
    _extras(
        node,
        "sofi-session",
        [
            ("esp", session["esp"]),
            ("type-periode-inscription", session["periode_inscription_type"]),
        ],
    )


def _responsable(parent: etree._Element, organisation: Organisation) -> None:
    """The ``organisme-formation-responsable``: the mandataire's head office."""
    head = organisation.etablissements[0]
    node = _el(parent, "organisme-formation-responsable", numero=f"OF-CR-{organisation.of_cr}")
    _el(node, "numero-activite", organisation.numero_activite)
    _path(node, "SIRET-organisme-formation/SIRET", head.siret)
    _el(node, "nom-organisme", organisation.raison_sociale)
    _el(node, "raison-sociale", organisation.raison_sociale)
    coordonnees = _path(node, "coordonnees-organisme/coordonnees")
    _address(coordonnees, head.adresse, head.commune.code_postal, head.commune.name)
    _path(coordonnees, "telfixe/numtel", head.telephone)
    _el(coordonnees, "courriel", head.email)
    _path(coordonnees, "web/urlweb", f"https://www.{organisation.domain}")
    contact = _el(node, "contact-organisme")
    _el(contact, "type-contact", "5")
    coordonnees = _el(contact, "coordonnees")
    _el(coordonnees, "nom", "Direction")
    _path(coordonnees, "telfixe/numtel", head.telephone)
    _el(coordonnees, "courriel", f"direction@{organisation.domain}")
