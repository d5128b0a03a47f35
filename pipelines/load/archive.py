"""The archive: every delivery kept as received, by SHA-256, so that any run can be replayed.

Layout: ``<archive_dir>/<sha256[:2]>/<sha256>/`` holds the content under fixed names
(``delivery.xlsx`` / ``delivery.xlsm``, or ``programmes.csv``, ``lots.csv``, ``organismes.csv``,
``actions.csv`` for a folder) and ``manifest.json``. The name the file arrived with is only kept
as data in the manifest: it is never used to build a path. The manifest is written last, so a
folder without one is an unfinished archive and is written again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pipelines.extract.source import DeliveryInfo, sha256_file
from pipelines.load.files import atomic_copy, atomic_write_bytes

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CSV_NAMES = ("programmes.csv", "organismes.csv", "lots.csv", "actions.csv")
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def archive_folder(sha256: str) -> Path:
    """Return where a delivery's content goes, relative to the archive root."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a lower-case hex SHA-256")
    return Path(sha256[:2]) / sha256


def archive_delivery(info: DeliveryInfo, archive_dir: Path) -> Path:
    """Copy a delivery, as received, into the archive (atomic, idempotent).

    Args:
        info: the delivery (``info.path`` is a workbook or a folder of CSV files).
        archive_dir: the archive root.

    Returns:
        The delivery's folder, relative to ``archive_dir`` (``ab/abcd…``).

    Raises:
        ValueError: the copied workbook's digest is not ``info.sha256`` (it changed meanwhile),
            or a folder holds two files with the same canonical name.
    """
    relative = archive_folder(info.sha256)
    target = archive_dir / relative
    if _complete(target, info.sha256):
        logger.info("delivery already archived in %s", relative)
        return relative
    entries: dict[str, dict[str, Any]] = {}
    for name, source in sorted(_sources(info).items()):
        atomic_copy(source, target / name)
        digest = sha256_file(target / name)
        if not info.path.is_dir() and digest != info.sha256:
            raise ValueError(f"{info.file_name}: content changed while it was being archived")
        entries[name] = {"sha256": digest, "size_bytes": (target / name).stat().st_size}
    manifest = {
        "file_name": info.file_name,
        "kind": info.kind,
        "sha256": info.sha256,
        "size_bytes": info.size_bytes,
        "files": entries,
    }
    data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(target / MANIFEST, data.encode())
    logger.info("delivery archived in %s (%d files)", relative, len(entries))
    return relative


def _complete(target: Path, sha256: str) -> bool:
    try:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = manifest.get("files", {})
    return manifest.get("sha256") == sha256 and all((target / n).is_file() for n in files)


def _sources(info: DeliveryInfo) -> dict[str, Path]:
    if not info.path.is_dir():
        suffix = Path(info.file_name).suffix.lower()
        name = "delivery" + (suffix if suffix in _WORKBOOK_SUFFIXES else ".xlsx")
        return {name: info.path}
    files: dict[str, Path] = {}
    for entry in sorted(info.path.iterdir()):
        name = entry.name.lower()
        if name not in CSV_NAMES or not entry.is_file():
            continue
        if name in files:
            raise ValueError(f"{info.file_name}: two files named {name!r} (case aside)")
        files[name] = entry
    return files
