"""Kill points: run the real command line in a subprocess and SIGKILL it at a named place.

No hook in the production code. The subprocess (``python -m tests.hardening.killpoints``)
first wraps one function, found by its dotted path (``module:Qual.name``), then runs
``catalogue`` (``pipelines.cli.app``) with the given arguments. On the ``nth`` call of that
function whose arguments match ``match`` (if given), before or after the call, it writes a
marker file and kills its own process with SIGKILL: nothing of the pipeline runs after that
point, no ``finally``, no ``atexit``, no rollback; the OS closes the files and sockets, the
database server sees a dropped connection. ``action="pause"`` instead writes the marker and
waits for a gate file (a test then acts on the paused run, e.g. terminates its PostgreSQL
backend, and opens the gate).

The wrapper replaces the attribute where it is defined, the names other ``pipelines`` modules
imported (``from x import f``) and the default values of their functions, so the real call
sites reach it. ``settings`` sets module constants before the run (e.g. a small
``pipelines.load.upsert:BATCH_SIZE`` so that a table goes in several batches).

The module also gives what the tests compare: the whole database as data
(:func:`dump_database`), the ``current`` release as target and checksums
(:func:`release_state`), and the feeds of a release that do not depend on the run
(:func:`feed_digest`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class KillPoint:
    """Where to stop a run.

    Attributes:
        id: a short name (the test's id).
        target: ``module:Qual.name`` of the function to wrap (``os:replace``,
            ``pipelines.load.frame:_load_lots``, ``alembic.ddl.impl:DefaultImpl._exec``).
        nth: on which matching call to act (1 = the first).
        when: ``before`` or ``after`` the call.
        match: only calls whose arguments, as text (joined by spaces), match this regular
            expression (``re.search``) count.
        action: ``kill`` (SIGKILL) or ``pause`` (wait for the gate file).
        settings: module constants to set first, ``{"module:NAME": value}``.
    """

    id: str
    target: str
    nth: int = 1
    when: str = "after"
    match: str | None = None
    action: str = "kill"
    settings: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> str:
        """The point as JSON (the subprocess's first argument)."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Outcome:
    """How a run under a kill point ended."""

    returncode: int
    reached: bool
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        """True when the process died of SIGKILL."""
        return self.returncode == -signal.SIGKILL


# --------------------------------------------------------------------------- in the subprocess


def _resolve(target: str) -> tuple[Any, str, Any]:
    module_name, _, qualname = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, name, getattr(owner, name)


def _describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = []
    for value in (*args, *kwargs.values()):
        try:
            parts.append(str(value))
        except Exception:  # an object that cannot render itself (a half-built statement)
            parts.append(repr(type(value)))
    return " ".join(parts)


def _rebind(original: Any, wrapper: Any) -> None:
    """Point every ``pipelines`` (and ``migrations``) reference to ``original`` at ``wrapper``."""
    for name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType):
            continue
        if not (name.startswith("pipelines") or name.startswith("migrations")):
            continue
        for attribute, value in list(vars(module).items()):
            if value is original:
                setattr(module, attribute, wrapper)
            elif isinstance(value, types.FunctionType) and value.__defaults__:
                if any(d is original for d in value.__defaults__):
                    value.__defaults__ = tuple(
                        wrapper if d is original else d for d in value.__defaults__
                    )


def arm(point: KillPoint, marker: Path, gate: Path | None = None) -> None:
    """Wrap ``point.target`` in this process (see the module's docstring)."""
    for dotted, value in point.settings.items():
        owner, name, _ = _resolve(dotted)
        setattr(owner, name, value)
    owner, name, original = _resolve(point.target)
    calls = 0

    def hit(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        nonlocal calls
        if point.match is not None and not re.search(point.match, _describe(args, kwargs)):
            return False
        calls += 1
        return calls == point.nth

    def fire() -> None:
        marker.write_text(json.dumps({"id": point.id, "pid": os.getpid()}), encoding="utf-8")
        if point.action == "pause":
            deadline = time.monotonic() + 120
            while gate is not None and not gate.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            return
        os.kill(os.getpid(), signal.SIGKILL)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if point.when == "before" and hit(args, kwargs):
            fire()
        result = original(*args, **kwargs)
        if point.when == "after" and hit(args, kwargs):
            fire()
        return result

    setattr(owner, name, wrapper)
    if isinstance(original, types.FunctionType | types.BuiltinFunctionType):
        _rebind(original, wrapper)


def main(argv: list[str]) -> None:
    """``python -m tests.hardening.killpoints SPEC MARKER GATE -- catalogue arguments...``."""
    spec, marker, gate, separator, *arguments = argv
    assert separator == "--", argv
    import pipelines.cli  # every command module, so that their imported names can be rebound

    arm(KillPoint(**json.loads(spec)), Path(marker), Path(gate) if gate else None)
    sys.argv = ["catalogue", *arguments]
    pipelines.cli.run()  # the entry point of `catalogue`


# --------------------------------------------------------------------------- in the test


def run_cli(
    arguments: list[str],
    *,
    env: dict[str, str],
    point: KillPoint | None = None,
    marker: Path | None = None,
    gate: Path | None = None,
    timeout: float = 180,
    file_size_limit: int | None = None,
) -> Outcome:
    """Run ``catalogue ARGUMENTS`` in a subprocess, under ``point`` if given.

    ``file_size_limit`` (bytes): ``RLIMIT_FSIZE`` of the subprocess, SIGXFSZ ignored, so that
    writing a file beyond it fails with ``EFBIG`` (a full disk without mounting one).
    """
    if point is None:
        command = [sys.executable, "-m", "pipelines", *arguments]
    else:
        assert marker is not None
        command = [sys.executable, "-m", "tests.hardening.killpoints", point.spec(), str(marker),
                   str(gate or ""), "--", *arguments]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=timeout,
        preexec_fn=_limit_file_size(file_size_limit) if file_size_limit else None,
    )  # fmt: skip
    reached = marker is not None and marker.exists()
    return Outcome(done.returncode, reached, done.stdout, done.stderr)


def _limit_file_size(limit: int) -> Callable[[], None]:
    def limit_file_size() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


def start_cli(
    arguments: list[str], *, env: dict[str, str], point: KillPoint, marker: Path, gate: Path
) -> subprocess.Popen[str]:
    """Start ``catalogue ARGUMENTS`` under ``point`` without waiting (for ``pause`` points)."""
    command = [sys.executable, "-m", "tests.hardening.killpoints", point.spec(), str(marker),
               str(gate), "--", *arguments]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 120) -> None:
    """Wait until ``path`` exists (the paused run reached its point)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the run ended ({process.returncode}) before its point:\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
        return moment.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return value


def dump_database(url: str) -> dict[str, Any]:
    """Every table of the database as it is on disk: columns, then rows sorted.

    Read by reflection, so a store at any revision (or half migrated) is dumped as it is.
    ``runs`` is a table like the others here; see :func:`split_runs`.
    """
    from sqlalchemy import MetaData, select
    from sqlalchemy.pool import NullPool

    from pipelines.load.db import make_engine

    engine = make_engine(url, poolclass=NullPool)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        dump: dict[str, Any] = {}
        with engine.connect() as connection:
            for name in sorted(metadata.tables):
                table = metadata.tables[name]
                columns = sorted(f"{c.name} {c.type} null={c.nullable}" for c in table.columns)
                rows = [
                    json.dumps({k: _plain(v) for k, v in row.items()}, sort_keys=True, default=str)
                    for row in connection.execute(select(table)).mappings()
                ]
                dump[name] = {"columns": columns, "rows": sorted(rows)}
        return dump
    finally:
        engine.dispose()


def split_runs(dump: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The dump without ``runs``, and the runs by id."""
    rest = {name: table for name, table in dump.items() if name != "runs"}
    rows = [json.loads(row) for row in dump.get("runs", {}).get("rows", [])]
    return rest, {row["id"]: row for row in rows}


#: A FAS code (or its action part) written inside a text: ``9-9``, ``19482-89393-143842``.
_FAS_IN_TEXT = re.compile(r"(?<![\d-])\d+-\d+(?:-\d+)?(?![\d-])")


def canonical(url: str, *, mask_codes: bool = False) -> dict[str, list[str]]:
    """The store with no ids and no times (:func:`~pipelines.load.inspect.canonical_store`).

    Args:
        url: the store.
        mask_codes: also hide the FAS codes the issues' texts quote (``action_issues``). On
            PostgreSQL a transaction rolled back (or killed) still consumes its sequences, so
            the ids a rerun gives differ from an undisturbed run's, and so do those texts.
    """
    from sqlalchemy.pool import NullPool

    from pipelines.load.db import make_engine, open_session
    from pipelines.load.inspect import canonical_store

    engine = make_engine(url, poolclass=NullPool)
    try:
        with open_session(engine) as db:
            found = canonical_store(db)
    finally:
        engine.dispose()
    if mask_codes:
        found["action_issues"] = sorted(
            _FAS_IN_TEXT.sub("<fas>", row) for row in found.get("action_issues", [])
        )
    return found


def tree_checksums(folder: Path) -> dict[str, str]:
    """``relative path -> SHA-256`` of every file under ``folder`` (links followed at the top)."""
    result = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            result[path.relative_to(folder).as_posix()] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return result


def release_state(output_dir: Path) -> dict[str, Any]:
    """Where ``current`` points (the link's text) and the checksum of every file it shows."""
    current = output_dir / "current"
    if not current.is_symlink():
        return {"target": None, "files": {}}
    return {"target": os.readlink(current), "files": tree_checksums(current.resolve())}


#: Files of a release that depend on the run, not only on the store and the day.
RUN_DEPENDENT = ("manifest.json", "rapport/")


def feed_digest(release: Path) -> dict[str, str]:
    """The checksums of a release's feeds, without what names the run (manifest, reports)."""
    return {
        path: digest
        for path, digest in tree_checksums(release).items()
        if not path.startswith(RUN_DEPENDENT)
    }


if __name__ == "__main__":
    main(sys.argv[1:])
