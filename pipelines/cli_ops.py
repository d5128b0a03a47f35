"""Commands for operations: the nightly run and the run history."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import orm

from pipelines import console
from pipelines.cli import JSON, app, import_flows, store
from pipelines.settings import get_settings

logger = logging.getLogger(__name__)


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
        console.err.print(console.safe(error.message))
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
        console.err.print(f"catalogue serve : {console.safe(error)}")
        raise typer.Exit(2) from None
    flows = import_flows(settings)
    try:
        flows.nightly_schedule(cron, timezone)
    except ValueError as error:
        console.err.print(
            f"catalogue serve : cron invalide {console.safe(repr(cron))} ({console.safe(error)})"
        )
        raise typer.Exit(2) from None
    problem = flows.api_problem()
    if problem:
        console.err.print(f"catalogue serve : {console.safe(problem)}")
        raise typer.Exit(2)
    flows.serve_nightly(cron, timezone)


@app.command()
def backfill(
    first: int = typer.Option(..., "--from", help="Première année à recharger (ex. 2019)."),
    last: int = typer.Option(..., "--to", help="Dernière année à recharger (incluse)."),
    source: Path = typer.Option(
        ..., "--source", help="Dossier des livraisons : un sous-dossier par année, ou à plat."
    ),
    workers: int = typer.Option(
        2, "--workers", min=1, help="Processus Dask du cluster local (un par année à la fois)."
    ),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="Adresse d'un cluster Dask existant (tcp://hôte:8786)."
    ),
    allow_mass_withdrawal: bool = typer.Option(
        False, "--allow-mass-withdrawal", help="Passer outre le garde-fou des retraits massifs."
    ),
    json_: bool = JSON,
) -> None:
    """Recharger des années entières (flow Prefect « backfill », une tâche Dask par année).

    Chaque année intègre ses livraisons dans l'ordre des traitements de nuit ; les années
    tournent en parallèle. Un fichier déjà intégré ne change rien : relancer reprend où l'on
    en était. Codes de sortie : 0 tout intégré ; 1 des fichiers refusés ou ignorés ; 2 échec.
    """
    from pipelines.backfill import plan_backfill

    settings = get_settings()
    try:
        plan = plan_backfill(source, first, last)
    except ValueError as error:
        console.err.print(f"catalogue backfill : {console.safe(error)}")
        raise typer.Exit(2) from None
    for item in plan.ignored:
        console.err.print(f"ignoré : {console.safe(item['file'])} ({console.safe(item['reason'])})")
    flows = import_flows(settings)
    runner = flows.dask_runner(workers, dask_address)
    call = flows.backfill.with_options(task_runner=runner)
    arguments = (str(source), first, last, allow_mass_withdrawal)
    if json_:
        document: dict[str, Any] = call(*arguments)
    else:
        with _progress_bars(settings, plan):
            document = call(*arguments)
    exit_code = int(document["exit_code"])
    if json_:
        console.emit_json(document)
    else:
        console.show_mapping(
            "Rechargement", {k: document[k] for k in ("run_id", "state", "message", "counts")}
        )
    raise typer.Exit(exit_code)


@contextmanager
def _progress_bars(settings: Any, plan: Any) -> Iterator[None]:
    """A progress bar per year, fed by the store (works whatever runs the years, wherever)."""
    import threading

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from pipelines.backfill import progress
    from pipelines.inbox import checksum
    from pipelines.load.db import make_engine

    limit = settings.max_file_mb * 2**20
    checksums = {
        y.year: [s for s in (checksum(Path(p), limit) for p in y.paths) if s] for y in plan.years
    }
    bars = Progress(
        "[bold]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console.err, transient=False,
    )  # fmt: skip
    tasks = {year: bars.add_task(str(year), total=len(shas)) for year, shas in checksums.items()}
    done = threading.Event()
    engine = make_engine(settings.store_url)

    def update() -> None:
        try:
            for year, count in progress(engine, checksums).items():
                bars.update(tasks[year], completed=count)
        except Exception:  # the store not created yet, a lock: the next poll will tell
            logger.debug("backfill progress: the store could not be read", exc_info=True)

    def poll() -> None:
        while not done.wait(0.5):
            update()

    watcher = threading.Thread(target=poll, name="backfill-progress", daemon=True)
    with bars:
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()
            update()
    engine.dispose()


@app.command()
def replay(
    run_id: str = typer.Argument(..., help="L'exécution à rejouer (catalogue runs)."),
    into: str = typer.Option(
        ..., "--into", help="URL SQLAlchemy d'un store vide où reconstruire (sqlite:///…)."
    ),
    output: Path | None = typer.Option(
        None, "--output", help="Dossier de sortie du rejeu (défaut : <output_dir>/replays/<id>)."
    ),
    json_: bool = JSON,
) -> None:
    """Rejouer une exécution passée depuis l'archive : même store, même version, octet pour octet.

    Codes de sortie : 0 version identique ; 1 rejouée mais différente (voir les différences) ;
    2 impossible (exécution inconnue, store de destination non vide, archive incomplète).
    """
    import re

    from pipelines.load.db import make_engine, upgrade_store
    from pipelines.replay import ReplayError
    from pipelines.replay import replay as replay_run

    settings = get_settings()
    if not re.fullmatch(r"[0-9a-f]{32}", run_id):
        console.err.print(
            f"catalogue replay : identifiant d'exécution invalide : {console.safe(repr(run_id))}"
        )
        raise typer.Exit(2)
    folder = output or settings.output_dir / "replays" / run_id
    if folder.exists() and any(folder.iterdir()):
        console.err.print(
            f"catalogue replay : le dossier de sortie n'est pas vide : {console.safe(folder)}"
        )
        raise typer.Exit(2)
    target = settings.model_copy(update={"output_dir": folder, "database_url": into})
    folder.mkdir(parents=True, exist_ok=True)
    destination = make_engine(into)
    try:
        upgrade_store(destination)
        with store(settings) as source:
            result = replay_run(
                source, run_id, archive_dir=settings.archive_dir, into=destination,
                settings=target, original_releases=settings.output_dir / "releases",
            )  # fmt: skip
    except ReplayError as error:
        console.err.print(f"catalogue replay : {console.safe(error)}")
        raise typer.Exit(2) from None
    finally:
        destination.dispose()
    document = result.as_dict()
    exit_code = int(document.pop("exit_code"))
    if json_:
        console.emit_json(document)
    else:
        console.show_mapping(f"Rejeu de {run_id}", document)
    raise typer.Exit(exit_code)
