"""The archive keeps each delivery as received, by SHA-256, never by its name."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from pipelines.extract.source import DeliveryInfo, sha256_file
from pipelines.load import archive as archive_module
from pipelines.load.archive import archive_delivery


def workbook(path: Path, content: bytes, name: str | None = None) -> DeliveryInfo:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return DeliveryInfo(
        path=path,
        file_name=name or path.name,
        kind="xlsx",
        sha256=sha256_file(path),
        size_bytes=len(content),
        name_year=2025,
        delivery_date=dt.date(2025, 1, 15),
    )


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_workbook_is_archived_by_its_digest(tmp_path: Path) -> None:
    info = workbook(tmp_path / "in" / "prf_2025_20250115.xlsx", b"PK\x03\x04 workbook")

    relative = archive_delivery(info, tmp_path / "archive")

    sha = info.sha256
    assert relative == Path(sha[:2]) / sha
    assert files_under(tmp_path / "archive") == [
        f"{sha[:2]}/{sha}/delivery.xlsx",
        f"{sha[:2]}/{sha}/manifest.json",
    ]
    folder = tmp_path / "archive" / relative
    assert (folder / "delivery.xlsx").read_bytes() == b"PK\x03\x04 workbook"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["file_name"] == "prf_2025_20250115.xlsx"
    assert manifest["sha256"] == sha
    assert manifest["files"] == {"delivery.xlsx": {"sha256": sha, "size_bytes": 13}}


def test_archiving_twice_does_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = workbook(tmp_path / "in" / "prf_2025_20250115.xlsm", b"macro workbook")
    first = archive_delivery(info, tmp_path / "archive")

    def no_copy(*args: object) -> None:
        raise AssertionError("already archived: nothing to copy")

    monkeypatch.setattr(archive_module, "atomic_copy", no_copy)
    assert archive_delivery(info, tmp_path / "archive") == first
    assert (tmp_path / "archive" / first / "delivery.xlsm").is_file()


def test_an_unfinished_archive_is_written_again(tmp_path: Path) -> None:
    info = workbook(tmp_path / "in" / "prf_2025_20250115.xlsx", b"content")
    folder = tmp_path / "archive" / info.sha256[:2] / info.sha256
    folder.mkdir(parents=True)
    (folder / "delivery.xlsx").write_bytes(b"cont")  # killed half-way: no manifest

    archive_delivery(info, tmp_path / "archive")

    assert (folder / "delivery.xlsx").read_bytes() == b"content"
    assert (folder / "manifest.json").is_file()


def test_a_hostile_name_is_never_used_as_a_path(tmp_path: Path) -> None:
    hostile = "../../etc/passwd.xlsx"
    info = workbook(tmp_path / "in" / "upload.bin", b"payload", name=hostile)
    root = tmp_path / "out" / "archive"

    relative = archive_delivery(info, root)

    assert files_under(tmp_path / "out") == [
        f"archive/{relative}/delivery.xlsx",
        f"archive/{relative}/manifest.json",
    ]
    assert files_under(tmp_path / "in") == ["upload.bin"]
    assert not (tmp_path / "etc").exists()
    manifest = json.loads((root / relative / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["file_name"] == hostile  # kept as data only


def test_a_csv_folder_keeps_only_the_four_sheets_under_canonical_names(tmp_path: Path) -> None:
    folder = tmp_path / "prf_2025_20250115"
    folder.mkdir()
    for name in ("Programmes.CSV", "lots.csv", "organismes.csv", "ACTIONS.csv"):
        (folder / name).write_text(f"{name};x\n", encoding="utf-8")
    (folder / "notes.txt").write_text("ignored", encoding="utf-8")
    (folder / "lots.csv.bak").write_text("ignored", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "lots.csv").write_text("ignored", encoding="utf-8")
    info = DeliveryInfo(folder, folder.name, "csv", "c" * 64, 4, 2025, dt.date(2025, 1, 15))

    relative = archive_delivery(info, tmp_path / "archive")

    stored = tmp_path / "archive" / relative
    assert sorted(p.name for p in stored.iterdir()) == [
        "actions.csv", "lots.csv", "manifest.json", "organismes.csv", "programmes.csv",
    ]  # fmt: skip
    assert (stored / "programmes.csv").read_text(encoding="utf-8") == "Programmes.CSV;x\n"
    manifest = json.loads((stored / "manifest.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(b"ACTIONS.csv;x\n").hexdigest()
    assert manifest["files"]["actions.csv"] == {"sha256": digest, "size_bytes": 14}


def test_two_files_with_the_same_name_but_case_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "prf_2025_20250115"
    folder.mkdir()
    (folder / "lots.csv").write_text("a", encoding="utf-8")
    (folder / "LOTS.csv").write_text("b", encoding="utf-8")
    info = DeliveryInfo(folder, folder.name, "csv", "d" * 64, 2, 2025, None)

    with pytest.raises(ValueError, match="two files"):
        archive_delivery(info, tmp_path / "archive")


def test_a_workbook_changed_since_it_was_read_is_refused(tmp_path: Path) -> None:
    info = workbook(tmp_path / "in" / "prf_2025_20250115.xlsx", b"as read")
    info.path.write_bytes(b"changed meanwhile")

    with pytest.raises(ValueError, match="changed"):
        archive_delivery(info, tmp_path / "archive")
    assert not (tmp_path / "archive" / info.sha256[:2] / info.sha256 / "manifest.json").exists()


def test_atomic_files_get_ordinary_permissions(tmp_path: Path) -> None:
    import os
    import stat

    from pipelines.load.files import atomic_write_bytes

    mask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "flux.txt", b"x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "flux.txt").stat().st_mode) == 0o644  # readable by a web server
