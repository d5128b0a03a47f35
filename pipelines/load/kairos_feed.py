"""The Kairos / Ouiform feed: the published sessions France Travail's advisers can prescribe.

``kairos-ouiform/sessions.jsonl`` holds, in FAS-code order, each published session whose
recruitment is open or suspended, that has not ended (``date_fin`` on or after
``context.today``, or unknown) and that has at least one information collective to come
(dated ``context.today`` or later). Only the informations collectives to come are sent. The
contract is ``schemas/feeds/kairos-ouiform-sessions.schema.json``, published next to it as
``sessions.schema.json``.

``kairos-ouiform/non-diffusables.json`` is for the run report (« non diffusable vers
Kairos/Ouiform »): the sessions that would be prescribable but have no information collective to
come, ``{siret: [{"fas", "intitule", "raison", "message"}]}``, keys sorted by SIRET (the site
that enters the session: the action's SIRET), sessions in FAS-code order. Sessions whose
recruitment is closed or unknown, or that have ended, are in neither file. Its contract is
``non-diffusables.schema.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from typing import IO, Any

from pipelines.errors import ExportError
from pipelines.load.feeds import Consumer, FeedFile, ReleaseContext, write_in_one_pass
from pipelines.load.files import atomic_write_bytes, atomic_writer
from pipelines.load.sites_feed import dumps_line, feed_schema, item_records

logger = logging.getLogger(__name__)

FOLDER = "kairos-ouiform"
VERSION = "1.0"
SCHEMA_FILE = "kairos-ouiform-sessions.schema.json"
HELD_SCHEMA_FILE = "kairos-ouiform-non-diffusables.schema.json"
PRESCRIBABLE = ("ouvert", "suspendu")
#: raison -> message of a session left out of the feed, for the OF
RAISONS = {
    "aucune-information-collective": (
        "Aucune information collective n'est saisie pour cette session : elle n'est pas "
        "diffusable vers Kairos/Ouiform. Ajoutez au moins une date d'information collective."
    ),
    "informations-collectives-passees": (
        "Les informations collectives de cette session sont toutes passées : elle n'est pas "
        "diffusable vers Kairos/Ouiform. Ajoutez une date d'information collective à venir."
    ),
}


def is_prescribable(site: dict[str, Any], today: dt.date) -> bool:
    """Tell whether a session may be offered, informations collectives aside.

    Args:
        site: the session's record for the regional sites (``sites_feed.session_record``).
        today: the day « ended » is judged against.

    Returns:
        True when its recruitment is open or suspended and it has not ended.
    """
    date_fin = site["dates"]["date_fin"]
    ended = date_fin is not None and dt.date.fromisoformat(date_fin) < today
    return site["recrutement"]["etat_recrutement"] in PRESCRIBABLE and not ended


def to_come(site: dict[str, Any], today: dt.date) -> list[dict[str, Any]]:
    """The informations collectives of a session dated ``today`` or later, as Kairos gets them."""
    return [
        {
            **{k: info[k] for k in ("date", "heure_debut", "heure_fin", "lieu")},
            "nb_places": None,
            "commentaire": info["commentaire"],
        }
        for info in site["informations_collectives"]
        if dt.date.fromisoformat(info["date"]) >= today
    ]


def kairos_record(site: dict[str, Any], informations: list[dict[str, Any]]) -> dict[str, Any]:
    """The Kairos/Ouiform record of a session, from its regional sites' record.

    Args:
        site: the session's record for the regional sites.
        informations: its informations collectives to come (:func:`to_come`).

    Returns:
        The record, its keys in the schema's order.
    """
    formation, organisme = site["formation"], site["organisme"]
    return {
        "code_fas": site["code_fas"],
        "code_fas_action": site["code_fas_action"],
        "intitule_formation": formation["intitule_formation"],
        "formacodes": formation["formacodes"],
        "code_certifinfo": formation["code_certifinfo"],
        "programme": {k: site["programme"][k] for k in ("code_programme", "libelle_programme")},
        "codes_externes": site["codes_externes"],
        "organisme": {k: organisme[k] for k in ("siret", "raison_sociale")},
        "organisme_responsable": site["organisme_responsable"],
        "etat_recrutement": site["recrutement"]["etat_recrutement"],
        "dates": site["dates"],
        "places": {k: site["places"][k] for k in ("nb_places_dispositif", "nb_places_restantes")},
        "lieu": site["lieu"],
        "informations_collectives": informations,
        "contact": {k: organisme[k] for k in ("email", "telephone")},
        "referent_prf": site["referents"]["prf"],
        "referent_pmr": site["referents"]["pmr"],
        "url_action": site["action"]["url_action"],
    }


def write_kairos(context: ReleaseContext) -> list[FeedFile]:
    """Write the Kairos/Ouiform feed under ``kairos-ouiform/`` (streamed, one pass).

    Args:
        context: the release; « to come » and « ended » are judged against ``context.today``.

    Returns:
        ``sessions.jsonl``, ``sessions.schema.json``, ``non-diffusables.json`` and
        ``non-diffusables.schema.json``.

    Raises:
        ExportError: a file cannot be written.
    """
    return write_in_one_pass(context, [kairos_consumer])


def kairos_consumer(context: ReleaseContext) -> Consumer:
    """:func:`write_kairos` as a consumer of the release's pass over the offer."""
    folder, count = context.folder / FOLDER, 0
    try:
        with (
            atomic_writer(folder / "sessions.jsonl") as jsonl,
            _HeldSpool() as held,
        ):
            while (item := (yield)) is not None:
                for _session, site in item_records(item):
                    if not is_prescribable(site, context.today):
                        continue
                    informations = to_come(site, context.today)
                    if informations:
                        jsonl.write(dumps_line(kairos_record(site, informations)))
                        count += 1
                        continue
                    raison = (
                        "informations-collectives-passees"
                        if site["informations_collectives"]
                        else "aucune-information-collective"
                    )
                    held.add(
                        item.bundle.siret,
                        {
                            "fas": site["code_fas"],
                            "intitule": site["formation"]["intitule_formation"],
                            "raison": raison,
                            "message": RAISONS[raison],
                        },
                    )
            atomic_write_bytes(folder / "sessions.schema.json", feed_schema(SCHEMA_FILE))
            with atomic_writer(folder / "non-diffusables.json") as report:
                held.write(report)
        atomic_write_bytes(folder / "non-diffusables.schema.json", feed_schema(HELD_SCHEMA_FILE))
    except OSError as exc:
        raise ExportError(f"{FOLDER}/sessions.jsonl", f"écriture impossible : {exc}") from exc
    held_count = held.count
    logger.info(
        "%d sessions written to %s, %d without an information collective to come (%d organismes)",
        count, FOLDER, held_count, len(held.offsets),
    )  # fmt: skip
    return [
        FeedFile(f"{FOLDER}/sessions.jsonl", count, f"JSON Lines, kairos-ouiform {VERSION}"),
        FeedFile(f"{FOLDER}/sessions.schema.json", 0, "JSON Schema 2020-12"),
        FeedFile(f"{FOLDER}/non-diffusables.json", held_count, f"JSON, non-diffusables {VERSION}"),
        FeedFile(f"{FOLDER}/non-diffusables.schema.json", 0, "JSON Schema 2020-12"),
    ]


class _HeldSpool:
    """The sessions held back from the feed, per SIRET, spooled to a temporary file (memory
    does not grow with them): each one's JSON text is kept on disk, only its place in memory.

    :meth:`write` gives exactly ``json.dumps(held, ensure_ascii=False, indent=2,
    sort_keys=True) + "\\n"`` of ``held = {siret: [session, ...]}`` (SIRETs sorted, each one's
    sessions in the order they were added), one SIRET at a time.
    """

    def __init__(self) -> None:
        self.offsets: dict[str, list[tuple[int, int]]] = {}
        self.count = 0

    def __enter__(self) -> _HeldSpool:
        self._file = tempfile.TemporaryFile()
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def add(self, siret: str, session: dict[str, str]) -> None:
        """Keep one session held back from the feed (``{fas, intitule, raison, message}``)."""
        data = json.dumps(session, ensure_ascii=False).encode("utf-8")
        self._file.seek(0, os.SEEK_END)
        self.offsets.setdefault(siret, []).append((self._file.tell(), len(data)))
        self._file.write(data)
        self.count += 1

    def write(self, out: IO[bytes]) -> None:
        """Write the held sessions as ``non-diffusables.json``."""
        out.write(b"{")
        for n, siret in enumerate(sorted(self.offsets)):
            sessions = []
            for offset, size in self.offsets[siret]:
                self._file.seek(offset)
                sessions.append(json.loads(self._file.read(size)))
            group = json.dumps({siret: sessions}, ensure_ascii=False, indent=2, sort_keys=True)
            out.write((",\n" if n else "\n").encode("utf-8"))
            out.write(group[2:-2].encode("utf-8"))  # without the braces' lines
        out.write(b"\n}\n" if self.offsets else b"}\n")
