"""LHEO elements of one version: tags in its namespace, text limits, addresses and coordinates.

Every builder appends children in the XSD's order (each LHEO complex type is an
``xs:sequence``), leaves out an optional element it has no value for, and puts ``extras`` last.

Elements are written as text as they are appended, exactly as lxml serialises and
``etree.indent(space="  ")`` indents them (the feed parses each formation back to check it
against the XSD): an :data:`Element` is a handle on an element being written. Builders append
depth first: appending a child closes the parent's children written before it, and a handle
whose element is closed cannot take children any more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

from pipelines.transform import lheo_export_text as tx

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
#: Characters lxml refuses in a text or an attribute (XML 1.0 cannot hold them).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NOT_XML_MESSAGE = (
    "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"
)
#: Fragments kept (addresses, coordinates…: a few thousand distinct ones in an offer), so that
#: memory does not grow with the offer.
FRAGMENTS = 20_000
#: The line break and indentation before an element at each depth (``etree.indent``'s).
_INDENT = tuple("\n" + "  " * depth for depth in range(64))


def escape_text(value: str) -> str:
    """``value`` as lxml writes an element's text (``& < >`` and carriage returns escaped)."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    return value


def _escaped(value: Any) -> str:
    """``str(value)`` as an element's text (:func:`escape_text`), without a call for the
    usual text that needs no escape."""
    text = value if value.__class__ is str else str(value)
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return escape_text(text)
    return text  # type: ignore[no-any-return]


def escape_attribute(value: str) -> str:
    """``value`` as lxml writes an attribute's (quotes, markup and blanks but spaces escaped)."""
    value = escape_text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#9;")
    return value


def attributes(attrib: dict[str, Any] | None) -> str:
    """`` name="value"`` for each attribute that has a value, in order."""
    if not attrib:
        return ""
    text = ""  # a few attributes: concatenated (no generator, no join)
    for name, value in attrib.items():
        if value is not None:
            text += f' {name}="{escape_attribute(value if value.__class__ is str else str(value))}"'
    return text


class _Document:
    """The text of one element being written: what is written, the open elements, and whether
    the last start tag is still open (``<name …`` without ``>``: ``/>`` if it stays empty)."""

    __slots__ = ("out", "stack", "pending")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.stack: list[Node] = []
        self.pending = False

    def close_to(self, node: Node) -> None:
        """Close every element open inside ``node``, so that ``node`` is the last one open."""
        stack, out = self.stack, self.out
        while stack[-1] is not node:
            closed = stack.pop()
            if self.pending:
                out.append("/>")
                self.pending = False
            else:
                out.append(f"{_INDENT[closed.depth]}</{closed.name}>")
            if not stack:
                raise RuntimeError(f"élément LHEO déjà fermé : {node.name}")

    def text(self) -> str:
        """Close every element; the whole text."""
        stack, out = self.stack, self.out
        while stack:
            closed = stack.pop()
            if self.pending:
                out.append("/>")
                self.pending = False
            else:
                out.append(f"{_INDENT[closed.depth]}</{closed.name}>")
        return "".join(out)


class Node:
    """A handle on an element being written (its name, depth and document)."""

    __slots__ = ("name", "depth", "document")

    def __init__(self, name: str, depth: int, document: _Document) -> None:
        self.name, self.depth, self.document = name, depth, document


Element: TypeAlias = Node
#: What :meth:`Xml.sub` gives for an element written with its text (it takes no child).
_LEAF = Node("", -1, _Document())


class Xml:
    """Writes elements in one LHEO version's namespace.

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
        self._fragments: dict[tuple[tuple[Any, ...], int], str] = {}

    def root(self, name: str, attrib: dict[str, Any] | None = None, depth: int = 0) -> Element:
        """A new element that declares the namespace as the default one, written as if at
        ``depth`` (its children indented one level more)."""
        document = _Document()
        document.out.append(f'<{name} xmlns="{self.namespace}"{attributes(attrib)}')
        document.pending = True
        node = Node(name, depth, document)
        document.stack.append(node)
        return node

    @staticmethod
    def text_of(root: Element) -> str:
        """Close every element of ``root``'s document; its text (from ``<name``, no line break
        around it)."""
        return root.document.text()

    def sub(
        self, parent: Element, name: str, value: Any = None, attrib: dict[str, Any] | None = None
    ) -> Element:
        """Append ``<name>`` (with ``value`` as text when given: then it takes no child) to
        ``parent``."""
        document = parent.document
        stack = document.stack
        if stack[-1] is not parent:
            document.close_to(parent)
        depth = parent.depth + 1
        start = f"{_INDENT[depth]}<{name}{attributes(attrib) if attrib else ''}"
        if document.pending:
            start = ">" + start
        if value is None:
            document.out.append(start)
            document.pending = True
            node = Node(name, depth, document)
            stack.append(node)
            return node
        text = value if value.__class__ is str else str(value)  # _escaped(), inlined
        if "&" in text or "<" in text or ">" in text or "\r" in text:
            text = escape_text(text)
        document.out.append(f"{start}>{text}</{name}>")
        document.pending = False
        return _LEAF

    def leaf(self, parent: Element, name: str, value: Any) -> None:
        """Append ``<name>value</name>`` (no attribute; ``value`` not None) to ``parent``."""
        document = parent.document
        if document.stack[-1] is not parent:
            document.close_to(parent)
        text = value if value.__class__ is str else str(value)  # _escaped(), inlined
        if "&" in text or "<" in text or ">" in text or "\r" in text:
            text = escape_text(text)
        text = f"{_INDENT[parent.depth + 1]}<{name}>{text}</{name}>"
        if document.pending:
            text = ">" + text
            document.pending = False
        document.out.append(text)

    def opt(
        self, parent: Element, name: str, value: Any, attrib: dict[str, Any] | None = None
    ) -> None:
        """Append ``<name>value</name>`` only when ``value`` is not None."""
        if value is None:
            return
        if attrib:
            self.sub(parent, name, value, attrib)
        else:
            self.leaf(parent, name, value)

    def fragment(self, parent: Element, text: str) -> None:
        """Append elements already written for ``parent``'s children (see :meth:`cached`)."""
        document = parent.document
        if document.stack[-1] is not parent:
            document.close_to(parent)
        if document.pending:
            text = ">" + text
            document.pending = False
        document.out.append(text)

    def cached(
        self, parent: Element, key: tuple[Any, ...], write: Callable[[Element], None]
    ) -> None:
        """Append what ``write(parent)`` appends to ``parent``, written once per ``key`` and
        depth: ``write`` must depend on nothing but ``key``, whose values are texts or None
        (any other value is written each time: ``1`` and ``True`` are equal keys)."""
        fragments = self._fragments
        try:  # only keys of texts and None are kept: a key equal to one is one
            found = fragments.get((key, parent.depth))
        except TypeError:  # an unhashable value
            found = None
        if found is None:
            if not all(v is None or type(v) is str for v in key):
                write(parent)
                return
            document = _Document()
            holder = Node("", parent.depth, document)
            document.stack.append(holder)
            write(holder)
            document.close_to(holder)
            found = "".join(document.out)
            if len(fragments) >= FRAGMENTS:
                fragments.clear()
            fragments[(key, parent.depth)] = found
        self.fragment(parent, found)

    def text(self, parent: Element, name: str, value: Any, *, multiline: bool = False) -> None:
        """Append an optional free text, plain and cut to the element's limit."""
        self.opt(parent, name, tx.text(value, LIMITS[name], multiline=multiline))

    def required(self, parent: Element, name: str, value: Any, default: str = AUCUN) -> None:
        """Append a mandatory free text (``default`` when there is none)."""
        found = tx.text(value, LIMITS[name], multiline=LIMITS[name] > 255)
        self.leaf(parent, name, found or default)

    def extras(self, parent: Element, info: str, items: Iterable[tuple[str, Any]]) -> None:
        """Append ``<extras info=…>`` with one ``<extra info=name>`` per item that has a value
        (``info`` and the names: constants, written as they are)."""
        depth = parent.depth + 1
        inner = _INDENT[depth + 1]
        lines = [
            f'{inner}<extra info="{name}">{_escaped(value)}</extra>'
            for name, value in items
            if value is not None and value != ""
        ]
        if lines:
            indent = _INDENT[depth]
            self.fragment(
                parent, f'{indent}<extras info="{info}">{"".join(lines)}{indent}</extras>'
            )

    def adresse(self, parent: Element, lignes: Any, codepostal: Any, ville: Any) -> None:
        """``<adresse>``: ligne [1,4] of 50 characters, codepostal, ville, and the department,
        region and country a French postal code gives."""
        key = ("adresse", lignes, codepostal, ville)
        self.cached(parent, key, lambda p: self._adresse(p, lignes, codepostal, ville))

    def _adresse(self, parent: Element, lignes: Any, codepostal: Any, ville: Any) -> None:
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

    def coordonnees(
        self,
        parent: Element,
        *,
        nom: Any = None,
        address: tuple[Any, Any, Any] | None = None,
        telephone: Any = None,
        courriel: Any = None,
    ) -> None:
        """``<coordonnees>``: nom, adresse, telfixe or portable (a French mobile number),
        courriel; values that cannot be valid (too long a phone or email) are left out."""
        kind = "coordonnees" if address is None else "coordonnees-adresse"
        key = (kind, nom, *(address or (None, None, None)), telephone, courriel)
        self.cached(parent, key, lambda p: self._coordonnees(p, nom, address, telephone, courriel))

    def _coordonnees(
        self,
        parent: Element,
        nom: Any,
        address: tuple[Any, Any, Any] | None,
        telephone: Any,
        courriel: Any,
    ) -> None:
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


def url(value: Any) -> str | None:
    """A URL that fits ``urlweb`` (3..400 characters, no blank); a longer one is left out
    (a cut URL would lead nowhere)."""
    found = tx.clean(value)
    return found if found and 3 <= len(found) <= 400 and " " not in found else None
