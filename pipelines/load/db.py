"""The store's database: engine, schema migrations (Alembic) and sessions.

SQLite is made fully transactional with SQLAlchemy's recipe for pysqlite: the driver's own
transaction handling is switched off (``isolation_level = None``) and SQLAlchemy emits ``BEGIN``
itself. A load is then one transaction from its first read to its commit, DDL included, and a
process killed in the middle leaves the file as it was. Write sessions start with
``BEGIN IMMEDIATE``, so two writers queue up (``busy_timeout``) instead of failing when one
upgrades its read lock.

Usage::

    engine = make_engine(url)
    upgrade_store(engine)
    with open_session(engine, write=True) as db, db.begin():
        load_extraction(db, validated, ...)
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, orm
from sqlalchemy.engine import URL, make_url

import migrations

logger = logging.getLogger(__name__)

#: Where Alembic's ``env.py`` and ``versions/`` are (inside the installed package).
MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent
SQLITE_BUSY_TIMEOUT_S = 30
#: Execution option asking SQLite for ``BEGIN IMMEDIATE`` (the write lock from the start).
_SQLITE_BEGIN = "catalogue_sqlite_begin"


def normalise_url(url: str | URL) -> URL:
    """Return the URL with PostgreSQL's driver set to psycopg 3.

    Args:
        url: a SQLAlchemy URL; ``postgresql://`` and ``postgres://`` become
            ``postgresql+psycopg://``.

    Returns:
        The URL to give to SQLAlchemy.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(
    url: str | URL, *, busy_timeout_s: int = SQLITE_BUSY_TIMEOUT_S, **kwargs: Any
) -> Engine:
    """Create the engine of the store.

    SQLite: creates the folder of the file, turns on foreign keys, WAL and a busy timeout (a
    writer waits that long for another one to commit), and makes transactions real (see the
    module's docstring). PostgreSQL: psycopg 3.

    Args:
        url: the store's SQLAlchemy URL.
        busy_timeout_s: SQLite only: how long a writer waits for the database (default 30 s;
            a backfill, whose years write in turn, waits longer).
        **kwargs: passed to :func:`sqlalchemy.create_engine`.

    Returns:
        The engine.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, **kwargs)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", functools.partial(_sqlite_on_connect, int(busy_timeout_s)))
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(busy_timeout_s: int, dbapi_connection: Any, connection_record: Any) -> None:
    # pysqlite would BEGIN only before DML and COMMIT before DDL: take transactions over.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_s * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(_SQLITE_BEGIN) == "IMMEDIATE"
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def for_writing(engine: Engine) -> Engine:
    """Return the engine whose transactions take SQLite's write lock at ``BEGIN``.

    Same pool and events as ``engine``; no effect on PostgreSQL.
    """
    return engine.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})


def open_session(engine: Engine, *, write: bool = False) -> orm.Session:
    """Open a session on the store (the caller owns the transaction: ``with db.begin():``).

    Args:
        engine: from :func:`make_engine`.
        write: the session will write: on SQLite its transactions begin ``IMMEDIATE``, so
            concurrent loads wait for each other instead of failing half-way.

    Returns:
        A new session, usable as a context manager.
    """
    bind = for_writing(engine) if write else engine
    return orm.Session(bind=bind, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    """Build Alembic's configuration from the package (no ``alembic.ini`` needed).

    Args:
        connection: the connection ``env.py`` must run on (in its transaction).

    Returns:
        The configuration.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _at_head(engine: Engine) -> bool:
    """Whether the store's schema is already at the latest revision (read without locking)."""
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == set(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade_store(target: Engine | str | URL, revision: str = "head") -> None:
    """Bring the store's schema to ``revision`` (``alembic upgrade head``), in one transaction.

    Idempotent: a store already there is left untouched. On PostgreSQL an advisory lock keeps
    two processes from migrating at the same time; on SQLite ``BEGIN IMMEDIATE`` does.

    Args:
        target: an engine from :func:`make_engine`, or a URL.
        revision: the revision to reach.
    """
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        if revision == "head" and _at_head(engine):
            return  # nothing to do: no write lock (on SQLite it would wait for any writer)
        with for_writing(engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(8031920250)")
            command.upgrade(alembic_config(connection), revision)
    finally:
        if engine is not target:
            engine.dispose()
    logger.info("store schema at %s", revision)
