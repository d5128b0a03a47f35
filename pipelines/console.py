"""What the CLI shows people: summary tables and reject lists (rich), or one JSON document."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from pipelines.labels import COUNTER_LABELS, SHEET_TITLES, STATUS_LABELS
from pipelines.transform.report import Report

#: How many rejects the console lists before pointing to the full list.
MAX_SHOWN = 50

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

#: C0 and C1 control characters but tab and newline: ESC starts the terminal's escape
#: sequences (retitle, clear, move the cursor), which a file name or a cell could carry.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(value: object) -> str:
    """Text from a file or the store, harmless on a terminal: control characters replaced."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(value))


def safe(value: object) -> str:
    """Text from a file or the store, to put inside rich markup: shown as it is, never as
    markup (``[/]`` in a header) nor as a terminal escape sequence."""
    return escape(plain(value))


class _PlainRecords(logging.Filter):
    """Replace control characters in log records (file names and values reach the logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = plain(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(verbose: bool, level: str) -> None:
    """Send the project's logs to stderr: ``level`` by default, INFO with ``-v``."""
    console_level = logging.INFO if verbose else logging.getLevelName(level.upper())
    handler = RichHandler(console=err, show_path=False, rich_tracebacks=False)
    handler.setLevel(console_level)  # records propagate to it whatever the root's level
    handler.addFilter(_PlainRecords())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s", force=True)
    logging.getLogger("pipelines").setLevel(console_level)


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout (plain text: never wrapped or coloured)."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str, indent=2) + "\n")


def show_report(report: Report, *, title: str, all_errors: bool = False) -> None:
    """Print the counts per sheet, the warnings, the refusal and the rejected rows."""
    out.print(f"[bold]{safe(title)}[/]")
    if report.refusal is not None:
        err.print(f"[bold red]Livraison refusée[/] — {safe(report.refusal.message)}")
    if report.counts:
        table = Table()
        table.add_column("Feuille")
        table.add_column("Acceptées", justify="right")
        table.add_column("Rejetées", justify="right")
        for sheet, counts in report.counts.items():
            rejected = counts["rejected"]
            table.add_row(
                safe(SHEET_TITLES.get(sheet, sheet)),
                str(counts["accepted"]),
                f"[red]{rejected}[/]" if rejected else "0",
            )
        out.print(table)
    for warning in report.warnings:
        out.print(f"[yellow]Avertissement[/] : {safe(warning)}")
    if report.errors:
        shown = report.errors if all_errors else report.errors[:MAX_SHOWN]
        out.print(f"[bold]Lignes rejetées[/] ({len(report.errors)} motifs) :")
        for e in shown:
            where = f"{SHEET_TITLES.get(e.sheet, e.sheet)}, ligne {e.row}"
            if e.column:
                where += f", colonne {e.column}"
            out.print(f"  {safe(where)} [red]{safe(e.reason)}[/]", soft_wrap=True)
            out.print(f"      {plain(e.message)}", soft_wrap=True, markup=False)
        if len(shown) < len(report.errors):
            out.print(
                f"… et {len(report.errors) - len(shown)} autres (--json pour la liste entière)."
            )


def show_mapping(title: str, record: dict[str, Any]) -> None:
    """Print one record of the store: its fields, then each nested list as its own table."""
    table = Table(title=safe(title), title_justify="left", show_header=False)
    table.add_column("champ", style="bold")
    table.add_column("valeur", overflow="fold")
    nested: dict[str, list[dict[str, Any]]] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            nested[key] = value
            continue
        table.add_row(safe(key), "" if value is None else safe(value))
    out.print(table)
    for key, rows in nested.items():
        if not rows:
            continue
        columns = [c for c in rows[0] if c not in _INTERNAL]
        sub = Table(title=safe(f"{title} — {key}"), title_justify="left")
        for column in columns:
            short = all(len(str(row.get(column) or "")) <= 14 for row in rows)
            sub.add_column(safe(column), overflow="fold", no_wrap=short)
        for row in rows:
            sub.add_row(*("" if row.get(c) is None else safe(row.get(c)) for c in columns))
        out.print(sub)


#: Bookkeeping columns left out of nested tables (``--json`` has everything).
_INTERNAL = frozenset({"row_hash", "created_at", "updated_at", "source_rank", "delivery_id"})


def show_status(document: dict[str, Any]) -> None:
    """Print the deliveries received and what the store holds per year."""
    deliveries = Table(title="Livraisons", title_justify="left")
    for name in ("N°", "Fichier", "Année", "Reçue (UTC)", "Statut", "Rejets", "SHA-256"):
        deliveries.add_column(name, no_wrap=name != "Fichier", overflow="fold")
    for d in document["deliveries"]:
        deliveries.add_row(
            str(d["id"]),
            safe(d["file_name"]),
            str(d["year"] or ""),
            str(d["received_at"])[:16].replace("T", " "),
            safe(STATUS_LABELS.get(d["status"], d["status"])),
            str(d.get("rejects", "")),
            safe(d["sha256"][:8]),
        )
    out.print(deliveries)
    years = Table(title="Store par année (actifs / retirés)", title_justify="left")
    for name in ("Année", "Programmes", "Lots", "Actions", "Organismes"):
        years.add_column(name, justify="right", no_wrap=True)
    for y in document["years"]:
        years.add_row(
            str(y["annee"]),
            str(y["programmes"]),
            f"{y['lots']['active']} / {y['lots']['withdrawn']}",
            f"{y['actions']['active']} / {y['actions']['withdrawn']}",
            str(y["organismes"]),
        )
    out.print(years)
    offer = document.get("offre") or {}
    if any(offer.values()):
        states = Table(title="Offre des organismes : actions par état", title_justify="left")
        for state in offer:
            states.add_column(state, justify="right")
        states.add_row(*(str(n) for n in offer.values()))
        out.print(states)


def show_dashboard(board: dict[str, Any]) -> None:
    """Print an organisation's dashboard (SOFI counters) and its list of things to fix."""
    table = Table(title=f"Tableau de bord — SIRET {board['siret']}", title_justify="left")
    table.add_column("Compteur")
    table.add_column("Nombre", justify="right")
    for key, value in board["compteurs"].items():
        table.add_row(COUNTER_LABELS.get(key, key), str(value))
    out.print(table)
    if board["a_corriger"]:
        out.print(f"[bold]À corriger[/] ({len(board['a_corriger'])}) :")
        for item in board["a_corriger"]:
            out.print(
                f"  {safe(item['fiche'])} [red]{safe(item['regle'])}[/] ({safe(item['gravite'])})",
                soft_wrap=True,
            )
            out.print(f"      {plain(item['message'])}", soft_wrap=True, markup=False)


def show_release(document: dict[str, Any]) -> None:
    """Print a publication: its files (records, size) and where ``current`` points."""
    table = Table(title="Publication", title_justify="left")
    table.add_column("Fichier", overflow="fold")
    table.add_column("Enregistrements", justify="right")
    table.add_column("Format")
    table.add_column("Octets", justify="right")
    grouped: dict[str, list[dict[str, Any]]] = {}
    for f in document["files"]:
        folder = f["path"].rsplit("/", 1)[0] + "/" if f["path"].count("/") > 1 else f["path"]
        grouped.setdefault(folder, []).append(f)
    for name, files in grouped.items():
        size = f"{sum(f['size'] for f in files):,}".replace(",", " ")
        if len(files) == 1:
            table.add_row(name, str(files[0]["records"]), files[0]["format"], size)
        else:
            formats = ", ".join(sorted({f["format"] for f in files}))
            table.add_row(f"{name} ({len(files)} fichiers)", "", formats, size)
    out.print(table)
    out.print(f"Publication : {safe(document['release'])}", soft_wrap=True)
    out.print(
        f"Les consommateurs lisent : {safe(document['current'])} → {safe(document['release'])}",
        soft_wrap=True,
    )
