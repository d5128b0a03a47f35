"""The run lock: one holder at a time, released by the OS when its holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipelines.errors import AlreadyRunning, EtlError
from pipelines.runlock import run_lock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipelines.runlock import run_lock
    with run_lock(Path(sys.argv[1])):
        if len(sys.argv) > 2:  # also record a nightly run, as a real nightly would
            import datetime as dt
            from pipelines.load.db import make_engine, open_session
            from pipelines.load.runs import start_run
            engine = make_engine(sys.argv[2])
            with open_session(engine, write=True) as db, db.begin():
                start_run(db, kind="nightly", now=dt.datetime.now(dt.UTC))
            engine.dispose()
        print("locked", flush=True)
        time.sleep(60)
    """
)


@contextmanager
def killed_holder(lock: Path, db_url: str | None = None) -> Iterator[int]:
    """A subprocess holding ``lock`` (and a ``running`` nightly run in ``db_url``), SIGKILLed
    on exit of the block; yields its pid while it holds the lock."""
    args = [sys.executable, "-c", HOLDER, str(lock)] + ([db_url] if db_url else [])
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "locked"
            yield proc.pid
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL


def test_the_lock_is_exclusive_and_released_after_the_block(tmp_path: Path) -> None:
    lock = tmp_path / "out" / ".nightly.lock"
    with run_lock(lock):
        assert lock.read_text() == str(os.getpid())
        with pytest.raises(AlreadyRunning) as caught, run_lock(lock):
            pass  # pragma: no cover
    assert caught.value.pid == str(os.getpid())
    assert isinstance(caught.value, EtlError)
    assert caught.value.message == (
        f"Un nightly est déjà en cours (processus {os.getpid()}) : "
        "celui-ci s'arrête sans rien faire."
    )
    with run_lock(lock):  # free again
        pass
    assert lock.read_text() == ""


def test_the_lock_is_released_when_an_exception_leaves_the_block(tmp_path: Path) -> None:
    lock = tmp_path / ".nightly.lock"
    with pytest.raises(RuntimeError), run_lock(lock):
        raise RuntimeError("boom")
    with run_lock(lock):
        pass


def test_a_killed_holder_frees_the_lock_at_once(tmp_path: Path) -> None:
    lock = tmp_path / ".nightly.lock"
    with killed_holder(lock) as pid:
        with pytest.raises(AlreadyRunning, match=f"processus {pid}"), run_lock(lock):
            pass  # pragma: no cover
    assert lock.read_text() == str(pid)  # a stale pid is left: harmless
    with run_lock(lock):
        assert lock.read_text() == str(os.getpid())


def test_a_symbolic_link_as_lock_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / ".nightly.lock").symlink_to(target)
    with pytest.raises(OSError), run_lock(tmp_path / ".nightly.lock"):
        pass  # pragma: no cover
    assert target.read_text() == "keep"
