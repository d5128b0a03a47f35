"""The ``catalogue`` command line (also ``python -m pipelines``).

Exit codes: 0 all is well; 1 rows were rejected (the rest went through); 2 the delivery was
refused as a whole, or stopped by the mass-withdrawal guard.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import Engine, orm

from pipelines import console
from pipelines.settings import Settings, get_settings

app = typer.Typer(
    name="catalogue",
    help="Catalogue de l'offre de formation Pays de la Loire : extraction Région → store → flux.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
JSON = typer.Option(False, "--json", help="Une sortie JSON unique au lieu des tableaux.")


class ShowKind(StrEnum):
    """What ``catalogue show`` can look up."""

    lot = "lot"
    action = "action"
    organisme = "organisme"


@app.callback()
def main(
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Afficher les journaux (INFO)."),
) -> None:
    """Catalogue de l'offre de formation Pays de la Loire."""
    console.setup_logging(verbose, get_settings().log_level)


def _limits(settings: Settings) -> Any:
    from pipelines.ingest import Limits

    return Limits(settings.max_file_mb * 2**20, settings.max_uncompressed_mb * 2**20)


@contextmanager
def _store(settings: Settings) -> Iterator[Engine]:
    """The store's engine, migrated to the latest schema, disposed on exit."""
    from pipelines.load.db import make_engine, upgrade_store

    settings.output_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.store_url)
    try:
        upgrade_store(engine)
        yield engine
    finally:
        engine.dispose()


@app.command()
def validate(
    path: Path = typer.Argument(..., help="Classeur .xlsx/.xlsm ou dossier de CSV."),
    json_: bool = JSON,
) -> None:
    """Valider une extraction de la Région sans rien écrire."""
    from pipelines.errors import ExtractionFileError
    from pipelines.extract.extraction import describe
    from pipelines.ingest import refused_report, validate_path

    settings = get_settings()
    limits = _limits(settings)
    try:
        info = describe(path, limits.max_bytes)
        report, _ = validate_path(path, limits, info)
    except ExtractionFileError as error:
        report = refused_report(error)
    if json_:
        console.emit_json(report.as_dict())
    else:
        console.show_report(report, title=f"Validation de {report.file}")
    raise typer.Exit(report.exit_code)


@app.command()
def ingest(
    path: Path = typer.Argument(..., help="Classeur .xlsx/.xlsm ou dossier de CSV."),
    allow_mass_withdrawal: bool = typer.Option(
        False, "--allow-mass-withdrawal", help="Accepter le retrait de nombreux lots ou actions."
    ),
    json_: bool = JSON,
    flow: bool = typer.Option(
        False, "--flow", help="Exécuter comme flow Prefect (historique des exécutions)."
    ),
) -> None:
    """Valider une extraction et l'intégrer dans le store (une transaction)."""
    settings = get_settings()
    if flow:
        flows = _import_flows(settings)
        document = flows.ingest_extraction(str(path), allow_mass_withdrawal)
        exit_code = int(document.pop("exit_code"))
        if json_:
            console.emit_json(document)
        else:
            _show_ingest(document)
        raise typer.Exit(exit_code)
    from pipelines.ingest import ingest_path

    with _store(settings) as engine:
        result = ingest_path(
            path,
            engine=engine,
            output_dir=settings.output_dir,
            limits=_limits(settings),
            threshold=settings.mass_withdrawal_threshold,
            allow_mass_withdrawal=allow_mass_withdrawal,
        )
    if json_:
        console.emit_json(result.as_dict())
    else:
        _show_ingest(result.as_dict(), result.report)
    raise typer.Exit(result.exit_code)


def _show_ingest(document: dict[str, Any], report: Any = None) -> None:
    from pipelines.transform.report import Report

    if report is None:
        report = Report(file=document["file"], year=document["year"], counts=document["counts"])
    console.show_report(report, title=f"Intégration de {document['file']} ({document['year']})")
    messages = {
        "integree": "[green]Intégrée[/] dans le store",
        "deja-integree": "Déjà intégrée : rien n'a changé",
        "refusee": "[red]Refusée[/] : le store est inchangé",
        "arretee": "[red]Arrêtée[/] par le garde-fou de retrait massif : le store est inchangé",
    }
    console.out.print(f"{messages[document['status']]} (livraison {document.get('delivery_id')}).")
    if document.get("refusal") and report.refusal is None:
        console.err.print(f"[bold red]Motif[/] — {document['refusal']['message']}")
    if document.get("quarantine"):
        console.out.print(f"Lignes rejetées : {document['quarantine']}", soft_wrap=True)
    if document.get("archive"):
        archive = get_settings().output_dir / document["archive"]
        console.out.print(f"Archive : {archive}", soft_wrap=True)


@app.command()
def show(
    kind: ShowKind = typer.Argument(..., help="lot, action ou organisme."),
    key: str = typer.Argument(..., help="N° de lot, ID Action CR, N° OF ou SIRET."),
    json_: bool = JSON,
) -> None:
    """Afficher ce que le store contient pour un lot, une action ou un organisme."""
    from pipelines.load import inspect

    key = key.strip()
    if kind is not ShowKind.lot and not re.fullmatch(r"\d+(:\d{14})?", key):
        console.err.print(f"Clé « {key} » invalide : un nombre (ID Action CR, N° OF) ou un SIRET.")
        raise typer.Exit(2)
    with _store(get_settings()) as engine, orm.Session(engine) as db:
        record: Any
        if kind is ShowKind.lot:
            record = inspect.show_lot(db, key.upper())
        elif kind is ShowKind.action:
            record = inspect.show_action(db, int(key))
        else:
            try:
                record = inspect.show_organisme(db, key)
            except ValueError:
                console.err.print(f"Clé « {key} » invalide : un N° OF, un SIRET ou of_cr:siret.")
                raise typer.Exit(2) from None
    if json_:
        console.emit_json(record)
    elif not record:
        console.err.print(f"Aucun {kind.value} « {key} » dans le store.")
    else:
        records = record if isinstance(record, list) else [record]
        for item in records:
            console.show_mapping(f"{kind.value} {key}", item)
    raise typer.Exit(0 if record else 1)


@app.command()
def status(json_: bool = JSON) -> None:
    """Afficher les livraisons reçues et le contenu du store par année."""
    from pipelines.load.inspect import store_status

    with _store(get_settings()) as engine, orm.Session(engine) as db:
        document = store_status(db)
    if json_:
        console.emit_json(document)
        return
    console.show_status(document)


def _import_flows(settings: Settings) -> Any:
    """Import the Prefect flows with Prefect's home inside the output folder (before import)."""
    home = settings.prefect_home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "pipelines")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    from pipelines import flows

    return flows


if __name__ == "__main__":
    app()
