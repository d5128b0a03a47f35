"""The nightly: inbox → ingest in order → (approve) → publish → run recorded, on both stores."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select

from pipelines.errors import ExportError
from pipelines.journal import publish_release
from pipelines.load import release
from pipelines.load.db import open_session
from pipelines.load.runs import list_runs
from pipelines.load.workflow import decide, select_actions
from pipelines.nightly import LOCK_NAME, is_late, run_nightly
from pipelines.runlock import run_lock
from pipelines.settings import Settings
from schemas.store import ActionTransition, Base
from tests.test_notify import receiver, writer_command
from tests.test_runlock import killed_holder

NOW = dt.datetime(2025, 3, 2, 1, 0, tzinfo=dt.UTC)  # 02:00 in Paris
STAMP = "20250302T020000"
SAISIES = [
    "saisie_55477415800014_20250301.xlsx",
    "saisie_65375688200037_20250301.xlsx",
    "saisie_65494103800048_20250301.xlsx",
    "saisie_96274521200010_20250301.xlsx",
]


def settings_for(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, output_dir=tmp_path / "out", **values)  # type: ignore[call-arg]


def store_dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but ``runs``, in primary-key order."""
    with open_session(engine) as db:
        return {
            t.name: [tuple(r) for r in db.execute(select(t).order_by(*t.primary_key.columns))]
            for t in Base.metadata.sorted_tables
            if t.name != "runs"
        }


@pytest.fixture
def inbox(tmp_path: Path, sample: Callable[[str], Path]) -> Path:
    """The extraction, four entry workbooks, a broken workbook, a hidden file and a link."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in SAISIES:
        shutil.copy(sample(f"saisies/{name}"), folder / name)
    shutil.copy(sample("prf_2025_20250115.xlsx"), folder / "prf_2025_20250115.xlsx")
    (folder / "prf_2025_20250120.xlsx").write_bytes(b"not a workbook")
    (folder / ".prf_2025_20250125.xlsx.part").write_bytes(b"being copied")
    (folder / "lien.xlsx").symlink_to(sample("prf_2025_20250115.xlsx"))
    return folder


def test_a_nightly_ingests_in_order_moves_files_aside_and_publishes(
    engine: Engine, tmp_path: Path, inbox: Path
) -> None:
    settings = settings_for(tmp_path)
    result = run_nightly(engine, settings, inbox=inbox, now=NOW)

    assert (result.state, result.exit_code, result.message) == ("partial", 1, None)
    assert [(i["file"], i["status"], i["moved_to"]) for i in result.inputs] == [
        ("prf_2025_20250115.xlsx", "integree", f"traites/{STAMP}-1-prf_2025_20250115.xlsx"),
        ("prf_2025_20250120.xlsx", "refusee", f"refuses/{STAMP}-1-prf_2025_20250120.xlsx"),
    ] + [(n, "integree", f"traites/{STAMP}-1-{n}") for n in SAISIES]
    assert all(len(i["sha256"]) == 64 for i in result.inputs)
    assert result.counts == {
        "ingested": 5, "already_ingested": 0, "refused": 1, "stopped": 0, "ignored": 1,
        "rows_rejected": 6, "actions_approved": 0, "published": 1,
    }  # fmt: skip
    # the inbox keeps what it does not take
    assert sorted(p.name for p in inbox.iterdir()) == [
        ".prf_2025_20250125.xlsx.part", "lien.xlsx", "refuses", "traites"
    ]  # fmt: skip
    report = json.loads(
        (inbox / "refuses" / f"{STAMP}-1-prf_2025_20250120.xlsx.rapport.json").read_text()
    )
    assert (report["run_id"], report["status"], report["refusal"]["reason"]) == (
        result.run_id, "refusee", "fichier-illisible"
    )  # fmt: skip
    # released, under the run's id
    assert result.release is not None and result.release.endswith(result.run_id[:8])
    current = settings.output_dir / "current"
    assert current.resolve().name == result.release
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["run_id"] == result.run_id
    # recorded in the store and as an artefact
    with open_session(engine) as db:
        (run,) = list_runs(db)
    assert (run["id"], run["state"], run["release"]) == (result.run_id, "partial", result.release)
    assert run["inputs"] == result.inputs and run["counts"] == result.counts
    artefact = json.loads((settings.output_dir / "runs" / f"{result.run_id}.json").read_text())
    assert artefact == result.as_dict() and artefact["exit_code"] == 1


def test_a_second_nightly_on_the_same_files_changes_nothing(
    engine: Engine, tmp_path: Path, inbox: Path
) -> None:
    settings = settings_for(tmp_path)
    first = run_nightly(engine, settings, inbox=inbox, now=NOW)
    dump = store_dump(engine)
    for moved in (inbox / "traites").iterdir():  # the same files come again
        shutil.copy(moved, inbox / moved.name.split("-", 2)[2])
    second = run_nightly(engine, settings, inbox=inbox, now=NOW)

    assert (second.state, second.exit_code) == ("succeeded", 0)
    assert second.counts["already_ingested"] == 5 and second.counts["ingested"] == 0
    assert {i["status"] for i in second.inputs} == {"deja-integree"}
    assert {i["moved_to"].split("-", 2)[1] for i in second.inputs} == {"2"}  # never overwrites
    assert store_dump(engine) == dump
    # nothing new the same day: the current release stays, no other is built
    releases = settings.output_dir / "releases"
    assert first.release and second.release is None and second.counts["published"] == 0
    assert second.message == (
        f"Rien de nouveau depuis la publication {first.release} (mêmes livraisons, mêmes états, "
        "même jour) : elle reste la publication courante."
    )
    assert (settings.output_dir / "current").resolve() == releases / first.release
    assert sorted(p.name for p in releases.iterdir() if p.name != ".lock") == [first.release]
    # the next day the feeds are dated again: a new release, of the same offer
    third = run_nightly(engine, settings, inbox=inbox, now=NOW + dt.timedelta(days=1))
    assert third.state == "succeeded" and third.release and third.counts["published"] == 1
    assert (settings.output_dir / "current").resolve() == releases / third.release
    assert store_dump(engine) == dump
    old, new = (_files(releases / r) for r in (first.release, third.release))
    assert old.keys() == new.keys()


def test_a_change_of_state_the_same_day_is_published(
    engine: Engine, tmp_path: Path, inbox: Path
) -> None:
    """Nothing new in the inbox, but actions validated since the last release: publish."""
    settings = settings_for(tmp_path)
    first = run_nightly(engine, settings, inbox=inbox, now=NOW)
    with open_session(engine, write=True) as db, db.begin():
        done = decide(
            db, select_actions(db, all_valid=True), refuse=False, now=NOW, who="t", reason=None
        )
    assert done
    second = run_nightly(engine, settings, inbox=inbox, now=NOW + dt.timedelta(hours=1))
    assert second.release and second.release != first.release
    third = run_nightly(engine, settings, inbox=inbox, now=NOW + dt.timedelta(hours=2))
    assert third.release is None  # and then nothing new again


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_second_extraction_withdrawing_most_lots_is_stopped_and_set_aside(
    engine: Engine, tmp_path: Path, sample: Callable[[str], Path]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(sample("prf_2025_20250115.xlsx"), inbox)
    shutil.copy(sample("messy/prf_2025_20250210.xlsx"), inbox)
    result = run_nightly(engine, settings_for(tmp_path), inbox=inbox, now=NOW)
    assert [(i["file"], i["status"]) for i in result.inputs] == [
        ("prf_2025_20250115.xlsx", "integree"), ("prf_2025_20250210.xlsx", "arretee")
    ]  # fmt: skip
    assert (result.state, result.exit_code, result.counts["stopped"]) == ("partial", 1, 1)
    report = json.loads(
        (inbox / "refuses" / f"{STAMP}-1-prf_2025_20250210.xlsx.rapport.json").read_text()
    )
    assert report["refusal"]["reason"] == "retrait-massif"
    assert all("value" not in json.dumps(r) for r in report["rejects"])  # no cell values


def test_auto_approve_validates_the_waiting_actions(
    engine: Engine, tmp_path: Path, inbox: Path
) -> None:
    result = run_nightly(engine, settings_for(tmp_path, auto_approve=True), inbox=inbox, now=NOW)
    assert result.counts["actions_approved"] == 41  # the 4 entry workbooks (no LHEO entry here)
    manifest = json.loads((tmp_path / "out" / "current" / "manifest.json").read_text())
    assert manifest["store"]["actions_published"] == 41
    with open_session(engine) as db:
        who = db.scalars(
            select(ActionTransition.who).where(ActionTransition.to_etat == "validee")
        ).all()
    assert who == ["nightly"] * 41


def test_a_second_nightly_while_one_runs_exits_3_and_touches_nothing(
    engine: Engine, tmp_path: Path, inbox: Path
) -> None:
    settings = settings_for(tmp_path)
    before = sorted(p.name for p in inbox.iterdir())
    with run_lock(settings.output_dir / LOCK_NAME):
        result = run_nightly(engine, settings, inbox=inbox, now=NOW)
    assert (result.state, result.exit_code, result.run_id) == ("already-running", 3, None)
    assert result.message is not None and "déjà en cours" in result.message
    assert sorted(p.name for p in inbox.iterdir()) == before
    with open_session(engine) as db:
        assert list_runs(db) == []
    assert not (settings.output_dir / "runs").exists()


def test_after_a_killed_nightly_the_next_one_runs_and_closes_its_run(
    engine: Engine, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    url = engine.url.render_as_string(hide_password=False)
    with killed_holder(settings.output_dir / LOCK_NAME, url):
        blocked = run_nightly(engine, settings, inbox=tmp_path / "inbox", now=NOW)
    result = run_nightly(engine, settings, inbox=tmp_path / "inbox", now=NOW)
    assert (blocked.exit_code, result.state, result.exit_code) == (3, "succeeded", 0)
    with open_session(engine) as db:
        runs = list_runs(db)
    assert sorted(r["state"] for r in runs) == ["interrupted", "succeeded"]


def test_a_late_nightly_is_skipped_unless_forced(
    engine: Engine, tmp_path: Path, inbox: Path
) -> None:
    settings = settings_for(tmp_path, nightly_latest_start="06:00")
    late = dt.datetime(2025, 3, 2, 5, 30, tzinfo=dt.UTC)  # 06:30 in Paris
    before = sorted(p.name for p in inbox.iterdir())
    skipped = run_nightly(engine, settings, inbox=inbox, now=late)
    assert (skipped.state, skipped.exit_code, skipped.release) == ("skipped", 2, None)
    assert skipped.message == (
        "Le nightly démarre à 06:30 (heure de Paris), après l'heure limite 06:00 : il n'est pas "
        "lancé (catalogue run --force pour le lancer quand même)."
    )
    assert sorted(p.name for p in inbox.iterdir()) == before
    assert json.loads(skipped.artefact.read_text())["state"] == "skipped"  # type: ignore[union-attr]
    forced = run_nightly(engine, settings, inbox=inbox, now=late, force=True)
    assert (forced.state, forced.counts["ingested"]) == ("partial", 5)
    with open_session(engine) as db:
        assert {r["id"]: r["state"] for r in list_runs(db)} == {
            skipped.run_id: "skipped", forced.run_id: "partial"
        }  # fmt: skip


def test_a_failed_publication_fails_the_run_and_notifies(
    engine: Engine, tmp_path: Path, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(context: Any) -> Any:
        raise ExportError("offre-info/lheo.xml", "non conforme au XSD")

    monkeypatch.setattr(release, "default_writers", lambda: [broken])
    event_file = tmp_path / "event.json"
    with receiver() as hook:
        settings = settings_for(
            tmp_path, notify_url=hook.url, notify_command=writer_command(event_file)
        )
        result = run_nightly(engine, settings, inbox=inbox, now=NOW)
    assert (result.state, result.exit_code, result.release) == ("failed", 2, None)
    assert result.message == "Publication refusée : offre-info/lheo.xml : non conforme au XSD"
    assert not (settings.output_dir / "current").exists()
    assert result.counts["ingested"] == 5  # what was ingested stays ingested
    ((_, _, event),) = hook.requests
    assert event == json.loads(event_file.read_text(encoding="utf-8"))
    assert event == {
        "event": "catalogue-nightly", "run_id": result.run_id, "kind": "nightly",
        "state": "failed", "exit_code": 2, "message": result.message,
        "started": "2025-03-02T01:00:00+00:00", "ended": result.as_dict()["ended"],
        "counts": result.counts, "release": None,
    }  # fmt: skip
    artefact = json.loads((settings.output_dir / "runs" / f"{result.run_id}.json").read_text())
    assert artefact["state"] == "failed"


def test_a_successful_nightly_does_not_notify(engine: Engine, tmp_path: Path) -> None:
    with receiver() as hook:
        result = run_nightly(
            engine, settings_for(tmp_path, notify_url=hook.url), inbox=tmp_path / "in", now=NOW
        )
    assert result.state == "succeeded" and hook.requests == []


@pytest.mark.parametrize(
    ("latest", "utc", "late"),
    [
        (None, "2025-03-02T10:00", False),
        ("06:00", "2025-03-02T04:59", False),  # 05:59 in Paris (winter, UTC+1)
        ("06:00", "2025-03-02T05:00", True),
        ("06:00", "2025-07-02T04:00", True),  # 06:00 in Paris (summer, UTC+2)
        ("06:00", "2025-03-02T22:59", True),  # 23:59: still late
        ("06:00", "2025-03-02T23:00", False),  # midnight: the next night
    ],
)
def test_lateness_is_told_in_paris_time(latest: str | None, utc: str, late: bool) -> None:
    now = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    assert is_late(latest, now) is late


def test_nightly_settings_are_checked(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, nightly_latest_start="6:05", notify_url=" http://h/x ")
    assert (settings.nightly_latest_start, settings.notify_url) == ("06:05", "http://h/x")
    assert settings.inbox_path == tmp_path / "out" / "inbox"
    assert settings_for(tmp_path, inbox_dir=tmp_path / "in").inbox_path == tmp_path / "in"
    assert (settings.auto_approve, settings.notify_command) == (False, None)
    with pytest.raises(ValidationError, match="HH:MM"):
        settings_for(tmp_path, nightly_latest_start="25:00")
    with pytest.raises(ValidationError, match="http"):
        settings_for(tmp_path, notify_url="file:///etc/passwd")


def test_a_manual_publication_counts_as_the_current_release(
    engine: Engine, tmp_path: Path, inbox: Path
) -> None:
    """`catalogue publish` records the store's fingerprint too: a nightly with nothing new the
    same day keeps that release."""
    settings = settings_for(tmp_path)
    first = run_nightly(engine, settings, inbox=inbox, now=NOW)
    manual = publish_release(
        engine, output_dir=settings.output_dir, keep=5, now=NOW + dt.timedelta(hours=1)
    )
    assert manual.release.name != first.release
    second = run_nightly(engine, settings, inbox=inbox, now=NOW + dt.timedelta(hours=2))
    assert second.release is None and second.message and manual.release.name in second.message
