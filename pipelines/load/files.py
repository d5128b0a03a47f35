"""Files written atomically: a reader sees the old file or the new one, never half of one.

Each file is written to a temporary name in the same folder, flushed to disk (``fsync``), then
renamed over the target (``os.replace``, atomic on POSIX); the folder is synced so the rename
itself survives a crash.

Inside :func:`deferred_sync` (a release being built, invisible until its folder is synced and
switched), the files written under its folder are not synced one by one: :func:`sync_tree`
syncs them all, concurrently, before the release becomes visible; the files of a feed already
complete may be flushed meanwhile (:meth:`FolderSync.ahead`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from pathlib import Path
from typing import IO

_CHUNK = 1 << 20
#: Threads syncing a folder's files (``fsync`` releases the GIL; concurrent ones share the
#: file system's journal commits).
SYNC_THREADS = 8
_DEFERRED: ContextVar[Path | None] = ContextVar("deferred_sync", default=None)


@contextlib.contextmanager
def deferred_sync(folder: Path) -> Iterator[FolderSync]:
    """Within the block, :func:`atomic_writer` does not sync the files it writes under
    ``folder``: the caller syncs the whole folder (:meth:`FolderSync.sync`) before anyone can
    see it, and may start syncing the files already complete (:meth:`FolderSync.ahead`).
    """
    token = _DEFERRED.set(folder)
    syncing = FolderSync(folder)
    try:
        yield syncing
    finally:
        _DEFERRED.reset(token)
        syncing.close()


class FolderSync:
    """The syncing of a folder being built, in worker threads (see :func:`deferred_sync`).

    Args:
        folder: the folder.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._pool = ThreadPoolExecutor(max_workers=SYNC_THREADS, thread_name_prefix="fsync")
        self._started: list[Future[None]] = []

    def ahead(self, paths: Iterable[Path]) -> None:
        """Start flushing files already complete while the caller goes on (their disk writes
        overlap the next files' work); :meth:`sync` still syncs them."""
        self._started.extend(self._pool.submit(_fsync_file, path) for path in paths)

    def sync(self) -> None:
        """Wait for the files started ahead, then sync the whole tree (:func:`sync_tree`: every
        file again, cheap once flushed, so that none changed since is missed).

        Raises:
            OSError: a file or folder could not be synced.
        """
        for future in self._started:
            future.result()
        self._started.clear()
        sync_tree(self.folder, self._pool)

    def close(self) -> None:
        """Drop the syncs not started, wait for the running ones and stop the threads."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _deferred(path: Path) -> bool:
    folder = _DEFERRED.get()
    return folder is not None and folder in path.parents


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Open a temporary file that replaces ``path`` when the block ends without error.

    Args:
        path: the file to (re)write; its folder is created if needed.

    Yields:
        A binary file object.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    durable = not _deferred(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fchmod(fh.fileno(), 0o666 & ~_umask())  # as open() would, not mkstemp's 0600
            if durable:
                os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if durable:
        fsync_dir(path.parent)


def _umask() -> int:
    """The process's umask (read by setting it, then restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path) as fh:
        fh.write(data)


def atomic_copy(source: Path, target: Path) -> None:
    """Copy the content of ``source`` to ``target`` atomically (content only, no metadata)."""
    with source.open("rb") as src, atomic_writer(target) as dst:
        shutil.copyfileobj(src, dst, _CHUNK)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries to disk (where the platform allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sync_tree(folder: Path, pool: ThreadPoolExecutor | None = None) -> None:
    """Flush every file of ``folder`` (recursively) to disk, then its folders, deepest first,
    and ``folder`` itself (the files concurrently, in ``pool`` when given)."""
    files, folders = [], []
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            folders.append(path)
    if pool is None:
        with ThreadPoolExecutor(max_workers=SYNC_THREADS) as own:
            for _ in own.map(_fsync_file, files):
                pass
    else:
        for _ in pool.map(_fsync_file, files):
            pass
    for path in folders:
        fsync_dir(path)
    fsync_dir(folder)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())
