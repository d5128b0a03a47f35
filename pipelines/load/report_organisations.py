"""What an organisation's page of the report says (``rapport/organismes/<siret>``): its
dashboard as SOFI shows it, what it must fix, the rows rejected from its entry files and its
sessions « non diffusables vers Kairos/Ouiform »; the same content as a CSV for Excel."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import orm, select

from pipelines.labels import COUNTER_LABELS, SEVERITY_LABELS, SHEET_TITLES, STATE_LABELS
from pipelines.load import report_data as data
from pipelines.load.dashboard import dashboard

logger = logging.getLogger(__name__)

#: The only names an organisation's files may have (a SIRET read from the store).
SIRET = re.compile(r"^\d{14}$")
#: The organisation's CSV: one table, its first column says what each row is.
CSV_COLUMNS = {
    "rubrique": "Rubrique",
    "libelle": "Libellé",
    "nombre": "Nombre",
    "action": "Action (code FAS)",
    "etat": "État",
    "regle": "Règle",
    "gravite": "Gravité",
    "fiche": "Fiche",
    "champ": "Champ",
    "valeur": "Valeur",
    "message": "Message",
}


def organisation_sirets(
    db: orm.Session, deliveries: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> list[str]:
    """The SIRETs that get a page: those of offer records, and of entry files the store knows.

    A SIRET only comes from the store (an entry file's name counts when the store has that
    organisation), and only 14 digits are ever used as a file name.

    Args:
        db: the store.
        deliveries: ``store_status()["deliveries"]``.
        names: SIRET -> raison sociale (:func:`report_data.organisation_names`).
    """
    found: set[str] = set()
    for table in (data.T_FORMATIONS, data.T_ACTIONS, data.T_SESSIONS):
        found.update(db.scalars(select(table.c.siret).distinct()))
    for d in deliveries:
        siret = data.entry_siret(d["kind"], d["file_name"])
        if siret is not None and siret in names:
            found.add(siret)
    unsafe = {s for s in found if not SIRET.match(s or "")}
    if unsafe:
        logger.warning("%d SIRET of the store left out of the report (not 14 digits)", len(unsafe))
    return sorted(found - unsafe)


def organisation_page(
    db: orm.Session,
    siret: str,
    today: dt.date,
    *,
    names: Mapping[str, str],
    rejects: Sequence[data.RejectRow],
    deliveries: Sequence[Mapping[str, Any]],
    kairos: Mapping[str, list[dict[str, str]]] | None,
) -> dict[str, Any]:
    """Everything an organisation's page shows.

    Args:
        db: the store.
        siret: the organisation (from :func:`organisation_sirets`).
        today: the date the dashboard counts against.
        names: SIRET -> raison sociale.
        rejects: the rows rejected from its entry files.
        deliveries: its entry files (rows of ``store_status()["deliveries"]``).
        kairos: the Kairos feed's sessions left out, per SIRET; None if it was not built.

    Returns:
        ``{"siret", "nom", "board" (:func:`dashboard`), "compteurs" [(label, n)], "rejets",
        "livraisons", "kairos" (None: feed not built)}``.
    """
    board = dashboard(db, siret, today)
    return {
        "siret": siret,
        "nom": names.get(siret, ""),
        "board": board,
        "compteurs": [(COUNTER_LABELS.get(k, k), n) for k, n in board["compteurs"].items()],
        "rejets": list(rejects),
        "livraisons": list(deliveries),
        "kairos": None if kairos is None else kairos.get(siret, []),
    }


def _row(**cells: object) -> tuple[object, ...]:
    return tuple(cells.get(column) for column in CSV_COLUMNS)


def csv_rows(page: Mapping[str, Any]) -> list[tuple[object, ...]]:
    """The page as CSV rows (in :data:`CSV_COLUMNS` order): counters, things to fix, rejected
    rows, sessions not sent to Kairos/Ouiform."""
    rows = [_row(rubrique="Tableau de bord", libelle=k, nombre=n) for k, n in page["compteurs"]]
    rows += [
        _row(rubrique="À corriger", action=i["action"], etat=STATE_LABELS.get(i["etat"], i["etat"]),
             regle=i["regle"], gravite=SEVERITY_LABELS.get(i["gravite"], i["gravite"]),
             fiche=i["fiche"], champ=i["champ"], message=i["message"])
        for i in page["board"]["a_corriger"]
    ]  # fmt: skip
    rows += [
        _row(rubrique="Ligne rejetée", libelle=r.file, regle=r.reason, gravite="Rejet",
             fiche=SHEET_TITLES.get(r.sheet, r.sheet) + ("" if r.row is None else f", ligne {r.row}"),
             champ=r.column, valeur=r.value, message=r.message)
        for r in page["rejets"]
    ]  # fmt: skip
    rows += [
        _row(rubrique="Non diffusable vers Kairos/Ouiform", libelle=i["intitule"],
             fiche=i["fas"], regle=i["raison"], message=i["message"])
        for i in page["kairos"] or []
    ]  # fmt: skip
    return rows


def summary(page: Mapping[str, Any]) -> dict[str, Any]:
    """The organisation's line in the run report's list of organisations."""
    counters, to_fix = page["board"]["compteurs"], page["board"]["a_corriger"]
    return {
        "siret": page["siret"],
        "nom": page["nom"],
        "sessions_actives": counters["sessions_actives"],
        "en_cours": counters["actions_en_cours_de_saisie"],
        "en_attente": counters["actions_en_attente_de_validation"],
        "bloquants": sum(1 for i in to_fix if i["gravite"] == "bloquant"),
        "avertissements": sum(1 for i in to_fix if i["gravite"] != "bloquant"),
        "rejets": len(page["rejets"]),
    }
