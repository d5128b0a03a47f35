"""Shared fixtures of the test suite.

Sections: the store's databases (below). Add other shared fixtures in their own section.
"""

from __future__ import annotations

import os
import tempfile
import uuid

# Before anything imports Prefect: a throw-away home, no telemetry, quiet server.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, orm
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from pipelines.load.db import (
    alembic_config,
    make_engine,
    normalise_url,
    open_session,
    upgrade_store,
)
from schemas.store import Base

# --------------------------------------------------------------------------- store databases
#
# ``db_url`` runs a test on SQLite (a file in tmp_path) and on PostgreSQL. PostgreSQL needs
# CATALOGUE_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test): one
# throwaway database is created for the session from it and dropped at the end; each test
# gets it with no rows (see ``db_url``). Without the variable those tests are skipped, unless
# CATALOGUE_REQUIRE_POSTGRES=1 (CI), where a missing or unreachable server fails them.

POSTGRES_URL_ENV = "CATALOGUE_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "CATALOGUE_REQUIRE_POSTGRES"


def _no_postgres(reason: str) -> None:
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_POSTGRES_ENV}=1: PostgreSQL is required)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """A throwaway PostgreSQL database for the whole session (dropped at the end)."""
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        _no_postgres(f"{POSTGRES_URL_ENV} is not set: PostgreSQL tests skipped")
    url = normalise_url(base or "")
    name = f"catalogue_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        admin.dispose()
        _no_postgres(f"PostgreSQL unreachable at {url.render_as_string()}: {exc.orig}")
    try:
        yield url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _clean_store(url: URL) -> None:
    """Empty the session's PostgreSQL store: delete every row if its schema is at the latest
    revision (fast), else drop the whole schema."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            version = None
            if connection.exec_driver_sql("SELECT to_regclass('alembic_version')").scalar():
                version = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                version = version.scalar()
            if version == head:
                for table in reversed(Base.metadata.sorted_tables):
                    connection.execute(table.delete())
            else:
                connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of a store with no rows, on SQLite then on PostgreSQL.

    SQLite: a new file, no schema yet. PostgreSQL: the session's database, either with no
    schema or already at the latest revision (emptied of its rows; ids are not reset, so tests
    must not expect particular ids). Run ``upgrade_store`` (or use ``engine``) before loading.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'catalogue.db'}"
    url: URL = request.getfixturevalue("postgres_database")
    _clean_store(url)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the ``db_url`` store, migrated to the latest schema (disposed after)."""
    store = make_engine(db_url)
    upgrade_store(store)
    try:
        yield store
    finally:
        store.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[orm.Session]:
    """A session on the migrated store; tests open transactions (``with db.begin():``)."""
    with open_session(engine, write=True) as session:
        yield session


# --------------------------------------------------------------------------- samples

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture
def sample() -> Callable[[str], Path]:
    """Return the path of a file of ``data/samples/`` (checked to exist)."""

    def find(name: str) -> Path:
        path = SAMPLES / name
        assert path.exists(), f"missing sample {path}"
        return path

    return find


# --------------------------------------------------------------------------- Prefect


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server and database, started once, only when a test asks for it."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


# --------------------------------------------------------------------------- a published offer


@pytest.fixture
def published(engine: Engine, tmp_path: Path, sample: Callable[[str], Path]) -> Engine:
    """The store after the sample extraction, every sample entry, and ``approve --all-valid``.

    About 46 validated actions (PSS, PE, PAS, PCA, 1E1F) with their sessions, informations
    collectives and référents; 19 actions stay « en cours de saisie » (not publishable).
    """
    import datetime as dt

    from pipelines.ingest import Limits, ingest_path
    from pipelines.ingest_entries import ingest_entry_path
    from pipelines.load.workflow import decide, select_actions
    from schemas.rules import load_rulebook

    limits, now = Limits(200 * 2**20, 2**30), dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)
    out = tmp_path / "ingest-out"
    ingest_path(sample("prf_2025_20250115.xlsx"), engine=engine, output_dir=out, limits=limits,
                threshold=0.2, now=now)  # fmt: skip
    rulebook = load_rulebook()
    entries = sorted(sample("saisies").glob("saisie_*.xlsx")) + sorted(
        sample("saisies/lheo").glob("saisie_*.xml")
    )
    for path in entries:
        ingest_entry_path(path, engine=engine, output_dir=out, limits=limits, rulebook=rulebook,
                          threshold=0.2, now=now)  # fmt: skip
    with open_session(engine, write=True) as db, db.begin():
        decide(db, select_actions(db, all_valid=True), refuse=False, reason=None, now=now,
               who="offre@carif-oref")  # fmt: skip
    return engine
