"""Prefect flows: the only module that imports Prefect.

Thin ``@task`` wrappers around the plain functions of ``pipelines.ingest``, retried on I/O
errors only (file read, database connection), never on validation.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import flow, task, unmapped
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import Task
from sqlalchemy.exc import DBAPIError

from pipelines.backfill import YearPlan, backfill_year, failed_year, plan_backfill, run_backfill
from pipelines.dispatch import ingest_one
from pipelines.extract.source import DeliveryInfo
from pipelines.ingest import IngestResult, Limits, limits_of, prepare, store_delivery, validate_path
from pipelines.journal import ingest_files
from pipelines.load.db import make_engine, upgrade_store
from pipelines.nightly import run_nightly
from pipelines.settings import get_settings
from pipelines.transform.frame import ValidatedExtraction
from pipelines.transform.report import Report

# Prefect's API handler is attached to "pipelines" (PREFECT_LOGGING_EXTRA_LOGGERS) without a
# level: INFO lines would be cut at the root logger's WARNING.
logging.getLogger("pipelines").setLevel(logging.INFO)
logger = logging.getLogger(__name__)


def retry_on_io_error(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry a task only when it failed reading a file or reaching the database."""
    try:
        state.result()
    except OSError:
        return True
    except DBAPIError as exc:
        return bool(exc.connection_invalidated)
    except Exception:
        return False
    return False


IO_RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": 5,
    "retry_condition_fn": retry_on_io_error,
    "cache_policy": NO_CACHE,
}


@task(name="identifier-livraison", **IO_RETRIES)
def prepare_task(path: Path, engine: Any, limits: Limits) -> DeliveryInfo | IngestResult:
    """Identify the delivery (checksum); stop early if refused or already ingested."""
    return prepare(path, engine, limits)


@task(name="valider-extraction", **IO_RETRIES)
def validate_task(
    path: Path, limits: Limits, info: DeliveryInfo
) -> tuple[Report, ValidatedExtraction | None]:
    """Read and validate the extraction (no writes)."""
    return validate_path(path, limits, info)


@task(name="integrer-extraction", **IO_RETRIES)
def store_task(
    info: DeliveryInfo,
    report: Report,
    validated: ValidatedExtraction | None,
    engine: Any,
    output_dir: Path,
    threshold: float,
    allow_mass_withdrawal: bool,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Archive the delivery and merge it into the store in one transaction."""
    return store_delivery(
        info,
        report,
        validated,
        engine=engine,
        output_dir=output_dir,
        threshold=threshold,
        allow_mass_withdrawal=allow_mass_withdrawal,
        now=now,
    )


@flow(name="ingest-extraction-region", log_prints=False)
def ingest_extraction(path: str, allow_mass_withdrawal: bool = False) -> dict[str, Any]:
    """Ingest one extraction of the Région into the store.

    Args:
        path: the workbook or CSV folder.
        allow_mass_withdrawal: go through even above the withdrawal threshold.

    Returns:
        The ingest result as a JSON-ready document, with its ``exit_code``.
    """
    settings = get_settings()
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.store_url)
    upgrade_store(engine)
    limits = limits_of(settings)
    results: list[IngestResult] = []

    def steps(
        file: Path, engine: Any, settings: Any, allow: bool, now: dt.datetime
    ) -> dict[str, Any]:
        prepared = prepare_task(file, engine, limits)
        if isinstance(prepared, IngestResult):
            result = prepared
        else:
            report, validated = validate_task(file, limits, prepared)
            result = store_task(
                prepared, report, validated, engine, settings.output_dir,
                settings.mass_withdrawal_threshold, allow, now,
            )  # fmt: skip
        results.append(result)
        return result.as_dict() | {"exit_code": result.exit_code}

    try:
        (document,), _ = ingest_files(
            engine, settings, [Path(path)], allow_mass_withdrawal=allow_mass_withdrawal,
            ingest=steps,
        )  # fmt: skip
    finally:
        engine.dispose()
    _publish_summary(results[0])
    return document


@task(name="integrer-livraison", **IO_RETRIES)
def ingest_one_task(
    path: Path, engine: Any, allow_mass_withdrawal: bool, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Ingest one delivery (extraction or entries), in its own transaction."""
    return ingest_one(path, engine, get_settings(), allow_mass_withdrawal, now)


@flow(name="ingest-livraisons", log_prints=False)
def ingest_deliveries(
    paths: list[str], allow_mass_withdrawal: bool = False
) -> list[dict[str, Any]]:
    """Ingest deliveries in the given order (extractions first, then entries).

    A refused file is reported and the next ones go on.

    Returns:
        One JSON-ready document per file, each with its ``exit_code``.
    """
    settings = get_settings()
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.store_url)
    try:
        upgrade_store(engine)
        documents, _ = ingest_files(
            engine, settings, [Path(p) for p in paths],
            allow_mass_withdrawal=allow_mass_withdrawal, ingest=_ingest_retried,
        )  # fmt: skip
    finally:
        engine.dispose()
    create_table_artifact(
        key="livraisons",
        table=[
            {"fichier": d["file"], "statut": d["status"], "rejets": len(d["errors"]),
             "etats": str((d.get("load") or {}).get("etats", ""))}
            for d in documents
        ],
    )  # fmt: skip
    return documents


@flow(name="nightly", log_prints=False)
def nightly(inbox: str | None = None, force: bool = False) -> dict[str, Any]:
    """The nightly run: new files of the inbox ingested in order, then a release published.

    Returns:
        The run's summary (JSON-ready), with its ``exit_code``.
    """
    settings = get_settings()
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.store_url)
    try:
        upgrade_store(engine)
        result = run_nightly(
            engine,
            settings,
            inbox=Path(inbox) if inbox else settings.inbox_path,
            now=dt.datetime.now(dt.UTC),
            force=force,
            ingest=_ingest_retried,
        )
    finally:
        engine.dispose()
    document = result.as_dict()
    create_table_artifact(
        key="nightly",
        table=[
            {
                "etat": document.get("state"),
                **{k: v for k, v in (document.get("counts") or {}).items()},
            }
        ],
    )
    document["exit_code"] = result.exit_code
    return document


def _ingest_retried(
    path: Path, engine: Any, settings: Any, allow_mass_withdrawal: bool, now: dt.datetime
) -> dict[str, Any]:
    """One delivery, as a task retried on I/O errors (never on validation)."""
    return ingest_one_task(path, engine, allow_mass_withdrawal, now)


@task(name="backfill-annee", **IO_RETRIES)
def backfill_year_task(year: int, paths: list[str], allow_mass_withdrawal: bool) -> dict[str, Any]:
    """One year of a backfill, its deliveries in order (runs on a Dask worker)."""
    return backfill_year(
        year, paths, settings=get_settings(), allow_mass_withdrawal=allow_mass_withdrawal
    )


@flow(name="backfill", log_prints=False)
def backfill(
    source: str, first: int, last: int, allow_mass_withdrawal: bool = False
) -> dict[str, Any]:
    """Reload whole years from a folder of deliveries, one task per year, years in parallel.

    Call it with a Dask task runner (:func:`dask_runner`); years run as far as its workers go.

    Returns:
        The backfill's summary (JSON-ready), with its ``exit_code``.
    """
    settings = get_settings()
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    plan = plan_backfill(Path(source), first, last)
    engine = make_engine(settings.store_url)

    def map_years(years: Sequence[YearPlan]) -> list[dict[str, Any]]:
        futures = backfill_year_task.map(
            [y.year for y in years], [list(y.paths) for y in years],
            unmapped(allow_mass_withdrawal),
        )  # fmt: skip
        results = []
        for year, future in zip(years, futures, strict=True):
            future.wait()
            if future.state.is_completed():
                results.append(future.result())
            else:
                results.append(failed_year(year.year, future.state.message or "échec"))
        return results

    try:
        upgrade_store(engine)
        result = run_backfill(engine, plan, map_years=map_years, now=dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()
    create_table_artifact(
        key="backfill",
        table=[
            {"annee": y["year"], "etat": y.get("state", "ok"), "fichiers": len(y["files"]),
             "secondes": y.get("seconds")}
            for y in result.years
        ],
    )  # fmt: skip
    document = result.as_dict()
    return document


def dask_runner(workers: int, address: str | None = None) -> Any:
    """The backfill's task runner: an existing Dask cluster by address, else a local one.

    A local cluster has ``workers`` processes of one thread each (the years are CPU-bound).
    """
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                        "dashboard_address": None}
    )  # fmt: skip


def _publish_summary(result: IngestResult) -> None:
    """Publish the counts per sheet and per reason as Prefect artifacts (no personal data)."""
    rows = [
        {"feuille": sheet, "acceptees": c["accepted"], "rejetees": c["rejected"]}
        for sheet, c in result.report.counts.items()
    ]
    rows.append({"feuille": "statut", "acceptees": result.status, "rejetees": ""})
    create_table_artifact(key="extraction-region-comptes", table=rows)
    reasons: dict[tuple[str, str], int] = {}
    for error in result.report.errors:
        reasons[(error.sheet, error.reason)] = reasons.get((error.sheet, error.reason), 0) + 1
    if reasons:
        create_table_artifact(
            key="extraction-region-rejets",
            table=[
                {"feuille": s, "motif": r, "lignes": n} for (s, r), n in sorted(reasons.items())
            ],
        )


def nightly_schedule(cron: str, timezone: str) -> Any:
    """The nightly's cron schedule in the given timezone (``ValueError`` if the cron is invalid).

    Without a timezone Prefect reads the cron in UTC: always pass one (e.g. Europe/Paris).
    """
    from prefect.schedules import Cron

    return Cron(cron, timezone=timezone)


def serve_nightly(cron: str, timezone: str) -> None:
    """Serve the nightly on its schedule until interrupted (deployment ``nightly/nightly-serve``).

    Needs a running Prefect server (``PREFECT_API_URL``): in ephemeral mode Prefect registers the
    deployment but never creates the scheduled runs. A second run while one is active is
    cancelled (``CANCEL_NEW``). On exit (Ctrl-C, SIGTERM) Prefect pauses the deployment; serving
    again un-pauses it.
    """
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    nightly.serve(
        name="nightly-serve",
        schedule=nightly_schedule(cron, timezone),
        global_limit=ConcurrencyLimitConfig(
            limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
        ),
    )


def api_problem() -> str | None:
    """Why Prefect's API cannot schedule runs, in French, or ``None`` when a server answers.

    ``PREFECT_API_URL`` unset (ephemeral mode: a temporary server that schedules nothing), or
    set but the server does not answer ``/health``.
    """
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        return (
            "PREFECT_API_URL n'est pas défini : en mode éphémère, Prefect n'exécute jamais les "
            "lancements planifiés. Démarrez un serveur (« prefect server start --host 127.0.0.1 "
            "--port 4200 » ou « make prefect-server »), puis exportez "
            "PREFECT_API_URL=http://127.0.0.1:4200/api avant « catalogue serve »."
        )
    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        return (
            f"le serveur Prefect ne répond pas à {url} ({error}). Démarrez-le (« prefect server "
            "start » ou « make prefect-server ») ou corrigez PREFECT_API_URL."
        )
    return None
