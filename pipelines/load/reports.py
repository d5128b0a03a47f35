"""The reports of a release (``feeds.md`` §4), for the Carif-Oref's offer service and each OF.

Written under ``<release>/rapport/``:

* ``index.html``: what the store and this publication hold: inputs, counts per stage, rejects
  by reason and by organisation, what is published, withdrawn or held back and why, the
  sessions « non diffusables vers Kairos/Ouiform », with charts (inline SVG, no script);
* ``organismes/<siret>.html`` and ``.csv``: an organisation's dashboard (SOFI counters), what
  it must fix, and the rows rejected from its entry files;
* ``quarantaine.csv``: every rejected row stored.

Pages are self-contained (style inline, no script, no external resource): they open from the
folder, and an organisation's page can be sent to it alone. Templates are Jinja2 with
autoescaping: file names, messages and values from the inputs are always escaped. Only the
page may show the time of the run (``generated_at``); the order of everything is stable, so the
same store and context give byte-identical files.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import orm

from pipelines.errors import ExportError
from pipelines.labels import (
    KIND_LABELS,
    SEVERITY_LABELS,
    SHEET_TITLES,
    STATE_LABELS,
    STATUS_LABELS,
)
from pipelines.load import report_data as data
from pipelines.load import report_organisations as organisations
from pipelines.load.feeds import FeedFile, ReleaseContext
from pipelines.load.files import atomic_write_bytes
from pipelines.load.inspect import store_status
from pipelines.load.quarantine import QUARANTINE_HEADER
from pipelines.load.report_charts import bar_chart
from pipelines.load.safe_csv import write_csv
from pipelines.load.workflow import VALIDEE

logger = logging.getLogger(__name__)

FOLDER = "rapport"
ORGANISATIONS = "organismes"
QUARANTINE = "quarantaine.csv"
#: Written by the Kairos/Ouiform feed before this one:
#: ``{siret: [{fas, intitule, raison, message}]}``.
NON_DIFFUSABLES = Path("kairos-ouiform") / "non-diffusables.json"
TEMPLATES = Path(__file__).resolve().parent / "report_templates"
PARIS = ZoneInfo("Europe/Paris")
HTML, CSV = "HTML", "CSV"


def write_reports(context: ReleaseContext) -> list[FeedFile]:
    """Write the run report, one page and CSV per organisation, and the quarantine.

    Args:
        context: the release (reads the store through ``context.session()``, and the Kairos
            feed's ``non-diffusables.json`` if it was written).

    Returns:
        The files, sorted by path. Records: organisations (index), items listed (things to
        fix and rejected rows: an organisation's page), data rows (CSV).

    Raises:
        ExportError: the Kairos feed's list is unreadable.
    """
    root = context.folder / FOLDER
    kairos = read_non_diffusables(context.folder)
    files: list[FeedFile] = []
    with context.session() as db:
        rejects = data.read_rejects(db)
        status = store_status(db)
        names = data.organisation_names(db)
        sirets = organisations.organisation_sirets(db, status["deliveries"], names)
        files.append(_write_quarantine(root, rejects))
        by_siret: dict[str | None, list[data.RejectRow]] = defaultdict(list)
        for reject in rejects:
            by_siret[reject.siret].append(reject)
        entries: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        for delivery in status["deliveries"]:
            entries[data.entry_siret(delivery["kind"], delivery["file_name"])].append(delivery)
        summaries = []
        for siret in sirets:
            page = organisations.organisation_page(
                db, siret, context.today, names=names, rejects=by_siret.get(siret, []),
                deliveries=entries.get(siret, []), kairos=kairos,
            )  # fmt: skip
            files.extend(_write_organisation(root, context, page))
            summaries.append(organisations.summary(page))
        index = _index(db, context, status, rejects, names, summaries, kairos)
    html = _render("index.html", index)
    atomic_write_bytes(root / "index.html", html.encode("utf-8"))
    files.append(FeedFile(f"{FOLDER}/index.html", len(summaries), HTML))
    logger.info("report written: %d organisations, %d rejected rows", len(summaries), len(rejects))
    return sorted(files, key=lambda f: f.path)


def read_non_diffusables(release: Path) -> dict[str, list[dict[str, str]]] | None:
    """The Kairos/Ouiform feed's sessions left out, per SIRET; None when it was not built.

    Sessions stay in the file's order (FAS-code order, as the Kairos feed writes them).

    Raises:
        ExportError: the file is not the expected JSON.
    """
    path = release / NON_DIFFUSABLES
    if not path.is_file():
        return None
    problem = "kairos-ouiform/non-diffusables.json illisible"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportError(f"{FOLDER}/index.html", f"{problem} : {error}") from None
    if not isinstance(document, dict) or not all(
        isinstance(v, list) and all(isinstance(i, dict) for i in v) for v in document.values()
    ):
        raise ExportError(f"{FOLDER}/index.html", f"{problem} : {{siret: [{{…}}]}} attendu")
    keys = ("fas", "intitule", "raison", "message")
    return {
        str(siret): [{k: "" if i.get(k) is None else str(i[k]) for k in keys} for i in items]
        for siret, items in sorted(document.items())
    }


def _write_quarantine(root: Path, rejects: Sequence[data.RejectRow]) -> FeedFile:
    rows = [(r.file, r.sheet, r.row, r.column, r.value, r.reason, r.message) for r in rejects]
    write_csv(root / QUARANTINE, QUARANTINE_HEADER, rows)
    return FeedFile(f"{FOLDER}/{QUARANTINE}", len(rows), CSV)


def _write_organisation(
    root: Path, context: ReleaseContext, page: dict[str, Any]
) -> list[FeedFile]:
    siret = page["siret"]
    assert organisations.SIRET.match(siret)  # organisation_sirets() lets nothing else through
    folder = root / ORGANISATIONS
    rows = organisations.csv_rows(page)
    write_csv(folder / f"{siret}.csv", list(organisations.CSV_COLUMNS.values()), rows)
    html = _render("organisme.html", {**_common(context), **page})
    atomic_write_bytes(folder / f"{siret}.html", html.encode("utf-8"))
    items = len(page["board"]["a_corriger"]) + len(page["rejets"])
    return [
        FeedFile(f"{FOLDER}/{ORGANISATIONS}/{siret}.csv", len(rows), CSV),
        FeedFile(f"{FOLDER}/{ORGANISATIONS}/{siret}.html", items, HTML),
    ]


def _index(
    db: orm.Session,
    context: ReleaseContext,
    status: dict[str, Any],
    rejects: Sequence[data.RejectRow],
    names: dict[str, str],
    summaries: list[dict[str, Any]],
    kairos: dict[str, list[dict[str, str]]] | None,
) -> dict[str, Any]:
    offer = data.offer_counts(db)
    n_actions, n_sessions = data.published_counts(db)
    programmes = data.per_programme(db)
    by_reason = data.rejects_by_reason(rejects)
    states = [(STATE_LABELS.get(s, s), n) for s, n in offer["etats"].items()]
    frame = data.frame_per_year(db)
    held = data.held_back(db, offer["etats"], n_actions)
    deliveries = status["deliveries"]
    return {
        **_common(context),
        "en_bref": [
            ("Fichiers reçus", len(deliveries)),
            ("Fichiers refusés ou arrêtés", sum(d["status"] != "accepted" for d in deliveries)),
            ("Lignes rejetées", len(rejects)),
            ("Actions de la Région actives", sum(y["actions"]["actives"] for y in frame)),
            ("Actions de l'offre (non retirées)", sum(offer["etats"].values())),
            ("Actions validées par le Carif-Oref", offer["etats"].get(VALIDEE, 0)),
            ("Actions publiées", n_actions),
            ("Sessions publiées", n_sessions),
            ("Actions retenues (non publiées)", sum(offer["etats"].values()) - n_actions),
        ],
        "livraisons": deliveries,
        "cadre": frame,
        "etats": states,
        "offre_totaux": [
            ("Formations (non retirées)", offer["formations"]),
            ("Sessions (non retirées)", offer["sessions_actives"]),
            ("Sessions retirées", offer["sessions_retirees"]),
        ],
        "programmes": programmes,
        "publie": {"actions": n_actions, "sessions": n_sessions},
        "retenu": held,
        "retenu_etats": [(STATE_LABELS.get(s, s), n) for s, n in held["etats"]]
        + [("Validées, mais action ou lot de la Région retiré", held["validees_non_publiees"])],
        "retraits": [
            ("Sessions de l'offre retirées", offer["sessions_retirees"]),
            ("Actions de l'offre retirées", offer["actions_retirees"]),
            ("Lots de la Région retirés", sum(y["lots"]["retirees"] for y in frame)),
            ("Actions de la Région retirées", sum(y["actions"]["retirees"] for y in frame)),
            ("Programmes de la Région retirés", sum(y["programmes"]["retirees"] for y in frame)),
        ],
        "avertissements": data.issues_by_rule(db, "avertissement", held_back=False),
        "rejets": len(rejects),
        "rejets_par_motif": by_reason,
        "rejets_par_organisme": data.rejects_by_organisation(status["deliveries"], names),
        "organismes": summaries,
        "pages": {s["siret"] for s in summaries},
        "kairos": None if kairos is None else _kairos_lines(kairos, names),
        "graphiques": {
            "etats": bar_chart("graphique-etats", "Actions de l'offre par état", states),
            "motifs": bar_chart(
                "graphique-rejets",
                "Lignes rejetées par motif",
                [(r["motif"], r["lignes"]) for r in by_reason],
            ),
            "programmes": bar_chart(
                "graphique-programmes",
                "Sessions publiées par programme",
                [
                    (f"{p['code']} {p['annee'] or ''}".strip(), p["sessions_publiees"])
                    for p in programmes
                ],
            ),
        },
    }


def _kairos_lines(
    kairos: dict[str, list[dict[str, str]]], names: dict[str, str]
) -> list[dict[str, Any]]:
    """Per organisation: its sessions left out of the Kairos feed, and how many per reason."""
    lines = []
    for siret, held in kairos.items():
        reasons = sorted(Counter(i["raison"] for i in held).items())
        if held:
            lines.append({"siret": siret, "nom": names.get(siret, ""), "sessions": len(held),
                          "raisons": " ; ".join(f"{r} : {n}" for r, n in reasons)})  # fmt: skip
    return lines


def _common(context: ReleaseContext) -> dict[str, Any]:
    return {
        "run_id": context.run_id,
        "genere_le": context.generated_at.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M"),
        "date_export": context.export_date.strftime("%d/%m/%Y"),
        "aujourdhui": context.today.strftime("%d/%m/%Y"),
    }


def _number(n: int | None) -> str:
    """``12345`` -> ``12 345`` (French thousands, narrow no-break space)."""
    return "" if n is None else f"{n:,}".replace(",", "\u202f")


def _moment(value: Any) -> str:
    moment = data.as_moment(value)
    return "" if moment is None else moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of the reports (templates shipped in the package, autoescaped)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(nombre=_number, moment=_moment)
    env.globals.update(
        etat=lambda s: STATE_LABELS.get(s, s),
        gravite=lambda s: SEVERITY_LABELS.get(s, s),
        statut=lambda s: STATUS_LABELS.get(s, s),
        nature=lambda s: KIND_LABELS.get(s, s),
        feuille=lambda s: SHEET_TITLES.get(s, s),
    )
    return env


def _render(template: str, values: dict[str, Any]) -> str:
    return environment().get_template(template).render(values)
