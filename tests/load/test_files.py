"""Atomic files: synced one by one, or all at once for a folder being built."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.load import files
from pipelines.load.files import atomic_write_bytes, deferred_sync, sync_tree


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The descriptors passed to ``os.fsync`` (which still runs)."""
    calls: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    return calls


def test_an_atomic_file_is_synced_with_its_folder(tmp_path: Path, synced: list[int]) -> None:
    atomic_write_bytes(tmp_path / "a.csv", b"x")
    assert (tmp_path / "a.csv").read_bytes() == b"x"
    assert len(synced) == 2  # the file, then its folder


def test_files_of_a_deferred_folder_are_synced_by_sync_tree(
    tmp_path: Path, synced: list[int]
) -> None:
    building = tmp_path / "building"
    with deferred_sync(building):
        atomic_write_bytes(building / "rapport" / "a.csv", b"a")
        atomic_write_bytes(building / "b.csv", b"b")
        atomic_write_bytes(tmp_path / "outside.csv", b"o")  # not in the folder: synced
    assert len(synced) == 2
    sync_tree(building)
    assert len(synced) == 2 + 2 + 2  # both files, then rapport/ and building/
    assert (building / "rapport" / "a.csv").read_bytes() == b"a"
    assert not list(building.rglob("*.tmp"))


def test_files_synced_ahead_are_synced_again_with_the_tree(
    tmp_path: Path, synced: list[int]
) -> None:
    building = tmp_path / "building"
    with deferred_sync(building) as syncing:
        atomic_write_bytes(building / "a.csv", b"a")
        syncing.ahead([building / "a.csv"])
        atomic_write_bytes(building / "b.csv", b"b")  # written after: still synced below
        syncing.sync()
    assert len(synced) == 1 + 2 + 1  # a ahead; a and b; building/
