"""Replay: a past run rebuilt from the archive gives its release back, byte for byte."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from pipelines.extract.source import sha256_file
from pipelines.journal import Selection, approve, ingest_files, publish_release
from pipelines.load.db import make_engine, open_session, upgrade_store
from pipelines.load.runs import list_runs
from pipelines.nightly import run_nightly
from pipelines.replay import ReplayError, materialise, replay, safe_name
from pipelines.settings import Settings
from tests.test_nightly import SAISIES

FIRST = dt.datetime(2025, 3, 2, 1, 0, tzinfo=dt.UTC)
SECOND = dt.datetime(2025, 3, 9, 1, 0, tzinfo=dt.UTC)


def settings_for(folder: Path, url: str | None = None) -> Settings:
    return Settings(_env_file=None, output_dir=folder, database_url=url)  # type: ignore[call-arg]


@pytest.fixture
def new_store(db_url: str, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """Makes new, empty stores on the same kind of database as ``db_url``.

    On PostgreSQL each is a new database: a store starts its sequences at 1, as in production
    (the session's shared test database does not reset them between tests).
    """
    made: list[tuple[Engine, str | None]] = []
    admin = None
    if db_url.startswith("postgresql"):
        admin = create_engine(make_url(db_url), poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def make() -> Engine:
        if admin is None:
            engine = make_engine(f"sqlite:///{tmp_path / uuid.uuid4().hex}.db")
            made.append((engine, None))
        else:
            name = f"replay_{uuid.uuid4().hex[:12]}"
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            engine = make_engine(make_url(db_url).set(database=name), poolclass=NullPool)
            made.append((engine, name))
        upgrade_store(engine)
        return engine

    yield make
    for engine, name in made:
        engine.dispose()
        if admin is not None and name:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if admin is not None:
        admin.dispose()


@pytest.fixture
def engine(new_store: Callable[[], Engine]) -> Engine:
    """The store whose history is replayed (a new database: see ``new_store``)."""
    return new_store()


@pytest.fixture
def empty_store(new_store: Callable[[], Engine]) -> Engine:
    """Where the replay rebuilds it."""
    return new_store()


@pytest.fixture
def history(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> tuple[Settings, list[str]]:
    """Two nightlies with an approval between them, a manual ingest and a publication."""
    settings = settings_for(tmp_path / "out")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(sample("prf_2025_20250115.xlsx"), inbox / "prf_2025_20250115.xlsx")
    for name in SAISIES:
        shutil.copy(sample(f"saisies/{name}"), inbox / name)
    (inbox / "prf_2025_20250120.xlsx").write_bytes(b"not a workbook")
    first = run_nightly(engine, settings, inbox=inbox, now=FIRST)
    validated, _ = approve(engine, Selection(all_valid=True), refuse=False, reason=None,
                           who="tests", now=FIRST + dt.timedelta(hours=8))  # fmt: skip
    refused, _ = approve(engine, Selection(siret="55477415800014"), refuse=True,
                         reason="incomplet", who="tests", now=FIRST + dt.timedelta(hours=9))  # fmt: skip
    assert len(validated) > len(refused) > 0
    shutil.copy(sample("prf_2025_20250301.xlsx"), inbox / "prf_2025_20250301.xlsx")
    second = run_nightly(engine, settings, inbox=inbox, now=SECOND)
    ingest_files(engine, settings, [sample("saisies/lheo/saisie_80251693000137_20250301.xml")])
    third = publish_release(engine, output_dir=settings.output_dir, keep=5)
    assert (first.state, second.state) == ("partial", "succeeded")
    return settings, [str(first.run_id), str(second.run_id), third.run_id]


def test_every_run_that_changes_the_store_is_in_the_journal(
    engine: Engine, history: tuple[Settings, list[str]]
) -> None:
    with open_session(engine) as db:
        runs = list_runs(db)
    assert [r["kind"] for r in reversed(runs)] == [
        "nightly", "approve", "approve", "nightly", "ingest", "publish"
    ]  # fmt: skip
    nightly = runs[-1]
    assert nightly["params"].pop("fingerprint") and nightly["params"] == {
        "auto_approve": False, "force": False, "keep": 5,
    }  # fmt: skip
    assert all(i["at"] for i in nightly["inputs"]) and len(nightly["release_sha256"]) == 64
    decision = runs[-3]
    assert decision["params"] == {
        "selection": {"all_valid": False, "lot": None, "siret": "55477415800014", "fas": None},
        "refuse": True, "reason": "incomplet", "who": "tests",
    }  # fmt: skip
    assert runs[0]["release"] and len(runs[0]["params"].pop("fingerprint")) == 64
    assert runs[0]["params"] == {"lheo_version": "2.3", "keep": 5}


@pytest.mark.postgres
@pytest.mark.parametrize("which", [0, 1, 2], ids=["nightly-1", "nightly-2", "publication"])
def test_a_replay_gives_the_original_release_byte_for_byte(
    engine: Engine,
    empty_store: Engine,
    history: tuple[Settings, list[str]],
    tmp_path: Path,
    which: int,
) -> None:
    settings, run_ids = history
    original = settings.output_dir / "releases"
    target = settings_for(tmp_path / "replay")

    result = replay(
        engine, run_ids[which], archive_dir=settings.archive_dir, into=empty_store,
        settings=target, original_releases=original,
    )  # fmt: skip

    assert result.differences == [] and result.identical and result.exit_code == 0
    with open_session(engine) as db:
        recorded = {r["id"]: r for r in list_runs(db)}[run_ids[which]]
    assert result.release.name == recorded["release"]
    manifest = json.loads((result.release / "manifest.json").read_text())
    assert manifest["run_id"] == run_ids[which]
    for entry in manifest["files"]:  # checked here too, not only by the replay itself
        assert sha256_file(original / recorded["release"] / entry["path"]) == entry["sha256"]
        assert sha256_file(result.release / entry["path"]) == entry["sha256"]
    assert sha256_file(result.release / "manifest.json") == recorded["release_sha256"]


def test_a_replay_refuses_what_it_cannot_do(
    engine: Engine, history: tuple[Settings, list[str]], tmp_path: Path
) -> None:
    settings, run_ids = history
    with open_session(engine) as db:
        approval = next(r["id"] for r in list_runs(db) if r["kind"] == "approve")

    def attempt(run_id: str, into: Engine) -> None:
        replay(engine, run_id, archive_dir=settings.archive_dir, into=into,
               settings=settings_for(tmp_path / uuid.uuid4().hex))  # fmt: skip

    with pytest.raises(ReplayError, match="inconnue"):
        attempt("0" * 32, engine)
    with pytest.raises(ReplayError, match="aucune version"):
        attempt(approval, engine)
    with pytest.raises(ReplayError, match="pas vide"):
        attempt(run_ids[0], engine)
    # an archive that lost a delivery, or whose content changed
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade_store(fresh)
    (folder,) = [p.parent for p in settings.archive_dir.glob("*/*/manifest.json")
                 if json.loads(p.read_text())["file_name"] == "prf_2025_20250115.xlsx"]  # fmt: skip
    (folder / "delivery.xlsx").write_bytes(b"altered")
    with pytest.raises(ReplayError, match="altérée"):
        attempt(run_ids[0], fresh)
    shutil.rmtree(folder)
    with pytest.raises(ReplayError, match="absente de l'archive"):
        materialise(settings.archive_dir, folder.name, tmp_path)
    fresh.dispose()


def test_archived_names_are_never_paths() -> None:
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("/abs/prf_2025_20250115.xlsx") == "_abs_prf_2025_20250115.xlsx"
    assert safe_name("saisie\x00\n.xlsx") == "saisie__.xlsx"
    assert safe_name("..") == "livraison" and len(safe_name("a" * 5000)) == 200
