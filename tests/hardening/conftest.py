"""Shared stores of the fault-injection tests: built once per backend, cloned per test.

A *base* is a store and its output folder (archive, quarantine, releases, ``current``) in a
known state; :func:`clones` copies it for one test: the folder with ``shutil.copytree`` (the
``current`` link kept as a link), the database as a file (SQLite, inside the folder) or as a
new PostgreSQL database made from the base's (``CREATE DATABASE … TEMPLATE``), so that ids and
sequences are those of the base, as in production.

Bases:

- ``empty``: no schema at all (a new installation);
- ``frame``: the sample extraction ``prf_2025_20250115.xlsx`` ingested, a first release;
- ``published``: ``frame`` plus every sample entry, ``approve --all-valid`` and a second
  release (46 validated actions);
- ``rev0002``: ``frame`` migrated back to revision 0002 (its data kept).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.conftest import POSTGRES_URL_ENV, _no_postgres

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
EXTRACTION = SAMPLES / "prf_2025_20250115.xlsx"
ENTRIES = sorted((SAMPLES / "saisies").glob("saisie_*.xlsx")) + sorted(
    (SAMPLES / "saisies" / "lheo").glob("saisie_*.xml")
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

RELEASED = dt.datetime(2025, 3, 1, 5, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Store:
    """A store and its output folder: what the command line gets in its environment."""

    backend: str
    url: str
    output: Path

    @property
    def env(self) -> dict[str, str]:
        """``CATALOGUE_*`` for a subprocess running on this store."""
        return {
            "CATALOGUE_DATABASE_URL": self.url,
            "CATALOGUE_OUTPUT_DIR": str(self.output),
            "CATALOGUE_INBOX_DIR": str(self.output / "inbox"),
            "CATALOGUE_RELEASES_KEEP": "5",
        }


class Postgres:
    """Creates and drops PostgreSQL databases on the test server."""

    def __init__(self, base: URL) -> None:
        self.base = base
        self.admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.made: list[str] = []

    def create(self, template: str | None = None) -> URL:
        """A new database (a copy of ``template`` if given)."""
        name = f"faults_{uuid.uuid4().hex[:12]}"
        suffix = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"{suffix}')
        self.made.append(name)
        return self.base.set(database=name)

    def drop(self, name: str) -> None:
        """Drop a database (its connections closed)."""
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Drop every database made."""
        for name in self.made:
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """The test PostgreSQL server (skipped, or failed under CATALOGUE_REQUIRE_POSTGRES=1)."""
    from pipelines.load.db import normalise_url

    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        _no_postgres(f"{POSTGRES_URL_ENV} is not set: PostgreSQL tests skipped")
    server = Postgres(normalise_url(base or ""))
    try:
        with server.admin.connect():
            pass
    except OperationalError as exc:
        server.admin.dispose()
        _no_postgres(f"PostgreSQL unreachable: {exc.orig}")
    try:
        yield server
    finally:
        server.close()


def _build(name: str, url: str, output: Path) -> None:
    """Bring a new store to the base ``name`` with the plain functions of the pipeline."""
    from alembic import command

    from pipelines.journal import Selection, approve, ingest_files, publish_release
    from pipelines.load.db import alembic_config, for_writing, make_engine, upgrade_store
    from pipelines.settings import Settings

    output.mkdir(parents=True, exist_ok=True)
    if name == "empty":
        return
    settings = Settings(output_dir=output, database_url=url)
    engine = make_engine(url, poolclass=NullPool)
    try:
        upgrade_store(engine)
        ingest_files(engine, settings, [EXTRACTION])
        # released on an earlier day: a nightly run by a test always has a release to publish
        # (the same day, with nothing new, it would keep the current one)
        publish_release(engine, output_dir=output, keep=5, now=RELEASED)
        if name == "published":
            ingest_files(engine, settings, ENTRIES)
            approve(engine, Selection(all_valid=True), refuse=False, reason=None,
                    who="offre@carif-oref", now=dt.datetime.now(dt.UTC))  # fmt: skip
            publish_release(engine, output_dir=output, keep=5, now=RELEASED + dt.timedelta(hours=1))
        elif name == "rev0002":
            with for_writing(engine).begin() as connection:
                command.downgrade(alembic_config(connection), "0002")
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def bases(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Callable[[str, str], Store]:
    """``bases(backend, name)``: the base, built on first use and kept for the session."""
    built: dict[tuple[str, str], Store] = {}

    def get(backend: str, name: str) -> Store:
        if (backend, name) not in built:
            output = tmp_path_factory.mktemp(f"base-{backend}-{name}") / "out"
            if backend == "sqlite":
                url = f"sqlite:///{output / 'catalogue.db'}"
            else:
                server: Postgres = request.getfixturevalue("postgres_server")
                url = server.create().render_as_string(hide_password=False)
            _build(name, url, output)
            built[(backend, name)] = Store(backend, url, output)
        return built[(backend, name)]

    return get


@pytest.fixture
def clones(
    bases: Callable[[str, str], Store], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str, str], Store]]:
    """``clones(backend, name)``: a private copy of a base for this test (dropped after)."""
    made: list[str] = []
    server: Postgres | None = None

    def clone(backend: str, name: str) -> Store:
        nonlocal server
        base = bases(backend, name)
        output = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}" / "out"
        shutil.copytree(base.output, output, symlinks=True)
        if backend == "sqlite":
            url = f"sqlite:///{output / 'catalogue.db'}"
        else:
            server = request.getfixturevalue("postgres_server")
            created = server.create(template=base.url.rsplit("/", 1)[1])
            made.append(created.database or "")
            url = created.render_as_string(hide_password=False)
        return Store(backend, url, output)

    yield clone
    if server is not None:
        for name in made:
            server.drop(name)
