"""Commands for operations: the nightly run and the run history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import orm

from pipelines import console
from pipelines.cli import JSON, app, import_flows, store
from pipelines.settings import get_settings


@app.command()
def run(
    inbox: Path | None = typer.Option(
        None, "--inbox", help="Dossier de dépôt (défaut : <output_dir>/inbox)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Lancer même après l'heure limite du traitement de nuit."
    ),
    flow: bool = typer.Option(False, "--flow", help="Exécuter comme flow Prefect « nightly »."),
    json_: bool = JSON,
) -> None:
    """Le traitement de nuit : intégrer les nouveaux fichiers du dépôt, puis publier.

    Codes de sortie : 0 tout va bien ; 1 des fichiers refusés (les autres intégrés et publiés) ;
    2 échec ou lancement trop tardif ; 3 un autre traitement est déjà en cours.
    """
    from pipelines.errors import AlreadyRunning
    from pipelines.nightly import LOCK_NAME
    from pipelines.runlock import run_lock

    settings = get_settings()
    folder = inbox or settings.inbox_path
    try:
        # the lock is taken here too, so a skipped run does not even start Prefect
        with run_lock(settings.output_dir / f"{LOCK_NAME}.cli"):
            if flow:
                document: dict[str, Any] = import_flows(settings).nightly(str(folder), force)
            else:
                from pipelines.nightly import run_nightly

                with store(settings) as engine:
                    result = run_nightly(
                        engine, settings, inbox=folder, now=dt.datetime.now(dt.UTC), force=force
                    )
                document = result.as_dict() | {"exit_code": result.exit_code}
    except AlreadyRunning as error:
        console.err.print(error.message)
        raise typer.Exit(3) from None
    exit_code = int(document.pop("exit_code"))
    if json_:
        console.emit_json(document)
    else:
        console.show_mapping("Traitement de nuit", document)
    raise typer.Exit(exit_code)


@app.command()
def runs(
    limit: int = typer.Option(50, "--limit", help="Nombre d'exécutions affichées."),
    json_: bool = JSON,
) -> None:
    """L'historique des exécutions (les plus récentes d'abord)."""
    from pipelines.load.runs import list_runs

    with store(get_settings()) as engine, orm.Session(engine) as db:
        history = list_runs(db, limit=limit)
    if json_:
        console.emit_json(history)
        return
    for item in history:
        console.show_mapping(f"Exécution {item.get('id') or item.get('run_id')}", item)


@app.command()
def serve(
    cron: str | None = typer.Option(
        None, "--cron", help="Planification cron (défaut : CATALOGUE_NIGHTLY_CRON, « 0 2 * * * »)."
    ),
    timezone: str | None = typer.Option(
        None,
        "--timezone",
        help="Fuseau horaire du cron (défaut : CATALOGUE_NIGHTLY_TIMEZONE, Europe/Paris).",
    ),
) -> None:
    """Servir le traitement de nuit planifié (flow « nightly ») jusqu'à interruption (Ctrl-C).

    Il faut un serveur Prefect démarré et PREFECT_API_URL défini : sans lui, sortie en code 2.
    Un lancement pendant qu'un autre est en cours est annulé. À l'arrêt, Prefect met la
    planification en pause ; la relancer la réactive.
    """
    from pipelines.settings import check_timezone

    settings = get_settings()
    cron = (cron or settings.nightly_cron).strip()
    try:
        timezone = check_timezone(timezone or settings.nightly_timezone)
    except ValueError as error:
        console.err.print(f"catalogue serve : {error}")
        raise typer.Exit(2) from None
    flows = import_flows(settings)
    try:
        flows.nightly_schedule(cron, timezone)
    except ValueError as error:
        console.err.print(f"catalogue serve : cron invalide {cron!r} ({error})")
        raise typer.Exit(2) from None
    problem = flows.api_problem()
    if problem:
        console.err.print(f"catalogue serve : {problem}")
        raise typer.Exit(2)
    flows.serve_nightly(cron, timezone)
