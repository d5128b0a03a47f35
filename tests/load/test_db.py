"""The store's engine and migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError

from pipelines.load.db import (
    MIGRATIONS_DIR,
    alembic_config,
    make_engine,
    normalise_url,
    open_session,
    upgrade_store,
)
from schemas.store import Base


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@h:5433/db",
        "postgres://u:p@h:5433/db",
        "postgresql+psycopg://u:p@h:5433/db",
    ],
)
def test_postgresql_urls_use_psycopg_3(url: str) -> None:
    parsed = normalise_url(url)
    assert parsed.drivername == "postgresql+psycopg"
    assert (parsed.username, parsed.host, parsed.port, parsed.database) == ("u", "h", 5433, "db")


def test_sqlite_engine_creates_its_folder_and_sets_its_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'catalogue.db'}")
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "journal_mode", "busy_timeout")
            }
        assert pragma == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 30000}
        assert (tmp_path / "a" / "b" / "catalogue.db").is_file()
    finally:
        engine.dispose()


def test_a_write_session_takes_the_sqlite_write_lock_at_begin(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    try:
        with open_session(engine, write=True) as db, db.begin():
            db.execute(text("SELECT 1"))  # a read only, yet the write lock is held
            with engine.connect() as other:
                other.exec_driver_sql("PRAGMA busy_timeout = 100")
                with pytest.raises(OperationalError, match="database is locked"):
                    other.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_reaches_head(db_url: str) -> None:
    upgrade_store(db_url)
    upgrade_store(db_url)  # nothing to do the second time
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert version == [(head,)]
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_need_no_ini_file_nor_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert {"env.py", "script.py.mako"} <= {p.name for p in MIGRATIONS_DIR.iterdir()}
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    upgrade_store("sqlite:///relative/catalogue.db")
    assert (tmp_path / "relative" / "catalogue.db").is_file()
    assert not list(tmp_path.glob("*.ini"))
