"""LHEO code tables (code -> French label), read from the XML shipped in ``schemas/lheo/``.

* ``lheo-tables-2.3.xml``: the official LHEO tables (``dict-modalites-es``, ``dict-niveaux``...).
  2.3 only adds codes and new tables to 2.2, so it reads both versions' codes.
* ``dict-public-vise-formacode-V10.xml``, ``dict-modalites-pedagogiques-formacodes-V10.xml``:
  the Formacode extracts of ``code-public-vise`` and ``code-modalite-pedagogique`` (LHEO 2.2
  dictionaries, DOCTYPE removed).
* ``libelles-sofi.xml``: the SOFI labels that replace the LHEO ones where the publication rules
  compare labels (ESP, type de parcours, modalités d'enseignement).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from lxml import etree

GML = "{http://www.gelaba.org/gml/1.1}"

#: Files read, in order: a later file replaces the labels of an earlier one, code by code.
TABLE_FILES = (
    "lheo-tables-2.3.xml",
    "dict-public-vise-formacode-V10.xml",
    "dict-modalites-pedagogiques-formacodes-V10.xml",
    "libelles-sofi.xml",
)

#: Table of each coded LHEO element read by the import.
DICT_PUBLIC = "dict-public-vise-formacode-V10"
DICT_MODALITES_PEDAGOGIQUES = "dict-modalites-pedagogiques-formacodes-V10"


def _parser() -> etree.XMLParser:
    """A parser for the package's own tables: no DTD, no entity, no network."""
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)


@lru_cache(maxsize=1)
def code_tables() -> dict[str, dict[str, str]]:
    """Every table: name (``dict-modalites-es``) -> code -> label.

    Returns:
        The tables, the SOFI labels applied over the LHEO ones.
    """
    tables: dict[str, dict[str, str]] = {}
    folder = resources.files("schemas") / "lheo"
    for file_name in TABLE_FILES:
        root = etree.fromstring((folder / file_name).read_bytes(), _parser())
        dicts = [root] if root.tag == f"{GML}dict" else root.iter(f"{GML}dict")
        for table in dicts:
            entries = tables.setdefault(str(table.get("name")), {})
            for entry in table.iter(f"{GML}entry"):
                key, value = entry.find(f"{GML}key"), entry.find(f"{GML}value")
                if key is not None and value is not None:
                    entries[str(key.get("val"))] = str(value.get("val"))
    return tables


def label(table: str, code: str | None) -> str | None:
    """The label of ``code`` in ``table``; an unknown code is returned as it is.

    An unknown code is kept rather than dropped: the publication rules then report the value
    the file gave.
    """
    if code is None:
        return None
    return code_tables().get(table, {}).get(code.strip(), code.strip())


def labels(table: str, codes: list[str], separator: str = "; ") -> str | None:
    """The labels of ``codes`` (each once, in order) joined by ``separator``; None if none."""
    found = (label(table, code) for code in codes)
    return separator.join(dict.fromkeys(t for t in found if t)) or None
