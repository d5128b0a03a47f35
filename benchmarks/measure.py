"""Measuring one thing in a fresh process: its time, its peak memory, the median of its runs.

Every measurement of the benchmark runs in a child process started for it alone, so the
parent's memory never counts and one stage's leftovers never slow the next. The child times
the work itself (imports and set-up excluded) and writes it, with its peak resident memory,
to a JSON file. The peak is the child's own ``VmHWM`` (its memory after ``exec``) or that of
the processes it waited for, whichever is larger. ``wait4``'s ``ru_maxrss`` is only the
fallback for a child that reports nothing: the kernel counts in it the image the child had
before ``exec``, a copy of the parent (``vfork``/``fork``), so a small child of a large parent
would look as large as its parent. :func:`main` wraps any command that way
(``python -m benchmarks.measure -- CMD…``).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIB = 2**20


class ChildFailed(RuntimeError):
    """A measured child exited with an error (its exit code and the end of its stderr)."""


@dataclass(frozen=True)
class ChildRun:
    """One run of a child process.

    Attributes:
        seconds: the time of the work, as the child measured it (imports excluded).
        wall: the child's whole life, seen from the parent (interpreter start included).
        peak_rss: the child's peak resident memory, in bytes (as it reported it, else
            ``wait4``'s ``ru_maxrss``).
        result: what the child wrote in its result file (``seconds`` and its own details).
    """

    seconds: float
    wall: float
    peak_rss: int
    result: dict[str, Any]


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    log: Path | None = None,
) -> ChildRun:
    """Run ``argv`` with ``BENCH_RESULT`` naming a result file; return its time and memory.

    The child writes ``{"seconds": …, …}`` into the file named by the environment variable
    ``BENCH_RESULT``; without it, ``seconds`` is the wall time seen from here.

    Raises:
        ChildFailed: the child exited with a non-zero code, or outlived ``timeout``.
    """
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        result_path = Path(tmp) / "result.json"
        child_env = {**os.environ, **(env or {}), "BENCH_RESULT": str(result_path)}
        err_path = log or Path(tmp) / "stderr.log"
        with err_path.open("ab") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(
                list(argv), env=child_env, cwd=cwd, stdout=err, stderr=err, start_new_session=True
            )
            timer = _killer(proc.pid, timeout)
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            except BaseException:  # interrupted (Ctrl-C): the child must not outlive us
                os.killpg(proc.pid, signal.SIGKILL)
                os.waitpid(proc.pid, 0)
                raise
            finally:
                if timer:
                    timer.cancel()
            wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            tail = err_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise ChildFailed(f"{' '.join(argv[:4])}… exited {proc.returncode}:\n{tail}")
        result = json.loads(result_path.read_text()) if result_path.exists() else {}
    seconds = float(result.get("seconds", wall))
    peak = int(result.get("peak_rss") or usage.ru_maxrss * 1024)
    return ChildRun(seconds, wall, peak, result)


def _killer(pid: int, timeout: float | None) -> threading.Timer | None:
    """A timer that kills the child's process group after ``timeout`` seconds."""
    if not timeout:
        return None

    def kill() -> None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    return timer


def write_result(result: Mapping[str, Any]) -> None:
    """In a child: write the result file the parent reads (``BENCH_RESULT``), if any."""
    target = os.environ.get("BENCH_RESULT")
    if target:
        Path(target).write_text(json.dumps(dict(result), default=str), encoding="utf-8")


def peak_rss() -> int:
    """The peak resident memory of this process or of one it waited for, in bytes."""
    import resource

    return max(peak_rss_self(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)


def peak_rss_self() -> int:
    """This process's peak resident memory so far, in bytes (``VmHWM`` of /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class Measurement:
    """Every run of one measurement: a stage (ours, its floor or the naive way) on one backend.

    Attributes:
        size: sessions of the generated year.
        stage: the stage's name (see ``benchmarks.stages.STAGES``).
        backend: ``sqlite``, ``postgresql`` or ``-`` (no store involved).
        variant: ``ours``, ``floor`` or ``naive``.
        seconds: the time of each run.
        peak_rss: the peak memory of each run, in bytes.
        items: how many records the stage handles (for the throughput).
        unit: what ``items`` counts (``sessions``, ``actions``…).
        note: how it was obtained, when not measured directly (a floor added up from parts).
    """

    size: int
    stage: str
    backend: str
    variant: str
    seconds: list[float] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)
    items: int = 0
    unit: str = ""
    note: str = ""

    @property
    def median_seconds(self) -> float:
        """The median time of the runs."""
        return median(self.seconds)

    @property
    def median_rss(self) -> int:
        """The median peak memory of the runs, in bytes."""
        return int(median([float(v) for v in self.peak_rss])) if self.peak_rss else 0

    @property
    def throughput(self) -> float:
        """Records per second at the median time."""
        seconds = self.median_seconds
        return self.items / seconds if seconds > 0 else 0.0

    def add(self, run: ChildRun) -> None:
        """Record one run."""
        self.seconds.append(run.seconds)
        self.peak_rss.append(run.peak_rss)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the raw runs, for ``results.json``)."""
        return {
            "size": self.size, "stage": self.stage, "backend": self.backend,
            "variant": self.variant, "seconds": self.seconds, "peak_rss": self.peak_rss,
            "items": self.items, "unit": self.unit, "note": self.note,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        """The inverse of :meth:`as_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def median(values: Sequence[float]) -> float:
    """The median (the mean of the two middle values for an even count).

    Raises:
        ValueError: no value.
    """
    if not values:
        raise ValueError("no value to take the median of")
    return float(statistics.median(values))


def python() -> str:
    """The interpreter the children run with (this one)."""
    return sys.executable


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.measure -- CMD…``: run CMD, report its time and peak memory.

    A small wrapper, so that the memory measured is CMD's (and its children's), not a copy of
    a large parent. Returns CMD's exit code.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[1:] if args[:1] == ["--"] else args
    started = time.perf_counter()
    code = subprocess.call(command)
    write_result({"seconds": time.perf_counter() - started, "peak_rss": peak_rss()})
    return code


if __name__ == "__main__":
    sys.exit(main())
