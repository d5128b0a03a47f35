"""The Offre Info feed: ``offre-info/lheo.xml`` (LHEO 2.3, or 2.2 for Intercarif), its delta and
its index, streamed and validated against the XSD as they are written.

* ``lheo.xml``: one ``<formation>`` per published action that has a session, in FAS-code order
  (:mod:`pipelines.transform.lheo_export`), then the root ``<extras info="flux-intercarif">``
  (``date-export``). Each formation is written as text, parsed back and checked against the XSD
  (``formation`` is a global element of both XSDs): the bytes checked are the bytes published.
  It is then written and dropped: memory does not depend on the size of the offer. The
  envelope (``lheo``, ``offres``, root extras) is checked once, around the first formation. Each ``<formation …>`` line repeats the namespace, so a consumer that splits
  the file on those lines can parse (and validate) each one on its own.
* ``lheo-index.tsv``: the FAS code and SHA-256 of each formation's bytes in ``lheo.xml``.
* ``delta-AAAAMMJJ.xml``: the formations created or updated since ``context.previous``
  (compared through the indexes, :mod:`pipelines.transform.lheo_export_delta`), then root
  extras: ``flux-intercarif``, ``delta`` (``depuis``: the previous export date; counts),
  ``creations``, ``modifications``, ``retraits`` (one ``extra info="action"`` per FAS code).
  LHEO needs one formation at least: with withdrawals only, the offer's first formation is
  carried unchanged and named in ``delta/formation-inchangee``; with no change at all, no delta
  is written. Without a usable previous index every formation is « created »; after a change
  of LHEO version every formation is « updated » (its bytes differ). Withdrawn means no longer
  published (withdrawn, refused, back in validation, or left without a session). With no
  formation at all (LHEO forbids an empty ``<offres/>``) neither ``lheo.xml`` nor a delta is
  written, only the (empty) index, and a warning is logged.

Records (``FeedFile.records``): ``<formation>`` elements (one per action; ``lheo-index.tsv``:
its lines). Files are written as ``*.part`` and renamed once complete and valid: an invalid
formation raises :class:`~pipelines.errors.ExportError` naming its FAS code, and no file of
this feed is left behind.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Generator
from contextlib import ExitStack
from functools import lru_cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import Any

from lxml import etree

from pipelines.errors import ExportError
from pipelines.load.feeds import Consumer, FeedFile, OfferItem, ReleaseContext, write_in_one_pass
from pipelines.transform.bundle import ActionBundle
from pipelines.transform.lheo_export import (
    NAMESPACES,
    LheoRecordError,
    flux_extras,
    formation_text,
    xml_builder,
)
from pipelines.transform.lheo_export_delta import (
    CREEE,
    GROUPS,
    MODIFIEE,
    RETIREE,
    IndexDiff,
    change_items,
    check_order,
    delta_items,
    index_header,
    read_index,
)
from pipelines.transform.lheo_export_stream import Item, LheoStream, envelope
from pipelines.transform.lheo_export_stream import digest as formation_digest
from pipelines.transform.lheo_export_xml import NOT_XML, NOT_XML_MESSAGE, Xml

logger = logging.getLogger(__name__)

FOLDER = "offre-info"
FEED = f"{FOLDER}/lheo.xml"
INDEX = f"{FOLDER}/lheo-index.tsv"
XSD_FILES = {"2.3": "lheo.xsd", "2.2": "lheo-2.2.xsd"}
#: write buffer of the XML files
BUFFER = 1 << 20
#: Elements whose value is personal data: an XSD message about them never quotes the value.
_PERSONAL = re.compile(r"'(?:\{[^}]*\})?(courriel|numtel|nom|prenom)'")
_QUOTED_VALUE = re.compile(r"(value ')[^']*(')")


@lru_cache(maxsize=2)
def lheo_schema(version: str) -> etree.XMLSchema:
    """The LHEO XSD of ``version`` (``schemas/lheo/``), parsed once per process."""
    data = (resources.files("schemas") / "lheo" / XSD_FILES[version]).read_bytes()
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    return etree.XMLSchema(etree.fromstring(data, parser))


def _parser() -> etree.XMLParser:
    """The parser of the formations written, to check them: no entity, no network, and no
    blank text between elements (the XSD ignores it; the text of an element is kept)."""
    return etree.XMLParser(
        remove_blank_text=True, resolve_entities=False, load_dtd=False, no_network=True
    )


def delta_name(context: ReleaseContext) -> str:
    """``offre-info/delta-AAAAMMJJ.xml`` of the release."""
    return f"{FOLDER}/delta-{context.export_date:%Y%m%d}.xml"


def write_lheo(context: ReleaseContext) -> list[FeedFile]:
    """Write ``offre-info/lheo.xml``, ``lheo-index.tsv`` and the delta (see the module).

    Args:
        context: the release being written (``lheo_version``, ``previous``, ``offer``...).

    Returns:
        The files written: ``lheo.xml``, the delta when something changed, ``lheo-index.tsv``
        (``records``: formations).

    Raises:
        ExportError: an unknown LHEO version, an action that cannot be written, a formation or
            an envelope not valid against the XSD, an offer out of FAS-code order. No file of
            the feed is left.
    """
    return write_in_one_pass(context, [lheo_consumer])


def lheo_consumer(context: ReleaseContext) -> Consumer:
    """:func:`write_lheo` as a consumer of the release's pass over the offer
    (:func:`~pipelines.load.feeds.write_in_one_pass`)."""
    version = context.lheo_version
    if version not in NAMESPACES:
        raise ExportError(FEED, f"version LHEO inconnue « {version} » : 2.3 ou 2.2 attendue")
    (context.folder / FOLDER).mkdir(parents=True, exist_ok=True)
    names = (FEED, delta_name(context), INDEX)
    parts = [context.folder / f"{name}.part" for name in names]
    try:
        records = yield from _write(context, version, parts)
    except BaseException:
        for part in parts:
            part.unlink(missing_ok=True)
        raise
    files = []
    for name, part, count in zip(names, parts, records, strict=True):
        if count is None:
            part.unlink(missing_ok=True)
            continue
        os.replace(part, context.folder / name)
        files.append(
            FeedFile(name, count, "TSV (index LHEO)" if name == INDEX else f"LHEO {version}")
        )
    return files


class _Run:
    """The state of one write: change counts, the first formation (its bytes, kept to check the
    envelope and to carry in a withdrawals-only delta), sessions and skipped actions."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(GROUPS, 0)
        self.first: tuple[str, bytes] | None = None
        self.sessions = self.skipped = 0


def _write(
    context: ReleaseContext, version: str, parts: list[Path]
) -> Generator[None, OfferItem | None, list[int | None]]:
    """Stream the three files from the offer sent; return each one's records (None: not
    published)."""
    x, schema, parser = xml_builder(version), lheo_schema(version), _parser()
    since, previous = _previous_index(context.previous)
    run = _Run()
    with ExitStack() as stack:
        full = LheoStream(stack.enter_context(parts[0].open("wb", buffering=BUFFER)), x)
        delta = LheoStream(stack.enter_context(parts[1].open("wb", buffering=BUFFER)), x)
        index = stack.enter_context(parts[2].open("w", encoding="utf-8", newline="\n"))
        spool = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
        index.write(index_header(version, f"{context.export_date:%Y%m%d}"))
        old = stack.enter_context(previous.open(encoding="utf-8")) if previous else None
        diff = IndexDiff(read_index(old)[2] if old else ())
        while (item := (yield)) is not None:
            bundle = item.bundle
            data = _build(bundle, version)
            if data is None:
                run.skipped += 1
                continue
            _validate(schema, parser, data, bundle.ref, version)
            full.formation(data)
            digest = formation_digest(data)
            index.write(f"{bundle.ref}\t{digest}\n")
            try:
                change, withdrawn = diff.step(bundle.ref, digest)
            except ValueError as exc:
                raise ExportError(FEED, str(exc), record=bundle.ref) from None
            _spool(spool, run, RETIREE, withdrawn)
            if change is not None:
                _spool(spool, run, change, [bundle.ref])
                delta.formation(data)
            if run.first is None:
                run.first = (bundle.ref, data)
            run.sessions += len(bundle.sessions)
        _spool(spool, run, RETIREE, diff.rest())
        _log(version, full.count, run)
        if run.first is None:
            logger.warning("aucune formation publiable : ni lheo.xml ni delta (LHEO exige au "
                           "moins une formation)")  # fmt: skip
            return [None, None, 0]
        flux = flux_extras(context.export_date)
        _check_envelope(schema, parser, x, run.first[1], flux)
        full.finish(flux)
        if not any(run.counts.values()):
            return [full.count, None, full.count]
        carrier = None
        if delta.count == 0:  # withdrawals only: LHEO needs a formation, carry the first
            carrier = run.first[0]
            delta.formation(run.first[1])
        summary = flux + delta_items(since, run.counts, carrier)
        samples = [(group, "action", run.first[0]) for group in GROUPS.values()]
        _check_envelope(schema, parser, x, run.first[1], summary + samples)
        delta.finish(chain(summary, change_items(spool)))  # streamed, never a list
        return [full.count, delta.count, full.count]


def _spool(spool: Any, run: _Run, change: str, codes: Any) -> None:
    for code in codes:
        spool.write(f"{change}\t{code}\n")
        run.counts[change] += 1


def _log(version: str, formations: int, run: _Run) -> None:
    counts = run.counts
    logger.info("LHEO %s : %d formations (%d sessions), %d actions sans session ignorées ; "
                "delta : %d créées, %d modifiées, %d retirées", version, formations, run.sessions,
                run.skipped, counts[CREEE], counts[MODIFIEE], counts[RETIREE])  # fmt: skip


def _build(bundle: ActionBundle, version: str) -> bytes | None:
    """The formation's bytes (None: no session)."""
    try:
        text = formation_text(bundle, version)
        return None if text is None else text.encode()
    except (LheoRecordError, ValueError, TypeError, KeyError) as exc:
        message = f"l'action ne peut pas être écrite en LHEO {version} : {exc}"
        raise ExportError(FEED, message, record=bundle.ref) from exc


def _validate(
    schema: etree.XMLSchema, parser: etree.XMLParser, data: bytes, record: str, version: str
) -> None:
    """Check one formation's bytes against the XSD; raise with the XSD's first message."""
    try:
        element = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        if NOT_XML.search(data.decode()):
            message = f"l'action ne peut pas être écrite en LHEO {version} : {NOT_XML_MESSAGE}"
        else:
            message = f"formation LHEO {version} mal formée : {exc}"
        raise ExportError(FEED, message, record=record) from None
    if schema.validate(element):
        return
    message = xsd_message(schema.error_log[0].message)
    raise ExportError(FEED, f"formation non conforme au schéma LHEO {version} : {message}",
                      record=record)  # fmt: skip


def xsd_message(message: str) -> str:
    """An XSD message without namespaces, and without the value when it is personal data
    (a ``courriel``, ``numtel``, ``nom`` or ``prenom``: never logged)."""
    if _PERSONAL.search(message):
        message = _QUOTED_VALUE.sub(r"\1(masquée)\2", message)
    return re.sub(r"\{[^}]*\}", "", message)


def _check_envelope(
    schema: etree.XMLSchema, parser: etree.XMLParser, x: Xml, formation: bytes, items: list[Item]
) -> None:
    """Check ``lheo``/``offres``/root extras once, around one (valid) formation."""
    document = etree.fromstring(envelope(x, formation, items), parser)
    if not schema.validate(document):
        message = xsd_message(schema.error_log[0].message)
        raise ExportError(FEED, f"enveloppe du flux non conforme au schéma LHEO : {message}")


def _previous_index(previous: Path | None) -> tuple[str | None, Path | None]:
    """The previous release's export date and index, when it has a sound one (read once to
    check it, streamed again for the comparison)."""
    if previous is None:
        return None, None
    path = previous / INDEX
    try:
        with path.open(encoding="utf-8") as fh:
            _, since, pairs = read_index(fh)
            check_order(pairs)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        logger.warning("index LHEO de la publication précédente inutilisable (%s) : toutes les "
                       "formations sont « créées » dans le delta", exc)  # fmt: skip
        return None, None
    return since, path


__all__ = [
    "FEED",
    "INDEX",
    "delta_name",
    "lheo_consumer",
    "lheo_schema",
    "write_lheo",
    "xsd_message",
]
