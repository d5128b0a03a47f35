"""One session of the store -> ``<session>`` (``x[g/n]`` = ``extras info=g`` / ``extra info=n``).

===========================  ===================================================================
LHEO (in XSD order)          store
===========================  ===================================================================
@numero, @datemaj            FAS code ``F-A-S``; the session's ``updated_at`` (Paris day)
periode/debut, fin           date début / fin (unknown: 00000000 / 99999999)
adresse-inscription/adresse  the session's lieu (else the site's, else the responsable's address)
modalites-inscription        the périodes d'inscription's types (with the dates of all but the
                             first), ≤ 255
periode-inscription          the first période d'inscription (by start date)
etat-recrutement             état du recrutement: 1 ouvert, 2 fermé, 3 suspendu
recrutement (2.3)            one per information collective: modalite-recrutement 9, ``@numero``
                             ``IC-<id>``, a-distance (lieu « à distance »), adresse (the lieu
                             read as « lignes, code postal ville »; else in the commentaire),
                             periode debut = fin = date, heure-debut/-fin « 9h30 », commentaire
                             (≤ 500); then one per other modalité de recrutement (8 entretien...)
contact-session (2.3)        référents: PMR type-contact 1; mobilité and PRF type-contact 0 with
                             x[contact/type-contact-sofi] = referent-mobilite / referent-prf
                             (« mobilité » is not known to be *international* mobility, code 2)
extras                       x[sofi-session/type-periode-inscription]; 2.2 only: one
                             x[info-collective/date, heure-debut, heure-fin, lieu, commentaire]
                             per information collective (the pre-2.3 Offre Info structure) and
                             one x[contact-session/type-contact-sofi, coordonnees] per référent
                             (PEL-6)
===========================  ===================================================================
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pipelines.transform import lheo_export_text as tx
from pipelines.transform.bundle import SessionView
from pipelines.transform.lheo_export_codes import code, codes
from pipelines.transform.lheo_export_xml import LIMITS, Element, Xml

#: dict-modalite-recrutement: information collective
INFORMATION_COLLECTIVE = "9"
#: référent type -> (dict-type-contact code, SOFI type written in ``extra type-contact-sofi``).
#: « mobilité » is not known to be *international* mobility (code 2): it is written as 0
#: (Autre) with its SOFI type, as the PRF référent is (README §(c)).
REFERENTS: dict[str, tuple[str, str | None]] = {
    "pmr": ("1", None),
    "mobilite": ("0", "referent-mobilite"),
    "prf": ("0", "referent-prf"),
}
A_DISTANCE = "à distance"

Address = tuple[Any, Any, Any]


def session(
    x: Xml, parent: Element, view: SessionView, inscription: Address, datemaj: str | None
) -> None:
    """Append the ``<session>`` of ``view``.

    Args:
        x: the version's builder.
        parent: the ``<action>``.
        view: the session.
        inscription: the address of ``adresse-inscription`` (lines, postal code, town).
        datemaj: the session's last change (``AAAAMMJJ``).
    """
    fields = view.fields
    element = x.sub(
        parent,
        "session",
        attrib={"numero": view.ref, "datecrea": tx.day_of(fields.get("created_at")),
                "datemaj": datemaj},
    )  # fmt: skip
    periode = x.sub(element, "periode")
    x.leaf(periode, "debut", tx.lheo_date(fields.get("date_debut")))
    x.leaf(periode, "fin", tx.lheo_date(fields.get("date_fin"), end=True))
    x.adresse(x.sub(element, "adresse-inscription"), *inscription)
    periodes = sorted(
        view.periodes_inscription,
        key=lambda p: (tx.lheo_date(p.get("date_debut")), p.get("id") or 0),
    )
    x.text(element, "modalites-inscription", _inscription(periodes))
    if periodes:
        first = x.sub(x.sub(element, "periode-inscription"), "periode")
        x.leaf(first, "debut", tx.lheo_date(periodes[0].get("date_debut")))
        x.leaf(first, "fin", tx.lheo_date(periodes[0].get("date_fin"), end=True))
    x.opt(
        element, "etat-recrutement", code("dict-etat-recrutement", fields.get("etat_recrutement"))
    )
    if x.v23:
        _recrutements(x, element, view)
    else:
        for information in view.informations_collectives:
            _info_collective_22(x, element, information)
    if view.referents:
        key: tuple[Any, ...] = ("referents",)
        for kind, values in view.referents.items():
            key += (kind, values.get("nom"), values.get("email"), values.get("telephone"))
        x.cached(element, key, lambda parent: _contacts(x, parent, key))
    x.extras(
        element,
        "sofi-session",
        [("type-periode-inscription", tx.clean(periodes[0].get("type")) if periodes else None)],
    )


def _inscription(periodes: list[dict[str, Any]]) -> str | None:
    """``modalites-inscription``: the type of each période d'inscription (LHEO holds one
    période; the others are said here with their dates)."""
    parts = []
    for n, p in enumerate(periodes):
        kind = tx.clean(p.get("type"))
        if n == 0:
            parts.append(kind.capitalize() if kind else None)
        else:
            start, end = p.get("date_debut"), p.get("date_fin")
            dates = f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}" if start and end else None
            parts.append(" ".join(t for t in (kind, dates) if t) or None)
    return " ; ".join(p for p in parts if p) or None


def _recrutements(x: Xml, element: Element, view: SessionView) -> None:
    """2.3 ``recrutement``: one per information collective (modalité 9), then one per other
    modalité de recrutement of the session."""
    for information in view.informations_collectives:
        lieu = tx.clean(information.get("lieu"))
        remote = lieu is not None and lieu.casefold() == A_DISTANCE
        address = None if remote else tx.place(lieu)
        recrutement = x.sub(element, "recrutement", attrib={"numero": _ic_numero(information)})
        x.leaf(recrutement, "modalite-recrutement", INFORMATION_COLLECTIVE)
        x.leaf(recrutement, "a-distance", "1" if remote else "0")
        if address is not None:
            x.adresse(recrutement, *address)
        place = lieu if lieu and address is None and not remote else None
        key = ("information", tx.lheo_date(information.get("date")),
               information.get("heure_debut"), information.get("heure_fin"),
               information.get("commentaire"), place)  # fmt: skip
        x.cached(recrutement, key, partial(_information, x, information=information, lieu=place))
    modalites = codes("dict-modalite-recrutement", view.fields.get("modalites_recrutement"))
    for modalite in modalites:
        if modalite == INFORMATION_COLLECTIVE and view.informations_collectives:
            continue
        x.sub(x.sub(element, "recrutement"), "modalite-recrutement", modalite)


def _information(
    x: Xml, recrutement: Element, *, information: dict[str, Any], lieu: str | None
) -> None:
    """An information collective's ``periode`` (its day), hours and ``commentaire`` (with
    ``lieu``, the place when it is not an address, if any)."""
    day = tx.lheo_date(information.get("date"))
    periode = x.sub(recrutement, "periode")
    x.leaf(periode, "debut", day)
    x.leaf(periode, "fin", day)
    x.opt(recrutement, "heure-debut", tx.hour(information.get("heure_debut")))
    x.opt(recrutement, "heure-fin", tx.hour(information.get("heure_fin")))
    place = f"Lieu : {lieu}." if lieu else None
    comment = " ".join(t for t in (place, tx.clean(information.get("commentaire"))) if t)
    x.text(recrutement, "commentaire", comment or None)


def _ic_numero(information: dict[str, Any]) -> str | None:
    found = information.get("id")
    return f"IC-{found}" if found is not None else None


def _contacts(x: Xml, element: Element, key: tuple[Any, ...]) -> None:
    """The référents of ``key`` (``"referents"``, then kind, nom, email, telephone of each):
    2.3 ``contact-session``, 2.2 ``extras info="contact-session"``."""
    referents = {
        key[n]: {"nom": key[n + 1], "email": key[n + 2], "telephone": key[n + 3]}
        for n in range(1, len(key), 4)
    }
    for kind, values in _referents(referents):
        if x.v23:
            _contact(x, element, kind, values)
        else:
            _contact_22(x, element, kind, values)


def _referents(referents: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The référents that have a name, an email or a phone: PMR, mobilité, PRF, then any other
    type (alphabetical)."""
    order = {kind: n for n, kind in enumerate(REFERENTS)}
    found = [
        (kind, values)
        for kind, values in referents.items()
        if any(tx.clean(values.get(k)) for k in ("nom", "email", "telephone"))
    ]
    return sorted(found, key=lambda item: (order.get(item[0], len(order)), item[0]))


def _contact(x: Xml, element: Element, kind: str, values: dict[str, Any]) -> None:
    type_contact, sofi = REFERENTS.get(kind, ("0", f"referent-{kind}"))
    contact = x.sub(element, "contact-session")
    x.leaf(contact, "type-contact", type_contact)
    _person(x, contact, values)
    if sofi:
        x.extras(contact, "contact", [("type-contact-sofi", sofi)])


def _person(x: Xml, parent: Element, values: dict[str, Any]) -> None:
    x.coordonnees(
        parent,
        nom=values.get("nom"),
        telephone=values.get("telephone"),
        courriel=values.get("email"),
    )


def _contact_22(x: Xml, element: Element, kind: str, values: dict[str, Any]) -> None:
    """2.2 has no ``contact-session``: PEL-6's extras (``type-contact``, ``coordonnees``)."""
    group = x.sub(element, "extras", attrib={"info": "contact-session"})
    x.sub(group, "extra", f"referent-{kind}", {"info": "type-contact-sofi"})
    _person(x, x.sub(group, "extra", attrib={"info": "coordonnees"}), values)


def _info_collective_22(x: Xml, element: Element, information: dict[str, Any]) -> None:
    """2.2 has no ``recrutement``: the pre-2.3 Offre Info ``info-collective`` extras."""
    x.extras(
        element,
        "info-collective",
        [
            ("date", tx.lheo_date(information.get("date"))),
            ("heure-debut", tx.hour(information.get("heure_debut"))),
            ("heure-fin", tx.hour(information.get("heure_fin"))),
            ("lieu", tx.clean(information.get("lieu"))),
            ("commentaire", tx.text(information.get("commentaire"), LIMITS["commentaire"])),
        ],
    )
