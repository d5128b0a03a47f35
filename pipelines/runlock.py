"""The run lock: one nightly at a time, whatever the database, with or without a Prefect server.

A file lock (``fcntl.flock``) in the output folder: the OS releases it when its holder ends,
killed included, so a stale lock never needs cleaning by hand. The file keeps the holder's pid
for the message of the run that finds it taken. POSIX only.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from pipelines.errors import AlreadyRunning

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold the run lock at ``path`` for the duration of the block.

    Args:
        path: the lock file (created with its folder if missing; never deleted).

    Raises:
        AlreadyRunning: another process (or another open of the file) holds it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "r+", encoding="ascii", errors="replace") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read(32).strip()
            raise AlreadyRunning(holder if holder.isdigit() else "?") from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            logger.info("run lock %s taken", path.name)
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)
