"""Replaying a past run: the store rebuilt from the archive into an empty database, and the run's
release published again, byte for byte.

The run history (``runs``) is a journal: every command that changed the store recorded what it
did (:mod:`pipelines.journal`, the nightly, the backfill). A replay takes the runs up to the
one asked for, in the order they started, and does them again on an empty store:

* each delivery a run took is brought back from the archive (``archive/<sha[:2]>/<sha>/``,
  under the name it arrived with, sanitised: never a path) and ingested with the time it was
  first ingested at and the run's ``allow_mass_withdrawal``; a delivery the run found already
  ingested is skipped, as it was;
* an approval is made again with its selection, decision, author and time; a nightly with
  ``auto_approve`` validates what waits, at its time;
* the run asked for publishes again, under its id and at its time, into the replay's output
  folder, after the publication before it (its delta of LHEO is computed against that one); its ``manifest.json`` (every file's SHA-256) must have the checksum recorded when the
  run published (and equal the original release's, when that is still on disk).

What breaks the identity is reported, never hidden: a delivery missing from the archive, a
status that differs from the original, a different release. Surrogate ids come from the order of
insertion: a store built by a parallel backfill, or on PostgreSQL by loads that were rolled back
(sequences do not roll back), may number its records differently and then cannot be replayed
byte for byte; the replay says so.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from pipelines.dispatch import ingest_one
from pipelines.extract.source import sha256_file
from pipelines.journal import decide_selected
from pipelines.load.archive import MANIFEST, archive_folder
from pipelines.load.db import open_session
from pipelines.load.deliveries import as_utc
from pipelines.load.release import publish
from pipelines.settings import Settings
from schemas.store import Delivery, Run

logger = logging.getLogger(__name__)

REPLAYED_KINDS = ("ingest", "nightly", "backfill", "approve", "publish")
_SKIPPED = ("deja-integree",)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class ReplayError(Exception):
    """The run cannot be replayed (French message for the data engineer)."""


@dataclass
class ReplayResult:
    """What a replay did.

    Attributes:
        run_id: the run replayed.
        identical: the replayed release is byte for byte the original.
        release: the replayed release's folder.
        runs: how many runs of the history were done again.
        deliveries: how many deliveries were ingested again.
        differences: what differs from the original (French), empty when identical.
    """

    run_id: str
    identical: bool
    release: Path
    runs: int
    deliveries: int
    differences: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 identical; 1 the replay went through but its release differs."""
        return 0 if self.identical else 1

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "run_id": self.run_id, "identical": self.identical, "release": str(self.release),
            "runs": self.runs, "deliveries": self.deliveries, "differences": self.differences,
            "exit_code": self.exit_code,
        }  # fmt: skip


def replay(
    source: Engine,
    run_id: str,
    *,
    archive_dir: Path,
    into: Engine,
    settings: Settings,
    original_releases: Path | None = None,
) -> ReplayResult:
    """Rebuild the store as it was when ``run_id`` published, then publish its release again.

    Args:
        source: the store whose history is replayed (only read).
        run_id: a run that published a release (a nightly, a publication).
        archive_dir: the source's archive (``<output_dir>/archive``).
        into: an empty store (migrated), where the history is done again.
        settings: the replay's output folder (its own archive, quarantine and releases) and
            limits; ``settings.store_url`` is not used (``into`` is).
        original_releases: the source's ``releases/`` folder, to compare with the original
            files when the release is still there.

    Raises:
        ReplayError: the run is unknown or published nothing, ``into`` is not empty, or a
            delivery is missing from the archive.
    """
    with open_session(source) as db:
        target = db.get(Run, run_id)
        if target is None:
            raise ReplayError(f"exécution inconnue : {run_id}")
        if not target.release:
            raise ReplayError(f"l'exécution {run_id} n'a publié aucune version")
        history = list(
            db.scalars(
                select(Run)
                .where(Run.started_at <= target.started_at, Run.kind.in_(REPLAYED_KINDS))
                .order_by(Run.started_at, Run.id)
            )
        )
        db.expunge_all()
    with open_session(into) as db:
        if db.scalar(select(func.count()).select_from(Delivery)):
            raise ReplayError("le store de destination n'est pas vide : il faut un store neuf")
    # the release consumers read before the target's (its delta is computed against it)
    before = [r for r in history if r.release and r.id != target.id]
    previous = before[-1] if before else None
    differences: list[str] = []
    deliveries = 0
    with tempfile.TemporaryDirectory(prefix="replay-") as work:
        for run in history:
            deliveries += _replay_run(run, into, settings, archive_dir, Path(work), differences)
            if previous is not None and run.id == previous.id:
                _publish(into, settings, run)
    published = _publish(into, settings, target)
    manifest = published.release / "manifest.json"
    if target.release_sha256 and sha256_file(manifest) != target.release_sha256:
        differences.append("le manifeste de la version rejouée diffère de celui publié")
    if original_releases is not None:
        differences.extend(_compare(original_releases / target.release, published.release))
    elif not target.release_sha256:
        differences.append("aucune empreinte de la version d'origine : comparaison impossible")
    result = ReplayResult(
        target.id, not differences, published.release, len(history), deliveries, differences
    )
    logger.info("replay of %s: %s", run_id, "identical" if result.identical else "different")
    return result


def _publish(into: Engine, settings: Settings, run: Run) -> Any:
    return publish(
        into, output_dir=settings.output_dir, keep=max(settings.releases_keep, 2),
        lheo_version=str((run.params or {}).get("lheo_version", "2.3")),
        now=as_utc(run.started_at), run_id=run.id,
    )  # fmt: skip


def _replay_run(
    run: Run,
    into: Engine,
    settings: Settings,
    archive_dir: Path,
    work: Path,
    differences: list[str],
) -> int:
    params = run.params or {}
    started = as_utc(run.started_at)
    if run.kind == "approve":
        _approve(into, params, started)
        return 0
    if run.kind == "publish":
        return 0  # a publication does not change the store
    allow = bool(params.get("allow_mass_withdrawal", False))
    inputs = list(run.inputs or [])
    if run.kind == "backfill":  # years ran side by side: take them in the order they went in
        inputs.sort(key=lambda item: str(item.get("at") or ""))
    count = 0
    for item in inputs:
        if item.get("status") in _SKIPPED or not item.get("sha256"):
            continue  # already ingested, or unreadable: nothing was written
        path = materialise(archive_dir, str(item["sha256"]), work)
        at = dt.datetime.fromisoformat(str(item["at"])) if item.get("at") else started
        document = ingest_one(path, into, settings, allow, at)
        count += 1
        if document["status"] != item.get("status"):
            differences.append(
                f"{item.get('file')} : {document['status']} au lieu de {item.get('status')}"
            )
    if run.kind == "nightly" and params.get("auto_approve"):
        _approve(into, {"selection": {"all_valid": True}, "refuse": False, "who": "nightly",
                        "reason": "validée automatiquement par le nightly "
                                  "(CATALOGUE_AUTO_APPROVE)"}, started)  # fmt: skip
    return count


def _approve(into: Engine, params: dict[str, Any], now: dt.datetime) -> None:
    with open_session(into, write=True) as db, db.begin():
        decide_selected(
            db, dict(params.get("selection") or {}), refuse=bool(params.get("refuse")),
            reason=params.get("reason"), who=str(params.get("who")), now=now,
        )  # fmt: skip


def safe_name(name: str) -> str:
    """A delivery's original name made safe to create in a scratch folder (never a path)."""
    cleaned = _SAFE_NAME.sub("_", name.replace("/", "_").replace("\\", "_")).lstrip(".")
    return cleaned[:200] or "livraison"


def materialise(archive_dir: Path, sha256: str, work: Path) -> Path:
    """Bring an archived delivery back under its original (sanitised) name, in ``work``.

    Raises:
        ReplayError: the delivery is not in the archive, or its content is not what was
            archived (its checksum).
    """
    folder = archive_dir / archive_folder(sha256)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ReplayError(f"livraison absente de l'archive : {sha256}") from None
    files = dict(manifest.get("files") or {})
    target = work / sha256[:12] / safe_name(str(manifest.get("file_name") or ""))
    target.parent.mkdir(parents=True, exist_ok=True)
    if manifest.get("kind") == "csv":
        target.mkdir()
        for name in files:
            shutil.copyfile(folder / Path(name).name, target / Path(name).name)
        return target
    (name,) = files
    shutil.copyfile(folder / Path(name).name, target)
    if sha256_file(target) != sha256:
        raise ReplayError(f"l'archive de {manifest.get('file_name')} est altérée ({sha256})")
    return target


def _compare(original: Path, replayed: Path) -> list[str]:
    """The files that differ between the original release (if still on disk) and the replay."""
    if not original.is_dir():
        return []
    differences = []
    names = {p.relative_to(original).as_posix() for p in original.rglob("*") if p.is_file()}
    names |= {p.relative_to(replayed).as_posix() for p in replayed.rglob("*") if p.is_file()}
    for name in sorted(names):
        left, right = original / name, replayed / name
        if not (left.is_file() and right.is_file()) or sha256_file(left) != sha256_file(right):
            differences.append(f"fichier différent : {name}")
    return differences
