"""A full disk under the output folder: the release is not switched, the delivery not recorded.

Two ways to fill a disk: a real small file system (``mount -t tmpfs -o size=8m``, root only),
filled up to a few kilobytes with a filler file, so writes fail with ``ENOSPC``; or, anywhere,
``RLIMIT_FSIZE`` on the subprocess (SIGXFSZ ignored), so a file growing beyond the limit fails
with ``EFBIG``. The limit applies to every file the process writes, a SQLite store's included,
so that variant runs on PostgreSQL only; the tmpfs variant keeps the SQLite file outside the
small disk (the output folder is what fills up, as the issue asks).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.hardening.conftest import Store
from tests.hardening.killpoints import (
    dump_database,
    release_state,
    run_cli,
    split_runs,
    tree_checksums,
)
from tests.hardening.test_faults_kill import (
    ENTRY_A,
    check_current_is_whole,
    unfinished,
)

TMPFS, RLIMIT = "tmpfs", "rlimit"
MEDIA = [
    pytest.param(TMPFS, "sqlite", id="tmpfs-sqlite"),
    pytest.param(
        TMPFS, "postgresql", id="tmpfs-postgresql", marks=[pytest.mark.postgres, pytest.mark.slow]
    ),  # fmt: skip
    pytest.param(RLIMIT, "postgresql", id="rlimit-postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """An 8 MB tmpfs (None when it cannot be mounted: not root, no tmpfs)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def moved_to(store: Store, disk: Path) -> Store:
    """The store's output folder copied onto ``disk`` (a SQLite file stays where it is)."""
    output = disk / "out"
    shutil.copytree(store.output, output, symlinks=True,
                    ignore=shutil.ignore_patterns("catalogue.db*"))  # fmt: skip
    return replace(store, output=output)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` with one file until only about ``leave`` bytes are free."""
    filler = disk / "filler"
    stats = os.statvfs(disk)
    size = stats.f_bavail * stats.f_frsize - leave
    with filler.open("wb") as fh:
        chunk = b"\0" * (1 << 20)
        while size > 0:
            size -= fh.write(chunk[: min(size, len(chunk))])
    return filler


def on_a_full_disk(
    clones: Callable[[str, str], Store], small_disk: Path | None, medium: str, backend: str,
    base: str, leave: int, inbox: tuple[Path, ...] = (),
) -> tuple[Store, int | None, Callable[[], None]]:  # fmt: skip
    """A clone of ``base`` (with ``inbox`` received) whose output folder has ``leave`` bytes left.

    Returns:
        The store, the file size limit to run with (rlimit), and what frees the space.
    """
    store = clones(backend, base)
    (store.output / "inbox").mkdir()
    for path in inbox:
        shutil.copyfile(path, store.output / "inbox" / path.name)
    if medium == RLIMIT:
        return store, leave, lambda: None
    if small_disk is None:
        pytest.skip("tmpfs cannot be mounted here (not root?): see the rlimit variant")
    store = moved_to(store, small_disk)
    filler = fill(small_disk, leave)
    return store, None, filler.unlink


def new_runs(before: dict[str, dict], after: dict[str, dict]) -> list[dict]:
    return [run for run_id, run in after.items() if run_id not in before]


@pytest.mark.parametrize(("medium", "backend"), MEDIA)
def test_a_full_disk_abandons_the_release_and_current_stays(
    clones: Callable[[str, str], Store], small_disk: Path | None, medium: str, backend: str,
) -> None:  # fmt: skip
    store, limit, free = on_a_full_disk(
        clones, small_disk, medium, backend, "published", leave=256 * 1024
    )  # offre-info/lheo.xml alone is ~500 kB
    before, before_runs = split_runs(dump_database(store.url))
    current = release_state(store.output)
    releases = sorted(p.name for p in (store.output / "releases").iterdir())

    failed = run_cli(["publish"], env=store.env, file_size_limit=limit)

    output = failed.stdout + failed.stderr
    assert failed.returncode == 2 and "Traceback" not in output, output[-3000:]
    said = " ".join(failed.stderr.split())  # as the console wrapped it
    assert "Publication refusée — " in said or "Écriture ou lecture impossible (disque" in said
    assert release_state(store.output) == current  # same link, same bytes
    assert sorted(p.name for p in (store.output / "releases").iterdir()) == releases
    after, runs = split_runs(dump_database(store.url))
    assert after == before
    [run] = new_runs(before_runs, runs)
    assert run["state"] == "failed" and run["message"].startswith("Publication refusée")

    free()
    again = run_cli(["publish"], env=store.env)

    assert again.returncode == 0, again.stderr[-3000:]
    assert release_state(store.output)["target"] != current["target"]
    check_current_is_whole(store.output)
    assert unfinished(store.output) == []
    assert failed.returncode == 2 and "Traceback" not in output


@pytest.mark.parametrize(("medium", "backend"), MEDIA)
def test_a_full_disk_abandons_the_nightlys_release(
    clones: Callable[[str, str], Store], small_disk: Path | None, medium: str, backend: str,
) -> None:  # fmt: skip
    store, limit, free = on_a_full_disk(
        clones, small_disk, medium, backend, "published", leave=256 * 1024
    )
    before, before_runs = split_runs(dump_database(store.url))
    current = release_state(store.output)

    failed = run_cli(["run", "--json"], env=store.env, file_size_limit=limit)

    output = failed.stdout + failed.stderr
    assert failed.returncode == 2, output[-3000:]
    message = json.loads(failed.stdout)["message"]
    assert message.startswith(("Publication refusée", "erreur inattendue (OSError)")), message
    assert release_state(store.output) == current
    after, runs = split_runs(dump_database(store.url))
    assert after == before
    [run] = new_runs(before_runs, runs)
    assert (run["kind"], run["state"]) == ("nightly", "failed")
    assert unfinished(store.output) == []

    free()
    again = run_cli(["run"], env=store.env)

    assert again.returncode == 0, again.stderr[-3000:]
    assert release_state(store.output)["target"] != current["target"]
    check_current_is_whole(store.output)


@pytest.mark.parametrize(("medium", "backend"), MEDIA)
@pytest.mark.parametrize("nightly", [False, True], ids=["ingest", "nightly"])
def test_a_full_disk_while_archiving_records_no_delivery(
    clones: Callable[[str, str], Store], small_disk: Path | None, medium: str, backend: str,
    nightly: bool,
) -> None:  # fmt: skip
    store, limit, free = on_a_full_disk(
        clones, small_disk, medium, backend, "frame", leave=8 * 1024, inbox=(ENTRY_A,)
    )  # the entry workbook is 36 kB
    delivery = store.output / "inbox" / ENTRY_A.name
    archive = tree_checksums(store.output / "archive")
    before, before_runs = split_runs(dump_database(store.url))
    args = ["run", "--json"] if nightly else ["ingest", str(delivery)]

    failed = run_cli(args, env=store.env, file_size_limit=limit)

    output = failed.stdout + failed.stderr
    assert failed.returncode not in (0, -9), output[-3000:]
    after, runs = split_runs(dump_database(store.url))
    assert after == before  # no delivery row, no rejects, no frame or offer row
    [run] = new_runs(before_runs, runs)
    assert run["state"] == "failed"
    assert tree_checksums(store.output / "archive") == archive  # no half-archived file
    assert delivery.is_file()  # still in the inbox, for the next night

    free()
    again = run_cli(args, env=store.env)

    assert again.returncode in (0, 1), again.stderr[-3000:]
    again_runs = split_runs(dump_database(store.url))[1]
    [rerun] = new_runs(runs, again_runs)
    assert [i["status"] for i in json.loads(rerun["inputs"])] == ["integree"]
    assert failed.returncode == 2
    if nightly:  # the run's artefact cannot be written either on tmpfs: exit code and alert hold
        assert "erreur inattendue (OSError) : voir le journal" in failed.stdout
    else:
        assert "Traceback" not in output
        said = " ".join(failed.stderr.split())  # as the console wrapped it
        assert "Écriture ou lecture impossible (disque plein)" in said
