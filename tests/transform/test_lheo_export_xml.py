"""The LHEO text writer writes, byte for byte, what lxml serialises and ``etree.indent``
indents (the feed used to build trees; ``lheo.xml`` must not change)."""

from __future__ import annotations

import io

import pytest
from lxml import etree

from pipelines.transform.lheo_export_xml import NAMESPACES, Xml

VALUES = ["a<b>&c", "q\"uote's", "tab\there\nline\r\nCR\r", "é\U0001f600 ]]>", "", "  ", "x"]


def _lxml(version: str) -> bytes:
    """The same elements, built and serialised by lxml as the feed did."""
    ns = NAMESPACES[version]

    def tag(name: str) -> str:
        return f"{{{ns}}}{name}"

    root = etree.Element(tag("formation"), {"numero": VALUES[1], "w": VALUES[2]}, nsmap={None: ns})
    for value in VALUES:
        etree.SubElement(root, tag("extra"), {"info": value}).text = value
    group = etree.SubElement(root, tag("groupe"))
    etree.SubElement(group, tag("vide"))
    inner = etree.SubElement(group, tag("interne"))
    etree.SubElement(inner, tag("feuille")).text = "1"
    etree.SubElement(root, tag("vide"))
    extras = etree.SubElement(root, tag("extras"), {"info": "g"})
    etree.SubElement(extras, tag("extra"), {"info": "n"}).text = VALUES[0]
    etree.indent(root, space="  ", level=2)
    buffer = io.BytesIO()
    with etree.xmlfile(buffer, encoding="utf-8") as xf:
        xf.write(root)
    return buffer.getvalue()


@pytest.mark.parametrize("version", ["2.3", "2.2"])
def test_text_writer_writes_lxml_bytes(version: str) -> None:
    x = Xml(version)
    root = x.root("formation", {"numero": VALUES[1], "absent": None, "w": VALUES[2]}, 2)
    for value in VALUES:
        x.sub(root, "extra", value, {"info": value})
    group = x.sub(root, "groupe")
    x.sub(group, "vide")
    inner = x.sub(group, "interne")
    x.leaf(inner, "feuille", 1)
    x.sub(root, "vide")
    x.extras(root, "g", [("n", VALUES[0]), ("absent", None), ("vide", "")])
    assert x.text_of(root).encode() == _lxml(version)


def test_cached_fragments_are_the_same_bytes() -> None:
    x = Xml("2.3")
    texts = []
    for _ in range(2):
        root = x.root("r", None, 2)
        x.coordonnees(root, nom="A & B", address=("1 rue X", "44000", "Nantes"), courriel="a@b.fr")
        x.coordonnees(x.sub(root, "c"), telephone="06 00 00 00 00")
        texts.append(x.text_of(root))
    assert texts[0] == texts[1]
    assert "<nom>A &amp; B</nom>" in texts[0] and "<portable>" in texts[0]


def test_a_closed_element_takes_no_child() -> None:
    x = Xml("2.3")
    root = x.root("r")
    first = x.sub(root, "a")
    x.sub(root, "b")
    with pytest.raises(RuntimeError):
        x.sub(first, "c")
