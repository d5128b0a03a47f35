"""Alembic environment of the store.

Programmatic use (``pipelines.load.db.upgrade_store``) hands over a connection in
``config.attributes["connection"]``, already in its transaction: the migrations then run in it.
From the command line (``alembic upgrade head`` at the repository root) the URL comes from
``-x url=...``, else ``sqlalchemy.url`` of ``alembic.ini``, else the settings
(``CATALOGUE_DATABASE_URL`` / ``CATALOGUE_OUTPUT_DIR``).
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from schemas.store import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by rebuilding them
        compare_type=True,
    )


def _cli_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if url:
        return url
    from pipelines.settings import Settings  # a command-line entry point, like __main__

    return Settings().store_url


def run_migrations_offline() -> None:
    """Write the SQL instead of running it (``alembic upgrade head --sql``)."""
    context.configure(
        url=_cli_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on the configured database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from pipelines.load.db import for_writing, make_engine

    engine = make_engine(_cli_url())
    try:
        with for_writing(engine).begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
