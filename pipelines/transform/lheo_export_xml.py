"""LHEO elements of one version: tags in its namespace, text limits, addresses and coordinates.

Every builder appends children in the XSD's order (each LHEO complex type is an
``xs:sequence``), leaves out an optional element it has no value for, and puts ``extras`` last.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeAlias

from lxml import etree

from pipelines.transform import lheo_export_text as tx

Element: TypeAlias = etree._Element

#: LHEO version -> namespace.
NAMESPACES = {"2.3": "http://lheo.gouv.fr/2.3", "2.2": "http://www.lheo.org/2.2"}
#: ``maxLength`` of every text element the export cuts (identical in 2.2 and 2.3; checked
#: against both XSDs by the tests).
LIMITS: dict[str, int] = {
    "intitule-formation": 255,
    "objectif-formation": 3000,
    "resultats-attendus": 3000,
    "contenu-formation": 3000,
    "rythme-formation": 3000,
    "info-public-vise": 250,
    "modalites-alternance": 3000,
    "conditions-specifiques": 3000,
    "modalites-inscription": 255,
    "modalites-recrutement": 3000,
    "modalites-pedagogiques": 200,
    "frais-restants": 200,
    "duree-indicative": 150,
    "nom-organisme": 250,
    "raison-sociale": 250,
    "raison-sociale-formateur": 250,
    "commentaire": 500,
    "nom": 50,
    "ligne": 50,
    "ville": 50,
}
#: Placeholder of a mandatory free text with no value (as the Intercarif export writes it).
AUCUN = "-"
_MOBILE = re.compile(r"^(?:0|\+33|0033)[67]")
_DIGITS = re.compile(r"[^\d+]")
#: departments of the Pays de la Loire (INSEE region 52)
PAYS_DE_LA_LOIRE = frozenset({"44", "49", "53", "72", "85"})


class _Tags(dict[str, str]):
    """name -> ``{namespace}name``, computed once per name."""

    def __init__(self, namespace: str) -> None:
        super().__init__()
        self.prefix = f"{{{namespace}}}"

    def __missing__(self, name: str) -> str:
        found = self[name] = self.prefix + name
        return found


class Xml:
    """Builds elements in one LHEO version's namespace.

    Args:
        version: ``2.3`` or ``2.2``.

    Raises:
        ValueError: an unknown version.
    """

    def __init__(self, version: str) -> None:
        if version not in NAMESPACES:
            raise ValueError(f"version LHEO inconnue : {version!r} (2.2 ou 2.3)")
        self.version = version
        self.v23 = version == "2.3"
        self.namespace = NAMESPACES[version]
        self._tags = _Tags(self.namespace)

    def tag(self, name: str) -> str:
        """``name`` in the namespace (``{ns}name``)."""
        return self._tags[name]

    def root(self, name: str, attrib: dict[str, Any] | None = None) -> Element:
        """A new element that declares the namespace as the default one."""
        return etree.Element(self.tag(name), _attrib(attrib), nsmap={None: self.namespace})

    def sub(
        self, parent: Element, name: str, value: Any = None, attrib: dict[str, Any] | None = None
    ) -> Element:
        """Append ``<name>`` (with ``value`` as text when given) to ``parent``."""
        element = etree.SubElement(parent, self._tags[name], _attrib(attrib) if attrib else None)
        if value is not None:
            element.text = str(value)
        return element

    def opt(
        self, parent: Element, name: str, value: Any, attrib: dict[str, Any] | None = None
    ) -> None:
        """Append ``<name>value</name>`` only when ``value`` is not None."""
        if value is not None:
            self.sub(parent, name, value, attrib)

    def text(self, parent: Element, name: str, value: Any, *, multiline: bool = False) -> None:
        """Append an optional free text, plain and cut to the element's limit."""
        self.opt(parent, name, tx.text(value, LIMITS[name], multiline=multiline))

    def required(self, parent: Element, name: str, value: Any, default: str = AUCUN) -> None:
        """Append a mandatory free text (``default`` when there is none)."""
        found = tx.text(value, LIMITS[name], multiline=LIMITS[name] > 255)
        self.sub(parent, name, found or default)

    def extras(self, parent: Element, info: str, items: Iterable[tuple[str, Any]]) -> None:
        """Append ``<extras info=…>`` with one ``<extra info=name>`` per item that has a value."""
        values = [(name, value) for name, value in items if value is not None and value != ""]
        if not values:
            return
        group = self.sub(parent, "extras", attrib={"info": info})
        for name, value in values:
            self.sub(group, "extra", value, {"info": name})

    def adresse(self, parent: Element, lignes: Any, codepostal: Any, ville: Any) -> Element:
        """``<adresse>``: ligne [1,4] of 50 characters, codepostal, ville, and the department,
        region and country a French postal code gives."""
        adresse = self.sub(parent, "adresse")
        for ligne in tx.wrap(lignes) or [AUCUN]:
            self.sub(adresse, "ligne", ligne)
        postal = str(codepostal or "").strip()
        self.sub(adresse, "codepostal", postal)
        self.sub(adresse, "ville", tx.text(ville, LIMITS["ville"]) or AUCUN)
        if len(postal) == 5 and postal.isdigit() and not postal.startswith("20"):
            departement = postal[:3] if postal.startswith("97") else postal[:2]
            self.sub(adresse, "departement", departement)
            self.opt(adresse, "region", "52" if departement in PAYS_DE_LA_LOIRE else None)
            self.sub(adresse, "pays", "FR")
        return adresse

    def coordonnees(
        self,
        parent: Element,
        *,
        nom: Any = None,
        address: tuple[Any, Any, Any] | None = None,
        telephone: Any = None,
        courriel: Any = None,
    ) -> Element:
        """``<coordonnees>``: nom, adresse, telfixe or portable (a French mobile number),
        courriel; values that cannot be valid (too long a phone or email) are left out."""
        coordonnees = self.sub(parent, "coordonnees")
        self.opt(coordonnees, "nom", tx.text(nom, LIMITS["nom"]))
        if address is not None:
            self.adresse(coordonnees, *address)
        phone = tx.clean(telephone)
        if phone and len(phone) <= 25:
            kind = "portable" if _MOBILE.match(_DIGITS.sub("", phone)) else "telfixe"
            self.sub(self.sub(coordonnees, kind), "numtel", phone)
        email = tx.clean(courriel)
        if email and 3 <= len(email) <= 160 and " " not in email:
            self.sub(coordonnees, "courriel", email)
        return coordonnees


def _attrib(attrib: dict[str, Any] | None) -> dict[str, str] | None:
    if not attrib:
        return None
    return {k: str(v) for k, v in attrib.items() if v is not None}


def url(value: Any) -> str | None:
    """A URL that fits ``urlweb`` (3..400 characters, no blank); a longer one is left out
    (a cut URL would lead nowhere)."""
    found = tx.clean(value)
    return found if found and 3 <= len(found) <= 400 and " " not in found else None
