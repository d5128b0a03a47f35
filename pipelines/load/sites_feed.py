"""The regional sites' feed: one published session a line, in JSON Lines and in CSV.

``sites-regionaux/sessions.jsonl`` holds one record per active session of a validated action
(FAS-code order), self-contained: its formation, action, organismes, programme, lot, places,
dates, lieu, informations collectives, référents... Groups are one level deep (a record has no
formation > actions > sessions tree); every key is always there, null when unknown. The
contract is ``schemas/feeds/sites-regionaux-sessions.schema.json`` (JSON Schema 2020-12),
published next to the feed as ``sessions.schema.json``.

``sessions.csv`` is the same records flattened for Excel users (:func:`csv_columns`: French
headers, ``;``, UTF-8 with BOM, lists joined with `` | ``, dates ``jj/mm/aaaa``, decimal commas,
``oui``/``non``, cells escaped against formula injection by :mod:`pipelines.load.safe_csv`),
described by ``sessions.csv.schema.json`` (a Frictionless Tabular Data Resource: dialect, and a
Table Schema naming each column's type and the JSON field it comes from). The CSV has no
geolocation columns (always null for now).

The records are also what the Kairos/Ouiform feed and the catalogue are made from
(:func:`iter_records`): one mapping from the store to the published fields.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from pipelines.errors import ExportError
from pipelines.load.feeds import Consumer, FeedFile, OfferItem, ReleaseContext, write_in_one_pass
from pipelines.load.files import atomic_write_bytes, atomic_writer
from pipelines.load.sites_csv import CSV_SCHEMA_FILE, CsvWriter, csv_columns, feed_schema

__all__ = [
    "csv_columns",
    "action_groups",
    "feed_schema",
    "item_records",
    "iter_records",
    "session_record",
    "sites_consumer",
    "write_sites",
]
from pipelines.transform.bundle import ActionBundle, SessionView
from pipelines.transform.rules_text import as_date
from schemas.lists import ETATS_RECRUTEMENT

logger = logging.getLogger(__name__)

FOLDER = "sites-regionaux"
SCHEMA_FILE = "sites-regionaux-sessions.schema.json"
VERSION = "1.0"
JSONL_FORMAT = f"JSON Lines, sites-regionaux {VERSION}"
SCHEMA_FORMAT = "JSON Schema 2020-12"
#: the published label of each LHEO code of dict-etat-recrutement
_ETATS = {c.code: c.label for c in ETATS_RECRUTEMENT.choices}
REFERENT_TYPES = ("pmr", "mobilite", "prf")
MODALITES = ("esp", "rythme", "periodes", "type_parcours", "modalites_pedagogiques",
             "modalite_enseignement")  # fmt: skip


#: ``json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)``, with one
#: encoder for every line (``json.dumps`` with options builds one a call)
compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps_line(record: dict[str, Any]) -> bytes:
    """One JSON Lines line: compact, UTF-8, keys in the record's order, ``\\n`` ended."""
    return (compact_json(record) + "\n").encode("utf-8")


def iter_records(context: ReleaseContext) -> Iterator[tuple[ActionBundle, dict[str, Any]]]:
    """Yield each published session's record with its action, in FAS-code order (one pass).

    Args:
        context: the release; its offer is read once.

    Yields:
        ``(bundle, record)``; the record as :func:`session_record` builds it.
    """
    for bundle in context.offer():
        for _session, record in item_records(OfferItem(bundle)):
            yield bundle, record


def item_records(item: OfferItem) -> list[tuple[SessionView, dict[str, Any]]]:
    """The records of an action's sessions (by session id), built once per pass: every feed of
    the pass that reads them gets the same list (read only, never changed). The groups that
    come from the action (:func:`action_groups`) are built once and shared by its sessions'
    records."""
    if item.records is None:
        sessions = sorted(item.bundle.sessions, key=lambda s: int(s.fields["id"]))
        groups = action_groups(item.bundle)
        item.records = [(s, session_record(item.bundle, s, groups)) for s in sessions]
    return item.records


def session_record(
    bundle: ActionBundle, session: SessionView, groups: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The published record of one session (see the module's docstring and the schema).

    Args:
        bundle: the session's action, as the published offer yields it.
        session: one of its sessions.
        groups: :func:`action_groups` of ``bundle`` when the caller already built them (they
            are then shared, not copied); built here otherwise.

    Returns:
        The record, its keys in the schema's order.
    """
    if groups is None:
        groups = action_groups(bundle)
    fields = session.fields
    responsable_siret = fields.get("organisme_responsable_siret")
    return {
        "code_fas": session.ref,
        "code_fas_action": bundle.ref,
        "code_fas_formation": groups["code_fas_formation"],
        "formation": groups["formation"],
        "action": groups["action"],
        "organisme": groups["organisme"],
        "organisme_responsable": (
            organisme(bundle, responsable_siret, full=False) if responsable_siret else None
        ),
        "programme": groups["programme"],
        "lot": groups["lot"],
        "codes_externes": groups["codes_externes"],
        "places": groups["places"],
        "frais": groups["frais"],
        "dates": {
            "date_debut": iso(fields.get("date_debut")),
            "date_fin": iso(fields.get("date_fin")),
        },
        "periodes_inscription": [
            {
                "type": text(p.get("type")),
                "date_debut": iso(p.get("date_debut")),
                "date_fin": iso(p.get("date_fin")),
            }
            for p in sorted(session.periodes_inscription, key=_periode_key)
        ],
        "lieu": {
            "adresse": text(fields.get("lieu_adresse")),
            "code_postal": text(fields.get("lieu_code_postal")),
            "commune": text(fields.get("lieu_commune")),
            "geolocalisation": None,  # not in the store yet (see the schema)
        },
        "informations_collectives": [
            {
                "date": iso(i.get("date")),
                **_pick(i, text, "heure_debut", "heure_fin", "lieu"),
                "commentaire": text(i.get("commentaire")),
            }
            for i in sorted(session.informations_collectives, key=_information_key)
            if iso(i.get("date"))
        ],
        "referents": {kind: referent(session.referents.get(kind)) for kind in REFERENT_TYPES},
        "modalites": _pick(fields, text, *MODALITES),
        "durees": {
            **_pick(fields, number, "duree_centre_h", "duree_entreprise_h", "duree_hebdo_h"),
            "commentaire_duree": text(fields.get("commentaire_duree")),
        },
        "recrutement": {
            "etat_recrutement": etat_recrutement(fields.get("etat_recrutement")),
            "modalites_recrutement": [
                m for m in (text(v) for v in fields.get("modalites_recrutement") or []) if m
            ],
        },
    }


def action_groups(bundle: ActionBundle) -> dict[str, Any]:
    """The groups of a session's record that come from its action alone (the same for each of
    its sessions): ``code_fas_formation``, ``formation``, ``action``, ``organisme``,
    ``programme``, ``lot``, ``codes_externes``, ``places`` and ``frais``."""
    formation, action, dispositif = bundle.formation, bundle.action, bundle.dispositif
    return {
        "code_fas_formation": str(formation["id"]),
        "formation": {
            "intitule_formation": text(formation.get("intitule_formation")) or "",
            **_pick(formation, text, "objectif_formation", "resultats_attendus"),
            **_pick(formation, text, "contenu_formation", "code_niveau_sortie", "famille_metier"),
            "formacodes": [str(code) for code in formation.get("formacodes") or []],
            "domaine_principal": text(formation.get("domaine_principal")),
            "certifiante": bool(formation.get("certifiante")),
            **_pick(formation, text, "code_certifinfo", "type_certification"),
        },
        "action": {
            **_pick(action, text, "complement_intitule", "complement_programme", "objectifs"),
            **_pick(action, text, "resultats_attendus", "plus_formation"),
            **_pick(action, url, "url_action", "url_pdf", "url_video"),
            **_pick(action, text, "type_equipement", "niveau_entree", "prerequis", "commentaires"),
            "public": text(dispositif.get("public")),
        },
        "organisme": organisme(bundle, bundle.siret, full=True),
        "programme": {
            "code_programme": bundle.programme,
            **_pick(bundle.programme_row, text, "libelle_programme", "code_dispositif"),
            "annee": int(bundle.annee),
        },
        "lot": {
            "numero_lot": str(bundle.lot["numero_lot"]),
            **_pick(bundle.lot, text, "intitule_lot", "territoire"),
        },
        "codes_externes": {
            "numero_lot": str(dispositif["numero_lot"]),
            "id_action_cr": int(dispositif["id_action_cr"]),
            "of_mandataire_cr": int(dispositif["of_mandataire_cr"]),
        },
        "places": {
            **_pick(dispositif, integer, "nb_places_dispositif", "nb_places_restantes"),
            **_pick(dispositif, integer, "effectif_minimal", "capacite_simultanee"),
        },
        "frais": {
            **_pick(dispositif, number, "frais_ht", "taux_tva", "frais_ttc"),
            "frais_additionnels": text(dispositif.get("frais_additionnels")),
            "frais_certification": number(dispositif.get("frais_certification")),
            "prise_en_charge_frais": boolean(dispositif.get("prise_en_charge_frais")),
        },
    }


def organisme(bundle: ActionBundle, siret: str, *, full: bool) -> dict[str, Any]:
    """An organisme of the action by SIRET: SIRET and raison sociale, with ``full`` its contact."""
    row = bundle.organismes.get(siret, {})
    found = {"siret": str(siret), "raison_sociale": text(row.get("raison_sociale"))}
    if full:
        found |= _pick(row, text, "numero_activite", "adresse", "code_postal", "commune")
        found |= _pick(row, text, "email", "telephone")
    return found


def referent(row: dict[str, Any] | None) -> dict[str, str | None] | None:
    """A référent's nom, email and telephone; None when none of them is given."""
    found = {key: text((row or {}).get(key)) for key in ("nom", "email", "telephone")}
    return found if any(found.values()) else None


def etat_recrutement(value: Any) -> str | None:
    """The état du recrutement as published (``ouvert``, ``suspendu``, ``fermé``), else None."""
    label = text(value)
    return _published_etat(label) if label else None


@lru_cache(maxsize=256)  # a few labels, each one folded once (not once per session)
def _published_etat(label: str) -> str | None:
    return _ETATS.get(ETATS_RECRUTEMENT.code_of(label) or "")


def text(value: Any) -> str | None:
    """Text as published: surrounding blanks stripped, None when blank or missing."""
    if value is None:
        return None
    if value.__class__ is str:  # the usual case, without str()
        return value.strip() or None  # type: ignore[no-any-return]
    stripped = str(value).strip()
    return stripped or None


def iso(value: Any) -> str | None:
    """A date as ``AAAA-MM-JJ``, None when missing or not a date."""
    if value.__class__ is dt.date:  # the usual case, without as_date()
        return value.isoformat()  # type: ignore[no-any-return]
    found = as_date(value)
    return found.isoformat() if found else None


def number(value: Any) -> float | int | None:
    """A number, None when missing or not finite."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    found = float(value)
    return found if math.isfinite(found) else None


def integer(value: Any) -> int | None:
    """An integer, None when missing."""
    found = number(value)
    return None if found is None else int(found)


def boolean(value: Any) -> bool | None:
    """A boolean, None when missing."""
    return None if value is None else bool(value)


def url(value: Any) -> str | None:
    """A web address (``http``/``https`` only), else None: other schemes are never published."""
    found = text(value)
    return found if found and found.lower().startswith(("http://", "https://")) else None


def _pick(row: dict[str, Any], convert: Callable[[Any], Any], *keys: str) -> dict[str, Any]:
    if convert is text:  # most fields: text() inlined for a str (a call saved per field)
        found = {}
        for key in keys:
            value = row.get(key)
            found[key] = (value.strip() or None) if value.__class__ is str else text(value)
        return found
    return {key: convert(row.get(key)) for key in keys}


def _periode_key(periode: dict[str, Any]) -> tuple[str, str, str]:
    return (iso(periode.get("date_debut")) or "", iso(periode.get("date_fin")) or "",
            text(periode.get("type")) or "")  # fmt: skip


def _information_key(info: dict[str, Any]) -> tuple[str, str, str]:
    return (iso(info.get("date")) or "", text(info.get("heure_debut")) or "",
            text(info.get("lieu")) or "")  # fmt: skip


# --------------------------------------------------------------------------- the writer


def write_sites(context: ReleaseContext) -> list[FeedFile]:
    """Write the regional sites' feed under ``sites-regionaux/`` (streamed, one pass).

    Args:
        context: the release.

    Returns:
        ``sessions.jsonl``, ``sessions.schema.json``, ``sessions.csv``,
        ``sessions.csv.schema.json``.

    Raises:
        ExportError: a file cannot be written.
    """
    return write_in_one_pass(context, [sites_consumer])


def sites_consumer(context: ReleaseContext) -> Consumer:
    """:func:`write_sites` as a consumer of the release's pass over the offer."""
    folder, count = context.folder / FOLDER, 0
    try:
        atomic_write_bytes(folder / "sessions.schema.json", feed_schema(SCHEMA_FILE))
        atomic_write_bytes(folder / "sessions.csv.schema.json", feed_schema(CSV_SCHEMA_FILE))
        with (
            atomic_writer(folder / "sessions.jsonl") as jsonl,
            atomic_writer(folder / "sessions.csv") as raw,
        ):
            table = CsvWriter(raw)
            try:
                while (item := (yield)) is not None:
                    for _session, record in item_records(item):
                        jsonl.write(dumps_line(record))
                        table.write(record)
                        count += 1
            finally:
                table.close()
    except OSError as exc:
        raise ExportError(f"{FOLDER}/sessions.jsonl", f"écriture impossible : {exc}") from exc
    logger.info("%d sessions written to %s", count, FOLDER)
    return [
        FeedFile(f"{FOLDER}/sessions.jsonl", count, JSONL_FORMAT),
        FeedFile(f"{FOLDER}/sessions.schema.json", 0, SCHEMA_FORMAT),
        FeedFile(f"{FOLDER}/sessions.csv", count, "CSV (;, UTF-8 BOM)"),
        FeedFile(f"{FOLDER}/sessions.csv.schema.json", 0, "Frictionless Tabular Data Resource"),
    ]
