"""The benchmark harness: medians, memory measured in a child, the report, the threshold check.

The checker is fed made-up measurements (it is what is tested, not the pipeline); one test runs
the real harness end to end at a tiny size on SQLite.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench import (
    ROOT,
    TARGETS,
    Options,
    Store,
    _with_prerequisites,
    check_targets,
    main,
    options_from,
    render,
)
from benchmarks.measure import MIB, ChildFailed, Measurement, median, run_child


def fake(size: int, stage: str, backend: str, variant: str, seconds: list[float],
         rss_mib: float = 100) -> Measurement:  # fmt: skip
    """A made-up measurement."""
    return Measurement(size, stage, backend, variant, seconds=seconds,
                       peak_rss=[int(rss_mib * MIB)] * len(seconds), items=size,
                       unit="sessions")  # fmt: skip


def verdict(measurements: list[Measurement], key: str, factor: float = 4.0):  # noqa: ANN201
    """The verdict of one target."""
    return next(v for v in check_targets(measurements, factor) if v.target.key == key)


def test_the_median_of_odd_and_even_runs() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    m = fake(10, "approve", "sqlite", "ours", [5.0, 1.0, 9.0])
    m.peak_rss = [300 * MIB, 100 * MIB, 200 * MIB]
    assert m.median_seconds == 5.0
    assert m.median_rss == 200 * MIB
    assert m.throughput == pytest.approx(10 / 5.0)
    with pytest.raises(ValueError):
        median([])


def test_peak_memory_is_the_child_s_own(tmp_path: Path) -> None:
    report = "from benchmarks.measure import peak_rss, write_result\n"
    big = (
        "block = bytearray(300 * 2**20)\n"
        "for i in range(0, len(block), 4096): block[i] = 1\n"
        f"{report}write_result({{'seconds': 1.25, 'peak_rss': peak_rss()}})\n"
    )
    run = run_child([sys.executable, "-c", big], cwd=ROOT)
    assert run.peak_rss >= 300 * MIB  # the child's 300 MiB, seen from the parent
    assert run.seconds == 1.25  # the child's own timing wins over the wall time
    assert run.wall > 0
    ballast = bytearray(200 * 2**20)  # a large parent: a copy of it must not count
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    small = run_child([sys.executable, "-c", f"{report}write_result({{'peak_rss': peak_rss()}})"],
                      cwd=ROOT)  # fmt: skip
    assert small.peak_rss < 100 * MIB  # the child alone, not the largest so far
    assert small.seconds == small.wall  # no time reported: the wall time
    wrapped = run_child([sys.executable, "-m", "benchmarks.measure", "--", sys.executable, "-c",
                         big.split(report)[0]], cwd=ROOT)  # fmt: skip
    assert wrapped.peak_rss >= 300 * MIB  # a wrapped command: its own peak, through the wrapper
    raw = run_child([sys.executable, "-c", "pass"])
    assert raw.peak_rss >= 200 * MIB  # wait4's figure counts the parent's copy: the fallback
    del ballast


def test_a_failing_child_is_an_error_with_its_stderr() -> None:
    with pytest.raises(ChildFailed, match="boom"):
        run_child([sys.executable, "-c", "raise SystemExit('boom')"])


def test_a_ratio_past_the_quick_threshold_fails_and_one_within_passes() -> None:
    within = [fake(10_000, "publish_all", "sqlite", "ours", [6.0]),
              fake(10_000, "publish", "-", "floor", [2.0])]  # fmt: skip
    v = verdict(within, "publish")
    assert v.value == pytest.approx(3.0)
    assert v.state == "missed" and v.quick_ok  # 3× > 1.5× target, < 32× regression guard
    past = [fake(10_000, "publish_all", "sqlite", "ours", [70.0]),
            fake(10_000, "publish", "-", "floor", [2.0])]  # fmt: skip
    v = verdict(past, "publish")
    assert v.value == pytest.approx(35.0) and not v.quick_ok  # past the guard (32×)
    ingest = [fake(10_000, "ingest_extraction", "sqlite", "ours", [26.0]),
              fake(10_000, "ingest_extraction", "sqlite", "floor", [2.0])]  # fmt: skip
    assert not verdict(ingest, "ingest").quick_ok  # no guard: 4× the 3× target
    met = [fake(10_000, "publish_all", "sqlite", "ours", [2.8]),
           fake(10_000, "publish", "-", "floor", [2.0])]  # fmt: skip
    assert verdict(met, "publish").state == "met"


def test_the_worst_backend_decides_and_the_largest_size_counts() -> None:
    ms = [fake(500, "ingest_extraction", "sqlite", "ours", [2.0]),
          fake(500, "ingest_extraction", "sqlite", "floor", [1.0]),
          fake(500, "ingest_extraction", "postgresql", "ours", [5.0]),
          fake(500, "ingest_extraction", "postgresql", "floor", [1.0]),
          fake(100, "ingest_extraction", "sqlite", "ours", [100.0]),
          fake(100, "ingest_extraction", "sqlite", "floor", [1.0])]  # fmt: skip
    v = verdict(ms, "ingest")
    assert v.value == pytest.approx(5.0) and "postgresql" in v.where and v.state == "missed"


def test_at_least_targets_fail_below_the_divided_threshold() -> None:
    ours = fake(100_000, "nightly_full", "sqlite", "ours", [10.0], rss_mib=200)
    slow = fake(100_000, "nightly_full", "sqlite", "naive", [30.0], rss_mib=400)
    v = verdict([ours, slow], "naive_time")
    assert v.value == pytest.approx(3.0) and v.state == "missed" and v.quick_ok  # ≥ 5/4
    worse = fake(100_000, "nightly_full", "sqlite", "naive", [11.0], rss_mib=400)
    assert not verdict([ours, worse], "naive_time").quick_ok
    assert verdict([ours, worse], "naive_memory").value == pytest.approx(2.0)


def test_the_idle_nightly_is_a_share_of_the_full_one() -> None:
    ms = [fake(500, "nightly_full", "sqlite", "ours", [100.0]),
          fake(500, "nightly_idle", "sqlite", "ours", [4.0])]  # fmt: skip
    v = verdict(ms, "idle")
    assert v.value == pytest.approx(4.0) and v.state == "met"
    ms[1] = fake(500, "nightly_idle", "sqlite", "ours", [25.0])
    assert not verdict(ms, "idle").quick_ok  # 25 % > 4 × 5 %
    chain = [
        fake(500, name, "sqlite", "ours", [25.0])
        for name in ("ingest_extraction", "merge_entries", "approve", "publish_all")
    ]
    v = verdict([ms[1], *chain], "idle")  # no full nightly: the sum of the stages it chains
    assert v.value == pytest.approx(25.0) and "sum of the stages" in v.where


def test_the_backfill_speedup_is_taken_at_the_largest_years_measured() -> None:
    ms = [fake(5_000, "backfill_1", "postgresql", "ours", [110.0]),
          fake(5_000, "backfill_2", "postgresql", "ours", [100.0]),
          fake(20_000, "backfill_1", "postgresql", "ours", [360.0]),
          fake(20_000, "backfill_2", "postgresql", "ours", [200.0]),
          fake(50_000, "backfill_2", "postgresql", "ours", [900.0])]  # fmt: skip
    v = verdict(ms, "backfill")  # 50 000 lacks its 1-worker run: 20 000 counts
    assert v.value == pytest.approx(1.8) and "20 000" in v.where and v.state == "met"


def test_a_target_without_its_figures_is_not_measured() -> None:
    verdicts = check_targets([fake(10, "approve", "sqlite", "ours", [1.0])])
    assert len(verdicts) == len(TARGETS)
    assert {v.state for v in verdicts} == {"not measured"}
    assert all(v.quick_ok for v in verdicts)


def test_the_report_is_ordered_whatever_the_order_of_measurement(tmp_path: Path) -> None:
    ms = [fake(s, st, b, "ours", [1.0 + i]) for i, (s, st, b) in enumerate([
        (100, "approve", "postgresql"), (100, "approve", "sqlite"), (10, "publish_all", "sqlite"),
        (10, "ingest_extraction", "sqlite"), (100, "read_validate", "-")])]  # fmt: skip
    ms.append(fake(10, "publish", "-", "floor", [0.5]))
    options = Options(sizes=(10, 100), runs=1, out=tmp_path / "R.md")
    texts = set()
    for _ in range(3):
        random.shuffle(ms)
        texts.add(render(ms, check_targets(ms), options=options, header=["- h"], elapsed=1.0))
    assert len(texts) == 1
    text = texts.pop()
    assert text.index("## N = 10 sessions") < text.index("## N = 100 sessions")
    assert text.index("| ingest extraction") < text.index("| publish (all feeds)")
    assert "| publish (all feeds) | sqlite | 3.000 |" in text and "| 6.00× |" in text


def test_the_prerequisites_of_a_stage_are_run() -> None:
    assert _with_prerequisites({"approve"}) == {"ingest_extraction", "merge_entries", "approve"}
    assert _with_prerequisites({"read_validate"}) == {"read_validate"}
    assert "publish_all" in _with_prerequisites({"nightly_idle"})


def test_quick_options_write_elsewhere_and_check_sqlite_at_10k() -> None:
    options = options_from(["--quick"])
    assert options.sizes == (10_000,) and options.backends == ("sqlite",)
    assert "nightly_full" not in options.stages and options.runs == 1
    assert options.out.name == "RESULTS-quick.md" and "var" in options.out.parts
    assert options_from([]).out.name == "RESULTS.md"
    with pytest.raises(SystemExit):
        options_from(["--stages", "nope"])


def test_sqlite_stores_are_cloned_kept_and_dropped(tmp_path: Path) -> None:
    store = Store("sqlite", tmp_path / "s", "t")
    store.new("empty")
    (store.folder("empty") / "catalogue.db").write_text("x")
    run = store.clone("empty")
    assert (store.folder(run) / "catalogue.db").read_text() == "x"
    store.keep(run, "extracted")
    assert store.folder("extracted").exists() and not store.folder(run).exists()
    assert store.url("extracted").endswith("/s/extracted/catalogue.db")
    store.close()
    assert not (tmp_path / "s").exists()


def test_the_harness_writes_the_table_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    code = main(["--sizes", "200", "--runs", "1", "--backends", "sqlite", "--stages",
                 "ingest_extraction", "--work", str(tmp_path / "w"),
                 "--out", str(out), "--naive-max", "0", "--backfill-sessions", "0"])  # fmt: skip
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert "## N = 200 sessions" in text
    row = next(line for line in text.splitlines() if line.startswith("| ingest extraction"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "sqlite" and float(cells[2]) > 0 and cells[4].endswith("MiB")
    assert cells[5].endswith("×")  # ratio to the floor, measured in the same run
    assert "| ingest extraction ≤ 3× floor" in text
    assert (tmp_path / "RESULTS.json").exists()
    assert (tmp_path / "w" / "200-42" / "generation.json").exists()  # the cached inputs
    assert not (tmp_path / "w" / "work" / "200-sqlite").exists()  # stores removed


def test_postgresql_stores_are_cloned_from_templates_and_dropped(
    postgres_database: Any, tmp_path: Path
) -> None:
    import uuid

    import psycopg

    admin = postgres_database.render_as_string(hide_password=False)
    store = Store("postgresql", tmp_path / "pg", uuid.uuid4().hex[:8], admin)

    def connect(url: str) -> psycopg.Connection:
        return psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)

    try:
        store.new("empty")
        with connect(store.url("empty")) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (42)")
        run = store.clone("empty")
        with connect(store.url(run)) as conn:
            conn.execute("INSERT INTO t VALUES (43)")
        store.keep(run, "extracted")
        with connect(store.url("extracted")) as conn:
            assert [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")] == [42, 43]
        with connect(store.url("empty")) as conn:  # the template is untouched
            assert [r[0] for r in conn.execute("SELECT x FROM t")] == [42]
    finally:
        store.close()
    with connect(admin) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"bench_{store.tag}_%",)
        ).fetchall()
    assert left == []


def test_a_report_is_rendered_again_from_its_raw_runs(tmp_path: Path) -> None:
    import json

    out = tmp_path / "R.md"
    ms = [fake(10_000, "merge_entries", "sqlite", "ours", [30.0, 10.0, 20.0]),
          fake(10_000, "merge_entries", "sqlite", "floor", [5.0])]  # fmt: skip
    out.with_suffix(".json").write_text(json.dumps({"measurements": [m.as_dict() for m in ms]}))
    assert main(["--render-only", "--out", str(out), "--note", "une note"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "| merge entries | sqlite | 20.0 |" in text and "| 4.00× |" in text
    assert "- une note" in text and "Re-rendered from the raw runs" in text
    assert "| merge entries ≤ 3× floor (read + bulk load) | 4.00× |" in text
