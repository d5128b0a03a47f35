"""Releases: complete, described by a manifest, switched atomically; a failure or a kill
leaves ``current`` as it was (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pipelines.errors import ExportError
from pipelines.load.feeds import FeedFile, ReleaseContext
from pipelines.load.release import publish

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
