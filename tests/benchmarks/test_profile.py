"""``python -m benchmarks.profile``: the stores built once, each stage profiled on a copy."""

from __future__ import annotations

from pathlib import Path

from benchmarks.profile import main


def test_each_stage_is_profiled_from_its_store_and_the_stores_are_kept(tmp_path: Path) -> None:
    work, out = tmp_path / "w", tmp_path / "profiles"
    assert main(["approve", "publish_lheo", "--sessions", "200", "--work", str(work),
                 "--out", str(out)]) == 0  # fmt: skip
    approve = (out / "approve-200.txt").read_text(encoding="utf-8")
    publish = (out / "publish_lheo-200.txt").read_text(encoding="utf-8")
    assert "pipelines/journal.py" in approve and "approve" in approve
    assert "lheo_feed.py" in publish and "write_lheo" in publish
    kept = work / "profile" / "200"
    assert sorted(p.name for p in kept.iterdir()) == ["approved", "entered", "extracted"]
    marker = kept / "entered" / "marker"
    marker.write_text("kept")
    assert main(["approve", "--sessions", "200", "--work", str(work), "--out", str(out)]) == 0
    assert marker.read_text() == "kept"  # the store reused, not built again
