"""The downloadable catalogue des formations: one workbook per programme, and a static page.

``catalogue/catalogue-<programme>.xlsx``: one sheet of the programme's sessions (FAS-code order,
the ended ones included with their « Statut »), French headers, frozen header row, autofilter,
column widths, dates as dates. Written with xlsxwriter in ``constant_memory`` mode (a row at a
time, :class:`~pipelines.load.catalogue_sheet.CatalogueSheet`), every text as a string (never a
formula), and a text a spreadsheet would run (``=``, ``+``, ``-``, ``@``...) carries Excel's
« quote prefix »: shown as typed, kept as text.

``catalogue/index.html`` (Jinja2, autoescaped, ``pipelines/load/catalogue_page/``) searches and
filters the whole offer offline from the folder (programme, territory, Formacode, start dates,
free text) with ``catalogue.js`` and ``catalogue.css`` next to it; the data is ``offre.js``
(``window.CATALOGUE_OFFRE = {"colonnes": [...], "sessions": [[...], ...]}``: a script, not a
fetch, so the page works from ``file://``; ``<``, ``>`` and ``&`` escaped as ``\\u003c``...).
The page renders 25 rows at a time. « Statut » and the next information collective are judged
against ``context.today``; the page states ``context.export_date``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from jinja2 import Environment, PackageLoader, StrictUndefined
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format

from pipelines.errors import ExportError
from pipelines.load.catalogue_sheet import CatalogueSheet, Cell
from pipelines.load.feeds import Consumer, FeedFile, ReleaseContext, write_in_one_pass
from pipelines.load.files import atomic_write_bytes, atomic_writer
from pipelines.load.safe_csv import FORMULA_PREFIXES
from pipelines.load.sites_feed import compact_json, item_records

logger = logging.getLogger(__name__)

FOLDER = "catalogue"
STATIC_FILES = ("catalogue.js", "catalogue.css")
#: header, key of :func:`catalogue_row`, kind (text, date, number, list), width
XLSX_COLUMNS: tuple[tuple[str, str, str, int], ...] = (
    ("Code FAS", "fas", "text", 11),
    ("Intitulé de la formation", "intitule", "text", 45),
    ("Organisme", "organisme", "text", 30),
    ("SIRET", "siret", "text", 16),
    ("Programme", "programme", "text", 11),
    ("Numéro de lot", "lot", "text", 14),
    ("Territoire", "territoire", "text", 20),
    ("Commune", "commune", "text", 20),
    ("Code postal", "code_postal", "text", 8),
    ("Adresse", "adresse", "text", 30),
    ("Date de début", "debut", "date", 12),
    ("Date de fin", "fin", "date", 12),
    ("Statut", "statut_libelle", "text", 11),
    ("État du recrutement", "recrutement", "text", 12),
    ("Places financées", "places_financees", "number", 10),
    ("Places restantes", "places_restantes", "number", 10),
    ("Prochaine information collective", "prochaine_ic", "date", 16),
    ("Formacodes", "formacodes", "list", 16),
    ("Code Certif Info", "certifinfo", "text", 11),
    ("Niveau de sortie", "niveau_sortie", "text", 20),
    ("Durée en centre (h)", "duree_centre", "number", 10),
    ("Durée en entreprise (h)", "duree_entreprise", "number", 11),
    ("Rythme", "rythme", "text", 14),
    ("Modalité d'enseignement", "enseignement", "text", 22),
    ("Le plus de la formation", "plus", "text", 40),
    ("Courriel de l'organisme", "email", "text", 28),
    ("Téléphone de l'organisme", "telephone", "text", 16),
    ("Page de l'action", "url", "text", 40),
)
#: column index, key and kind of each cell of a row (:meth:`Classeur.write`)
_XLSX_CELLS = tuple((i, key, kind) for i, (_h, key, kind, _w) in enumerate(XLSX_COLUMNS))
#: the fields of each session in ``offre.js``, in order
PAGE_COLUMNS = ("fas", "intitule", "organisme", "programme", "lot", "territoire", "commune",
                "code_postal", "debut", "fin", "statut", "recrutement", "places_restantes",
                "prochaine_ic", "formacodes", "certifinfo", "url")  # fmt: skip
#: a row at a time; a text stays a text (no formula, URL or number guessed from it)
WORKBOOK_OPTIONS = {"constant_memory": True, "strings_to_formulas": False,
                    "strings_to_urls": False, "strings_to_numbers": False}  # fmt: skip
HEADER_FORMAT = {
    "bold": True,
    "text_wrap": True,
    "valign": "top",
    "bg_color": "#DDEBF7",
    "bottom": 1,
}
STATUTS = {"a-venir": "à venir", "en-cours": "en cours", "terminee": "terminée", "": ""}
_MAX_CELL = 32767
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_JS_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
               ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))  # fmt: skip


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def statut(debut: dt.date | None, fin: dt.date | None, today: dt.date) -> str:
    """``terminee``, ``en-cours``, ``a-venir``, or empty when the dates are unknown."""
    if fin is not None and fin < today:
        return "terminee"
    if debut is not None and debut <= today:
        return "en-cours"
    return "a-venir" if debut is not None or fin is not None else ""


def catalogue_row(site: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """What the catalogue shows of a session, from its regional sites' record (dates as dates)."""
    debut, fin = _date(site["dates"]["date_debut"]), _date(site["dates"]["date_fin"])
    dates = (dt.date.fromisoformat(i["date"]) for i in site["informations_collectives"])
    coming = [d for d in dates if d >= today]
    formation, action = site["formation"], site["action"]
    intitule = formation["intitule_formation"]
    if action["complement_intitule"]:
        intitule = f"{intitule} – {action['complement_intitule']}"
    code = statut(debut, fin, today)
    return {
        "fas": site["code_fas"], "intitule": intitule,
        "organisme": site["organisme"]["raison_sociale"], "siret": site["organisme"]["siret"],
        "programme": site["programme"]["code_programme"], "lot": site["lot"]["numero_lot"],
        "territoire": site["lot"]["territoire"], "commune": site["lieu"]["commune"],
        "code_postal": site["lieu"]["code_postal"], "adresse": site["lieu"]["adresse"],
        "debut": debut, "fin": fin, "statut": code, "statut_libelle": STATUTS[code],
        "recrutement": site["recrutement"]["etat_recrutement"],
        "places_financees": site["places"]["nb_places_dispositif"],
        "places_restantes": site["places"]["nb_places_restantes"],
        "prochaine_ic": min(coming, default=None), "formacodes": formation["formacodes"],
        "certifinfo": formation["code_certifinfo"],
        "niveau_sortie": formation["code_niveau_sortie"],
        "duree_centre": site["durees"]["duree_centre_h"],
        "duree_entreprise": site["durees"]["duree_entreprise_h"],
        "rythme": site["modalites"]["rythme"],
        "enseignement": site["modalites"]["modalite_enseignement"],
        "plus": action["plus_formation"], "email": site["organisme"]["email"],
        "telephone": site["organisme"]["telephone"], "url": action["url_action"],
    }  # fmt: skip


def page_line(row: dict[str, Any]) -> str:
    """One session of ``offre.js``: a JSON array safe inside any HTML or script context."""
    values = [v.isoformat() if isinstance(v, dt.date) else v for v in map(row.get, PAGE_COLUMNS)]
    line = compact_json(values)
    for character, escape in _JS_ESCAPES:  # str.replace is much faster than str.translate
        if character in line:
            line = line.replace(character, escape)
    return line


@dataclass
class Classeur:
    """The workbook of one programme, written a row at a time (``constant_memory``)."""

    code: str
    libelle: str
    fichier: str
    book: xlsxwriter.Workbook
    sheet: CatalogueSheet
    formats: dict[str, Format]
    rows: int = 0
    taille: str = ""

    @classmethod
    def open(cls, code: str, libelle: str, fichier: str, fh: IO[bytes], date: dt.date) -> Classeur:
        """Start the workbook on ``fh``: properties, formats, widths, header, frozen pane."""
        book = xlsxwriter.Workbook(fh, WORKBOOK_OPTIONS)
        book.set_properties({"title": f"Catalogue des formations – {libelle}", "subject": code,
                             "author": "Carif-Oref Pays de la Loire",
                             "created": dt.datetime.combine(date, dt.time())})  # fmt: skip
        formats = {
            "header": book.add_format(HEADER_FORMAT),
            "date": book.add_format({"num_format": "dd/mm/yyyy"}),
            "quoted": book.add_format({"quote_prefix": True}),
        }
        sheet = book.add_worksheet(_UNSAFE_NAME.sub("-", code)[:31] or "Programme", CatalogueSheet)
        sheet.freeze_panes(1, 0)
        sheet.set_row(0, 32)
        for index, (header, _key, _kind, width) in enumerate(XLSX_COLUMNS):
            sheet.set_column(index, index, width)
            sheet.write_string(0, index, header, formats["header"])
        return cls(code, libelle, fichier, book, sheet, formats)

    def write(self, row: dict[str, Any]) -> None:
        """Append a session's row: texts as strings, dates as dates, numbers as numbers."""
        self.rows += 1
        quoted, date = self.formats["quoted"], self.formats["date"]
        cells: list[Cell] = []
        for index, key, kind in _XLSX_CELLS:
            value = row[key]
            if value is None or value == []:
                continue
            if kind == "date":
                cells.append((index, value, date))
            elif kind == "number":
                cells.append((index, value, None))
            else:
                text = " | ".join(value) if kind == "list" else str(value)
                style = quoted if text.startswith(FORMULA_PREFIXES) else None
                cells.append((index, text[:_MAX_CELL], style))
        self.sheet.append_row(self.rows, cells)

    def close(self) -> None:
        """Set the autofilter over every row written, and finish the file."""
        self.sheet.autofilter(0, 0, self.rows, len(XLSX_COLUMNS) - 1)
        self.book.close()

    def discard(self) -> None:
        """Release an unfinished workbook's temporary files without writing it (the release is
        abandoned); nothing once it is closed."""
        if not self.book.fileclosed:
            for worksheet in self.book.worksheets():
                worksheet._opt_close()  # xlsxwriter's cleanup of its constant_memory files


def write_catalogue(context: ReleaseContext) -> list[FeedFile]:
    """Write the catalogue under ``catalogue/``: the workbooks, the page and its data (one pass).

    Args:
        context: the release.

    Returns:
        One file per workbook, then ``offre.js``, ``catalogue.js``, ``catalogue.css`` and
        ``index.html``.

    Raises:
        ExportError: a file cannot be written.
    """
    return write_in_one_pass(context, [catalogue_consumer])


def catalogue_consumer(context: ReleaseContext) -> Consumer:
    """:func:`write_catalogue` as a consumer of the release's pass over the offer."""
    folder = context.folder / FOLDER
    classeurs: dict[str, Classeur] = {}
    territoires: Counter[str] = Counter()
    formacodes: set[str] = set()
    total = terminees = 0
    try:
        with contextlib.ExitStack() as stack:
            data = stack.enter_context(atomic_writer(folder / "offre.js"))
            data.write(b'window.CATALOGUE_OFFRE = {"colonnes":' + json.dumps(PAGE_COLUMNS).encode())
            data.write(b',"sessions":[')
            while (item := (yield)) is not None:
                for _session, site in item_records(item):
                    row = catalogue_row(site, context.today)
                    code = row["programme"]
                    if code not in classeurs:
                        classeurs[code] = _open_classeur(stack, folder, site, classeurs, context)
                    classeurs[code].write(row)
                    data.write(b"\n" if total == 0 else b",\n")
                    data.write(page_line(row).encode("utf-8"))
                    total += 1
                    terminees += row["statut"] == "terminee"
                    if row["territoire"]:
                        territoires[row["territoire"]] += 1
                    formacodes.update(row["formacodes"])
            data.write(b"\n]};\n")
            for classeur in classeurs.values():  # finished only at the end of the offer:
                classeur.close()  # an abandoned release leaves them unwritten
        for classeur in classeurs.values():
            classeur.taille = _taille((folder / classeur.fichier).stat().st_size)
        for name in STATIC_FILES:
            atomic_write_bytes(folder / name, _page_file(name).read_bytes())
        page = _environment().get_template("index.html.j2").render(
            export_date=context.export_date,
            export_date_fr=context.export_date.strftime("%d/%m/%Y"),
            total=total, terminees=terminees,
            programmes=[{"code": c.code, "libelle": c.libelle, "count": c.rows}
                        for c in sorted(classeurs.values(), key=lambda c: c.code)],
            territoires=[{"nom": n, "count": territoires[n]} for n in sorted(territoires)],
            formacodes=sorted(formacodes),
            classeurs=[{"code": c.code, "libelle": c.libelle, "fichier": c.fichier,
                        "sessions": c.rows, "taille": c.taille}
                       for c in sorted(classeurs.values(), key=lambda c: c.code)],
        )  # fmt: skip
        atomic_write_bytes(folder / "index.html", page.encode("utf-8"))
    except (OSError, XlsxWriterException) as exc:
        raise ExportError(f"{FOLDER}/", f"écriture impossible : {exc}") from exc
    logger.info("%d sessions written to %s (%d workbooks)", total, FOLDER, len(classeurs))
    files = [FeedFile(f"{FOLDER}/{c.fichier}", c.rows, "XLSX (Office Open XML)")
             for c in sorted(classeurs.values(), key=lambda c: c.fichier)]  # fmt: skip
    return [
        *files,
        FeedFile(f"{FOLDER}/offre.js", total, "JavaScript (données JSON)"),
        FeedFile(f"{FOLDER}/catalogue.js", 0, "JavaScript"),
        FeedFile(f"{FOLDER}/catalogue.css", 0, "CSS"),
        FeedFile(f"{FOLDER}/index.html", total, "HTML5"),
    ]


def _open_classeur(
    stack: contextlib.ExitStack[Any],
    folder: Path,
    site: dict[str, Any],
    classeurs: dict[str, Classeur],
    context: ReleaseContext,
) -> Classeur:
    """Open the workbook of the site's programme (a file name no other programme has)."""
    code = site["programme"]["code_programme"]
    libelle = site["programme"]["libelle_programme"] or code
    name = _UNSAFE_NAME.sub("-", code).strip("-") or "programme"
    taken = {c.fichier for c in classeurs.values()}
    fichier, n = f"catalogue-{name}.xlsx", 1
    while fichier in taken:  # two codes that differ only by unsafe characters
        n += 1
        fichier = f"catalogue-{name}-{n}.xlsx"
    fh = stack.enter_context(atomic_writer(folder / fichier))
    classeur = Classeur.open(code, libelle, fichier, fh, context.export_date)
    stack.callback(classeur.discard)
    return classeur


def _taille(size: int) -> str:
    if size < 2**20:
        return f"{max(1, round(size / 2**10))} Ko"
    return f"{size / 2**20:.1f} Mo".replace(".", ",")


def _page_file(name: str) -> Any:
    return resources.files("pipelines.load").joinpath("catalogue_page", name)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("pipelines.load", "catalogue_page"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
