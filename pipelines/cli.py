"""The ``catalogue`` command line (also ``python -m pipelines``): the application and what
its commands share. The commands live in ``cli_deliveries`` (validate, ingest, show, status)
and ``cli_offer`` (approve, template, publish).

Exit codes: 0 all is well; 1 rows were rejected (the rest went through); 2 the delivery was
refused as a whole, or stopped by the mass-withdrawal guard (or a publication refused), or the
store or the disk failed (:func:`run`: a French message, never a traceback).
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

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
logger = logging.getLogger(__name__)


def run() -> None:
    """The ``catalogue`` entry point: :data:`app`, with a failure of the store or of the disk
    told in French (exit 2) instead of a traceback. Each delivery and each publication is all
    or nothing, so what the message says about the state holds."""
    try:
        app()
    except SQLAlchemyError as error:
        logger.debug("store error", exc_info=True)
        console.err.print(console.safe(store_failure(error)))
        sys.exit(2)
    except OSError as error:
        logger.debug("disk error", exc_info=True)
        console.err.print(console.safe(disk_failure(error)))
        sys.exit(2)


def store_failure(error: SQLAlchemyError) -> str:
    """What to tell when the store failed (unreachable, connection dropped, locked)."""
    cause = getattr(error, "orig", None) or error  # the driver's exception, when there is one
    if isinstance(error, OperationalError) and "database is locked" in str(cause):
        return (
            "Le store est occupé par une autre commande (base SQLite verrouillée) : "
            "relancez quand elle aura fini. La livraison ou la publication en cours n'a rien écrit."
        )
    return (
        f"Le store a échoué ({type(cause).__name__}) : base injoignable ou "
        "connexion coupée. La livraison ou la publication en cours n'a rien écrit ; celles "
        "déjà annoncées comme intégrées le restent. Relancez la commande."
    )


def disk_failure(error: OSError) -> str:
    """What to tell when a file could not be read or written (disk full, file size limit)."""
    full = error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
    what = "disque plein" if full else (error.strerror or type(error).__name__)
    return (
        f"Écriture ou lecture impossible ({what}) : l'opération en cours est abandonnée, "
        "le store et la publication courante sont inchangés. Relancez-la une fois le problème "
        "réglé."
    )


@app.callback()
def main(
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Afficher les journaux (INFO)."),
) -> None:
    """Catalogue de l'offre de formation Pays de la Loire."""
    console.setup_logging(verbose, get_settings().log_level)


def limits(settings: Settings) -> Any:
    from pipelines.ingest import limits_of

    return limits_of(settings)


@contextmanager
def store(settings: Settings) -> Iterator[Engine]:
    """The store's engine, migrated to the latest schema, disposed on exit."""
    from pipelines.load.db import make_engine, upgrade_store

    settings.output_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.store_url)
    try:
        upgrade_store(engine)
        yield engine
    finally:
        engine.dispose()


def import_flows(settings: Settings) -> Any:
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


# the commands register themselves on ``app`` (imported last: they import from this module)
from pipelines import cli_deliveries, cli_offer, cli_ops  # noqa: E402, F401
