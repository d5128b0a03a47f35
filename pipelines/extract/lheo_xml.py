"""Opening an LHEO file safely: bounded size, no DTD, no entity, no network, streamed.

Three locks, each enough on its own against XXE, billion laughs and external DTDs:

1. :func:`check_prolog` reads the bytes before the root element itself (BOM and UTF-16/32
   aware) and refuses a ``<!DOCTYPE`` or any other ``<!`` declaration there: lxml never sees
   such a file, so nothing is resolved, fetched or read from it;
2. lxml parses with ``resolve_entities=False, load_dtd=False, no_network=True,
   huge_tree=False`` (:data:`PARSER_OPTIONS`);
3. :func:`lheo_version` refuses a document whose tree still reports a DTD at its root.

The size is bounded twice: by the caller on the file's size, then here while reading (a file
that grows under the parser is stopped at the limit).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from lxml import etree

from pipelines.errors import ExtractionFileError

#: namespace -> LHEO version.
NAMESPACES = {"http://lheo.gouv.fr/2.3": "2.3", "http://www.lheo.org/2.2": "2.2"}

#: Options of every parse of an LHEO file.
PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "load_dtd": False,
    "no_network": True,
    "huge_tree": False,
}

#: The prolog (declaration, comments, processing instructions) may not exceed this.
PROLOG_LIMIT = 1 << 20
_CHUNK = 1 << 16
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class FileTooLarge(Exception):
    """Raised by :class:`BoundedReader` past its limit."""


class BoundedReader:
    """A binary file that raises :class:`FileTooLarge` once more than ``limit`` bytes are read."""

    def __init__(self, fh: IO[bytes], limit: int) -> None:
        self._fh, self._limit, self.count = fh, limit, 0

    def read(self, size: int = -1) -> bytes:
        """Read like ``fh.read``, counting."""
        data = self._fh.read(size)
        self.count += len(data)
        if self.count > self._limit:
            raise FileTooLarge
        return data


def _sniff(head: bytes) -> tuple[str, int]:
    """Encoding to scan the prolog with, and the BOM's length (ASCII-compatible: latin-1)."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    if head.startswith(b"<\0\0\0"):
        return "utf-32-le", 0
    if head.startswith(b"\0\0\0<"):
        return "utf-32-be", 0
    if head.startswith(b"<\0"):
        return "utf-16-le", 0
    if head.startswith(b"\0<"):
        return "utf-16-be", 0
    return "latin-1", 0


def _dangerous(file_name: str, detail: str) -> ExtractionFileError:
    return ExtractionFileError(file_name, "xml-dangereux", detail=detail)


def check_prolog(fh: IO[bytes], file_name: str) -> None:
    """Read the prolog of ``fh`` up to the root's ``<`` and refuse any declaration in it.

    Raises:
        ExtractionFileError: ``xml-dangereux`` (DOCTYPE, ENTITY or another ``<!``
            declaration), ``xml-invalide`` (no root element, text before it, prolog too long).
    """
    head = fh.read(_CHUNK)
    encoding, skip = _sniff(head[:4])
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text, read, done = decoder.decode(head[skip:], final=not head), len(head), not head
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        rest = text[position : position + 10]
        end = -1
        if rest.startswith("<?"):
            end = _after(text, "?>", position + 2)
        elif rest.startswith("<!--"):
            end = _after(text, "-->", position + 4)
        elif rest.startswith("<!"):
            if len(rest) >= 9 or done:
                keyword = "DOCTYPE" if rest[:9].upper() == "<!DOCTYPE" else rest
                raise _dangerous(file_name, keyword)
        elif rest.startswith("<") and len(rest) > 1 and _name_start(rest[1]):
            return  # the root element
        elif rest and (rest != "<" or done):
            raise ExtractionFileError(
                file_name, "xml-invalide", line=1, detail="le fichier ne commence pas par du XML"
            )
        if end >= 0:
            position = end
            continue
        if done or read > PROLOG_LIMIT:
            detail = "aucun élément racine" if done else "prologue de plus de 1 Mo"
            raise ExtractionFileError(file_name, "xml-invalide", line=1, detail=detail)
        chunk = fh.read(_CHUNK)
        read += len(chunk)
        done = not chunk
        text += decoder.decode(chunk, final=done)


def _name_start(char: str) -> bool:
    """A character that may start an XML name (the root element's)."""
    return char.isalpha() or char in "_:" or ord(char) > 0x7F


def _after(text: str, marker: str, start: int) -> int:
    """Position just after ``marker`` found from ``start``, -1 when not (yet) there."""
    found = text.find(marker, start)
    return found + len(marker) if found >= 0 else -1


def syntax_error(file_name: str, exc: etree.XMLSyntaxError) -> ExtractionFileError:
    """The file-level refusal of a malformed document, naming the line."""
    line = exc.lineno if exc.lineno else "?"
    return ExtractionFileError(file_name, "xml-invalide", line=line, detail=str(exc.msg))


@contextmanager
def open_checked(path: Path, file_name: str) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading, its prolog checked (:func:`check_prolog`), at offset 0."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise ExtractionFileError(file_name, "fichier-illisible", detail=exc.strerror) from None
    with fh:
        check_prolog(fh, file_name)
        fh.seek(0)
        yield fh


def lheo_version(path: Path, file_name: str, max_bytes: int) -> str:
    """Read up to the root element and tell the LHEO version from its namespace.

    Raises:
        ExtractionFileError: ``xml-dangereux`` (a DTD after all), ``xml-invalide``,
            ``lheo-version-inconnue`` (root not ``<lheo>`` in a known namespace),
            ``fichier-trop-volumineux``.
    """
    with open_checked(path, file_name) as fh:
        reader = BoundedReader(fh, max_bytes)
        try:
            _, root = next(etree.iterparse(reader, events=("start",), **PARSER_OPTIONS))
        except etree.XMLSyntaxError as exc:
            raise syntax_error(file_name, exc) from None
        except FileTooLarge:
            raise too_large(file_name, max_bytes) from None
        except StopIteration:
            raise ExtractionFileError(
                file_name, "xml-invalide", line=1, detail="aucun élément racine"
            ) from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise _dangerous(file_name, "DOCTYPE")
    qname = etree.QName(root)
    version = NAMESPACES.get(qname.namespace or "")
    if version is None or qname.localname != "lheo":
        shown = f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname
        raise ExtractionFileError(file_name, "lheo-version-inconnue", detail=shown)
    return version


def too_large(file_name: str, max_bytes: int) -> ExtractionFileError:
    """The refusal of a file over ``max_bytes`` (found while reading it)."""
    return ExtractionFileError(
        file_name,
        "fichier-trop-volumineux",
        size_mb=f"plus de {max_bytes / 2**20:g}",
        limit_mb=f"{max_bytes / 2**20:g}",
    )
