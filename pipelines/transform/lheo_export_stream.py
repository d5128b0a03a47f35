"""An LHEO document streamed to a binary file with ``lxml.etree.xmlfile``: the envelope opened,
``<formation>`` elements appended one at a time (each on its own lines, indented), the root
extras streamed last. Nothing but the element being written is held in memory.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable
from typing import IO, Any

from lxml import etree

from pipelines.transform.lheo_export_xml import Element, Xml

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
#: A root extra: (``extras/@info``, ``extra/@info``, text); a group's items come together.
Item = tuple[str, str, str]


class _Tee:
    """A binary file that also keeps what is written, while ``kept`` is a list."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.kept: list[bytes] | None = None

    def write(self, data: bytes) -> int:
        """Write ``data`` (and keep it)."""
        if self.kept is not None:
            self.kept.append(data)
        return self.fh.write(data)


class LheoStream:
    """One LHEO document being written to ``fh`` (which the caller opens and closes).

    Args:
        fh: a binary file, written from its current position.
        x: the LHEO version's builder (namespace, tags).
    """

    def __init__(self, fh: IO[bytes], x: Xml) -> None:
        self.x, self.count, self._open = x, 0, True
        fh.write(DECLARATION)
        self._tee = _Tee(fh)
        self._file = etree.xmlfile(self._tee, encoding="utf-8")
        self._xf = self._file.__enter__()
        self._lheo = self._xf.element(x.tag("lheo"), nsmap={None: x.namespace})
        self._lheo.__enter__()
        self._xf.write("\n  ")
        self._offres = self._xf.element(x.tag("offres"))
        self._offres.__enter__()

    def formation(self, element: Element) -> bytes:
        """Append ``element`` (indented for level 2) on its own lines.

        Returns:
            The bytes written for it, from ``<formation`` to ``</formation>`` (see
            :func:`digest`; :meth:`formation_bytes` writes them again in another document).
        """
        self._xf.write("\n    ")
        self._xf.flush()
        kept: list[bytes] = []
        self._tee.kept = kept
        self._xf.write(element)
        self._xf.flush()
        self._tee.kept = None
        self.count += 1
        return b"".join(kept)

    def formation_bytes(self, data: bytes) -> None:
        """Append a formation already serialised by :meth:`formation` (of a document of the
        same LHEO version): the same bytes, without serialising the element again."""
        self._xf.write("\n    ")
        self._xf.flush()
        self._tee.fh.write(data)
        self.count += 1

    def finish(self, items: Iterable[Item]) -> None:
        """Close ``offres``, write the root extras (``items``, streamed), close the document."""
        xf, tag = self._xf, self.x.tag
        xf.write("\n  ")
        self._offres.__exit__(None, None, None)
        group: str | None = None
        context: Any = None
        for info, name, value in items:
            if info != group:
                if context is not None:
                    xf.write("\n  ")
                    context.__exit__(None, None, None)
                xf.write("\n  ")
                group, context = info, xf.element(tag("extras"), info=info)
                context.__enter__()
            xf.write("\n    ")
            with xf.element(tag("extra"), info=name):
                xf.write(value)
        if context is not None:
            xf.write("\n  ")
            context.__exit__(None, None, None)
        xf.write("\n")
        self._lheo.__exit__(None, None, None)
        self._open = False
        self._file.__exit__(None, None, None)
        self._tee.fh.write(b"\n")

    def abort(self) -> None:
        """Stop writing after a failure (the document stays unfinished: the caller drops it)."""
        if self._open:
            self._open = False
            self._file.__exit__(RuntimeError, None, None)  # lxml closes without checks


def digest(data: bytes) -> str:
    """The SHA-256 (hex) of a formation's bytes, as ``lheo-index.tsv`` holds it."""
    return hashlib.sha256(data).hexdigest()


def envelope(x: Xml, formation: Element, items: Iterable[Item]) -> Element:
    """A whole (small) document: ``formation`` and the root extras ``items``, to check the
    envelope against the XSD once."""
    lheo = x.root("lheo")
    x.sub(lheo, "offres").append(copy.deepcopy(formation))
    group: str | None = None
    extras: Element | None = None
    for info, name, value in items:
        if info != group or extras is None:
            group, extras = info, x.sub(lheo, "extras", attrib={"info": info})
        x.sub(extras, "extra", value, {"info": name})
    return lheo
