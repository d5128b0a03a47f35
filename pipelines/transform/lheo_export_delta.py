"""What changed between two LHEO releases, from their indexes, without reading either XML.

Each release writes ``offre-info/lheo-index.tsv``: one line per ``<formation>``, its action's
FAS code and the SHA-256 of the formation's bytes as written in ``lheo.xml``, in the offer's
order (FAS codes compared as numbers: formation id, then action id). The next release walks the
previous index alongside its own offer, both in that order (a merge join: two lines in memory):
a code only in the new offer is **created**, in both with another digest **updated**, only in
the previous index **withdrawn** (withdrawn, refused, or back in validation: no longer published).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

from pipelines.transform.lheo_export_stream import Item

Key = tuple[int, ...]
CREEE, MODIFIEE, RETIREE = "creee", "modifiee", "retiree"
#: First line of an index: a marker, the LHEO version and the export date.
INDEX_MARK = "#lheo-index"


def fas_key(code: str) -> Key:
    """``12-345`` -> ``(12, 345)``: FAS codes in the store's order.

    Raises:
        ValueError: not a FAS code.
    """
    return tuple(int(part) for part in code.split("-"))


def index_header(version: str, export_date: str) -> str:
    """The index's first line (``#lheo-index<TAB>2.3<TAB>AAAAMMJJ``)."""
    return f"{INDEX_MARK}\t{version}\t{export_date}\n"


def read_index(lines: Iterable[str]) -> tuple[str, str, Iterator[tuple[str, str]]]:
    """Split an index into its version, export date and ``(code, digest)`` pairs.

    Raises:
        ValueError: no header.
    """
    it = iter(lines)
    header = next(it, "").rstrip("\n").split("\t")
    if len(header) != 3 or header[0] != INDEX_MARK:
        raise ValueError("en-tête d'index LHEO absent")

    def pairs() -> Iterator[tuple[str, str]]:
        for line in it:
            code, _, digest = line.rstrip("\n").partition("\t")
            if code:
                yield code, digest

    return header[1], header[2], pairs()


def check_order(pairs: Iterable[tuple[str, str]]) -> int:
    """How many entries an index holds, checking their codes are FAS codes in strictly
    increasing order and their digests SHA-256 hex.

    Raises:
        ValueError: an entry out of order or malformed.
    """
    last: Key | None = None
    count = 0
    for code, digest in pairs:
        key = fas_key(code)
        if (last is not None and key <= last) or len(digest) != 64:
            raise ValueError(f"index LHEO : entrée « {code} » hors d'ordre ou mal formée")
        last, count = key, count + 1
    return count


class IndexDiff:
    """The merge join of the previous index with the new offer, one formation at a time.

    Args:
        previous: the previous index's ``(code, digest)`` pairs, in order; empty when there is
            no previous release (every formation is then « created »).
    """

    def __init__(self, previous: Iterable[tuple[str, str]]) -> None:
        self._previous = iter(previous)
        self._pending = self._next()
        self._last: Key | None = None

    def _next(self) -> tuple[Key, str, str] | None:
        found = next(self._previous, None)
        return None if found is None else (fas_key(found[0]), found[0], found[1])

    def step(self, code: str, digest: str) -> tuple[str | None, list[str]]:
        """Classify the next formation of the new offer.

        Returns:
            Its change (:data:`CREEE`, :data:`MODIFIEE`, or None when unchanged), and the
            previous codes passed over (withdrawn).

        Raises:
            ValueError: the new offer is not in FAS-code order.
        """
        key = fas_key(code)
        if self._last is not None and key <= self._last:
            raise ValueError(
                f"offre hors de l'ordre des codes FAS : {code} après un code supérieur"
            )
        self._last = key
        withdrawn = []
        while self._pending is not None and self._pending[0] < key:
            withdrawn.append(self._pending[1])
            self._pending = self._next()
        if self._pending is not None and self._pending[0] == key:
            before = self._pending[2]
            self._pending = self._next()
            return (None if before == digest else MODIFIEE), withdrawn
        return CREEE, withdrawn

    def rest(self) -> Iterator[str]:
        """The previous codes after the new offer's last one (withdrawn)."""
        while self._pending is not None:
            yield self._pending[1]
            self._pending = self._next()


def delta_items(since: str | None, counts: dict[str, int], carrier: str | None) -> list[Item]:
    """The delta's ``<extras info="delta">``: ``depuis`` (the previous export date, when
    known), the counts, and ``formation-inchangee`` (the formation carried only because LHEO
    needs one, when nothing was created or updated)."""
    values = [
        ("depuis", since),
        ("creations", str(counts[CREEE])),
        ("modifications", str(counts[MODIFIEE])),
        ("retraits", str(counts[RETIREE])),
        ("formation-inchangee", carrier),
    ]
    return [("delta", name, value) for name, value in values if value is not None]


#: change -> the delta's root extras group listing its FAS codes (``extra info="action"``)
GROUPS = {CREEE: "creations", MODIFIEE: "modifications", RETIREE: "retraits"}


def change_items(spool: IO[str]) -> Iterator[Item]:
    """The changes spooled as ``<change>\\t<FAS code>`` lines, as root extras items: every
    creation, then every update, then every withdrawal (the spool is read once per group)."""
    for change, group in GROUPS.items():
        spool.seek(0)
        for line in spool:
            found, _, code = line.rstrip("\n").partition("\t")
            if found == change:
                yield group, "action", code
