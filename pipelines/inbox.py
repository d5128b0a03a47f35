"""The nightly's inbox: what to take from it, and where a delivery goes once taken.

Only the top level is read: regular files and folders (CSV deliveries). Hidden entries (write
a file under a hidden name, then rename it, so a half-copied file is never taken), the
``refuses/`` and ``traites/`` folders and symbolic links (never followed) are left alone. A
delivery's name is only used to name its copy aside, sanitised, never to build another path.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from pipelines.extract.entries import describe_entry, is_entry_file
from pipelines.extract.extraction import describe

logger = logging.getLogger(__name__)

REFUSED_DIR, DONE_DIR = "refuses", "traites"


def list_inbox(inbox: Path) -> tuple[list[Path], int]:
    """The deliveries at the top of the inbox, and how many symbolic links were ignored.

    Regular files and folders (CSV deliveries) only; hidden entries and the ``refuses/`` and
    ``traites/`` folders are skipped; symbolic links are never followed. Creates the inbox.
    """
    inbox.mkdir(parents=True, exist_ok=True)
    found, links = [], 0
    with os.scandir(inbox) as entries:
        for entry in entries:
            if entry.name.startswith(".") or entry.name in (REFUSED_DIR, DONE_DIR):
                continue
            if entry.is_symlink():
                links += 1
                logger.warning("inbox: a symbolic link is ignored (never followed)")
            elif entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False):
                found.append(Path(entry.path))
    return sorted(found), links


def move_aside(path: Path, folder: Path, stamp: str) -> Path:
    """Move a delivery into ``folder`` as ``<stamp>-<n>-<sanitised name>`` (never overwrites)."""
    folder.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", path.name).lstrip(".")[:150] or "sans-nom"
    number = 1
    while (target := folder / f"{stamp}-{number}-{name}").exists() or target.is_symlink():
        number += 1
    os.rename(path, target)
    return target


def checksum(path: Path, max_bytes: int) -> str | None:
    """The delivery's SHA-256 as the store records it (None when it cannot be described)."""
    try:
        info = describe_entry(path, max_bytes) if is_entry_file(path) else describe(path, max_bytes)
    except Exception:  # refused anyway by the ingest, with its reason
        return None
    return info.sha256


def aside_report(
    document: dict[str, Any], sha256: str | None, run_id: str | None
) -> dict[str, Any]:
    """The report kept next to a refused delivery: no cell values, only reasons and counts."""
    rejects: dict[tuple[str, str], int] = {}
    for error in document.get("errors") or []:
        key = (error["sheet"], error["reason"])
        rejects[key] = rejects.get(key, 0) + 1
    return {
        "run_id": run_id, "file": document.get("file"), "sha256": sha256,
        "status": document["status"], "year": document.get("year"),
        "refusal": document.get("refusal"), "counts": document.get("counts") or {},
        "warnings": document.get("warnings") or [],
        "rejects": [{"sheet": s, "reason": r, "rows": n} for (s, r), n in sorted(rejects.items())],
        "quarantine": document.get("quarantine"), "archive": document.get("archive"),
    }  # fmt: skip
