"""An LHEO document streamed to a binary file: the envelope opened, ``<formation>`` elements
appended one at a time (each on its own lines, as :func:`~pipelines.transform.lheo_export.
formation_text` writes them), the root extras streamed last. Nothing but the formation being
written is held in memory. The bytes are lxml's (``etree.xmlfile``, indented by
``etree.indent(space="  ")``) for the same document.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from typing import IO

from pipelines.transform.lheo_export_xml import Xml, escape_attribute, escape_text

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
#: A root extra: (``extras/@info``, ``extra/@info``, text); a group's items come together.
Item = tuple[str, str, str]


class LheoStream:
    """One LHEO document being written to ``fh`` (which the caller opens and closes).

    Args:
        fh: a binary file, written from its current position.
        x: the LHEO version's builder (namespace).
    """

    def __init__(self, fh: IO[bytes], x: Xml) -> None:
        self.fh, self.count = fh, 0
        fh.write(DECLARATION + f'<lheo xmlns="{x.namespace}">\n  <offres>'.encode())

    def formation(self, data: bytes) -> None:
        """Append a formation's bytes (``formation_text`` encoded) on its own lines."""
        self.fh.write(b"\n    ")
        self.fh.write(data)
        self.count += 1

    def finish(self, items: Iterable[Item]) -> None:
        """Close ``offres``, write the root extras (``items``, streamed), close the document."""
        write = self.fh.write
        write(b"\n  </offres>")
        group: str | None = None
        for info, name, value in items:
            if info != group:
                if group is not None:
                    write(b"\n  </extras>")
                write(f'\n  <extras info="{escape_attribute(info)}">'.encode())
                group = info
            line = f'\n    <extra info="{escape_attribute(name)}">{escape_text(value)}</extra>'
            write(line.encode())
        if group is not None:
            write(b"\n  </extras>")
        write(b"\n</lheo>\n")


def digest(data: bytes) -> str:
    """The SHA-256 (hex) of a formation's bytes, as ``lheo-index.tsv`` holds it."""
    return hashlib.sha256(data).hexdigest()


def envelope(x: Xml, formation: bytes, items: Iterable[Item]) -> bytes:
    """A whole (small) document, as :class:`LheoStream` writes it: ``formation`` and the root
    extras ``items``, to check the envelope against the XSD once."""
    buffer = io.BytesIO()
    stream = LheoStream(buffer, x)
    stream.formation(formation)
    stream.finish(items)
    return buffer.getvalue()
