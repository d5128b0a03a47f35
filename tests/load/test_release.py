"""Releases: complete, described by a manifest, switched atomically; a failure or a kill
leaves ``current`` as it was (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pipelines.errors import ExportError
from pipelines.load.catalogue_feed import catalogue_consumer, write_catalogue
from pipelines.load.db import open_session
from pipelines.load.feeds import Consumer, FeedFile, ReleaseContext, write_in_one_pass
from pipelines.load.kairos_feed import write_kairos
from pipelines.load.lheo_feed import lheo_consumer, write_lheo
from pipelines.load.release import publish, write_offer_feeds
from pipelines.load.sites_feed import sites_consumer, write_sites
from pipelines.transform.bundle import ActionBundle
from tests.load.contexts import release as release_context

T0 = dt.datetime(2025, 3, 2, 1, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]


def count_writer(context: ReleaseContext) -> list[FeedFile]:
    """A small real feed: one line per published action, in FAS order."""
    folder = context.folder / "test"
    folder.mkdir()
    lines = [f"{b.ref};{len(b.sessions)}" for b in context.offer()]
    (folder / "actions.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [FeedFile("test/actions.txt", len(lines), "texte")]


def failing_writer(context: ReleaseContext) -> list[FeedFile]:
    (context.folder / "half.txt").write_text("à moitié")
    raise ExportError("half.txt", "invalide", record="1-2")


def target(output: Path) -> Path:
    return (output / "current").resolve()


def test_a_release_is_complete_described_and_switched(published: Engine, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = publish(published, output_dir=out, now=T0, run_id="a" * 32, writers=[count_writer])
    assert (out / "current").is_symlink() and target(out) == first.release
    manifest = json.loads((first.release / "manifest.json").read_text(encoding="utf-8"))
    [entry] = manifest["files"]
    data = (first.release / "test/actions.txt").read_bytes()
    assert entry == {"path": "test/actions.txt", "size": len(data), "records": 46,
                     "sha256": hashlib.sha256(data).hexdigest(), "format": "texte"}  # fmt: skip
    assert manifest["store"]["actions_published"] == 46 and manifest["run_id"] == "a" * 32
    assert {i["kind"] for i in manifest["inputs"]} == {"extraction", "saisie"}
    second = publish(published, output_dir=out, now=T0 + dt.timedelta(hours=1),
                     run_id="b" * 32, writers=[count_writer], keep=1)  # fmt: skip
    assert target(out) == second.release and not first.release.exists()
    assert second.removed == [first.release.name]
    assert (second.release / "test/actions.txt").read_bytes() == data  # same store, same bytes


def test_a_failing_feed_leaves_current_as_it_was(published: Engine, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = publish(published, output_dir=out, now=T0, writers=[count_writer])
    with pytest.raises(ExportError) as caught:
        publish(published, output_dir=out, now=T0 + dt.timedelta(hours=1),
                writers=[count_writer, failing_writer])  # fmt: skip
    assert caught.value.record == "1-2"
    assert target(out) == first.release
    assert sorted(p.name for p in (out / "releases").iterdir() if p.name != ".lock") == [
        first.release.name
    ]


KILLER = """
import datetime as dt, os, signal, sys
from pathlib import Path
from pipelines.load.db import make_engine
from pipelines.load.release import publish
from tests.load.test_release import count_writer

def die(context):
    (context.folder / "partial.txt").write_text("partiel")
    os.kill(os.getpid(), signal.SIGKILL)

engine = make_engine(sys.argv[1])
publish(engine, output_dir=Path(sys.argv[2]), writers=[count_writer, die],
        now=dt.datetime(2025, 3, 2, 5, 0, tzinfo=dt.UTC))
"""


def test_a_kill_during_a_publication_leaves_current_as_it_was(
    published: Engine, db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = publish(published, output_dir=out, now=T0, writers=[count_writer])
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLER), db_url, str(out)],
        cwd=ROOT, capture_output=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert target(out) == first.release
    assert (first.release / "test/actions.txt").is_file()
    assert any(p.name.startswith(".tmp-") for p in (out / "releases").iterdir())
    again = publish(published, output_dir=out, now=T0 + dt.timedelta(hours=2),
                    writers=[count_writer])  # fmt: skip
    assert target(out) == again.release
    assert not any(p.name.startswith(".tmp-") for p in (out / "releases").iterdir())


def test_the_offer_feeds_read_the_offer_once_and_write_what_each_feed_writes_alone(
    published: Engine, tmp_path: Path
) -> None:
    """One pass over the store feeds LHEO, the regional sites, Kairos and the catalogue, and
    each file is byte for byte what its feed writes on its own (the reports read Kairos's)."""
    passes: list[int] = []

    def counted(context: ReleaseContext) -> ReleaseContext:
        def offer() -> Iterator[ActionBundle]:
            passes.append(1)
            return context.offer()

        return dataclasses.replace(context, offer=offer)

    def offer_feeds(context: ReleaseContext) -> list[FeedFile]:
        return write_offer_feeds(counted(context))

    result = publish(published, output_dir=tmp_path / "out", now=T0, writers=[offer_feeds])
    assert passes == [1]
    together = {f["path"]: f for f in result.manifest["files"]}
    alone: dict[str, bytes] = {}
    for writer in (write_lheo, write_sites, write_kairos, write_catalogue):
        folder = tmp_path / writer.__name__
        release = publish(published, output_dir=folder, now=T0, writers=[writer]).release
        for path in release.rglob("*"):
            if path.is_file() and path.name != "manifest.json":
                alone[path.relative_to(release).as_posix()] = path.read_bytes()
    assert set(alone) == set(together) and len(together) > 15
    for name, data in alone.items():
        assert (result.release / name).read_bytes() == data, name
    assert together["offre-info/lheo.xml"]["records"] == 46


def test_a_feed_failing_during_the_pass_leaves_no_file_of_any_feed(
    published: Engine, tmp_path: Path
) -> None:
    def broken(context: ReleaseContext) -> Consumer:
        seen = 0
        while (item := (yield)) is not None:
            seen += len(item.bundle.sessions)
            if seen > 20:
                raise ExportError("x", "invalide", record=item.bundle.ref)
        return []

    with open_session(published) as db:
        context = release_context(tmp_path / "release", published, db)
        with pytest.raises(ExportError):
            write_in_one_pass(context, [lheo_consumer, sites_consumer, broken, catalogue_consumer])
    left = [p for p in (tmp_path / "release").rglob("*") if p.is_file()]
    assert [p.name for p in left if not p.name.endswith("schema.json")] == []
