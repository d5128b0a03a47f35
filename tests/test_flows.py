"""The Prefect flow, end to end on a temporary Prefect server (the one slow test)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipelines.settings import get_settings


@pytest.mark.flow
def test_ingest_flow_end_to_end(
    prefect_harness: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sample: Callable[[str], Path],
) -> None:
    from pipelines import flows

    monkeypatch.setenv("CATALOGUE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CATALOGUE_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    get_settings.cache_clear()
    try:
        first = flows.ingest_extraction(str(sample("messy/prf_2025_20250210.xlsx")))
        assert (first["status"], first["exit_code"]) == ("integree", 1)
        assert first["counts"]["actions"]["rejected"] > 0
        assert Path(first["quarantine"]).is_file()
        again = flows.ingest_extraction(str(sample("messy/prf_2025_20250210.xlsx")))
        assert (again["status"], again["exit_code"]) == ("deja-integree", 0)
        refused = flows.ingest_extraction(str(tmp_path / "absent.xlsx"))
        assert refused["status"] == "refusee" and refused["exit_code"] == 2
    finally:
        get_settings.cache_clear()


@pytest.mark.flow
def test_ingest_deliveries_flow_orders_extraction_before_entries(
    prefect_harness: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelines import flows
    from pipelines.dispatch import order_deliveries
    from tests.entries import minimal_entries, write_entries
    from tests.workbooks import minimal_sheets, write_workbook

    monkeypatch.setenv("CATALOGUE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CATALOGUE_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    get_settings.cache_clear()
    try:
        entries = write_entries(tmp_path / "in", minimal_entries())
        extraction = write_workbook(tmp_path / "in" / "prf_2025_20250115.xlsx", minimal_sheets())
        ordered = order_deliveries([entries, extraction])
        assert ordered == [extraction, entries]
        documents = flows.ingest_deliveries([str(p) for p in ordered])
        assert [d["status"] for d in documents] == ["integree", "integree"]
        assert documents[1]["load"]["etats"]["en_attente_validation"] == 3
    finally:
        get_settings.cache_clear()


def test_retry_only_on_io_errors() -> None:
    from prefect.states import Completed, Failed

    from pipelines import flows

    def failed(exc: BaseException) -> object:
        return Failed(data=exc)

    assert flows.retry_on_io_error(None, None, failed(OSError("disque")))  # type: ignore[arg-type]
    assert not flows.retry_on_io_error(None, None, failed(ValueError("règle")))  # type: ignore[arg-type]
    assert not flows.retry_on_io_error(None, None, Completed())  # type: ignore[arg-type]


@pytest.mark.flow
def test_nightly_flow_ingests_the_inbox_and_publishes(
    prefect_harness: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelines import flows
    from tests.entries import minimal_entries, write_entries
    from tests.workbooks import minimal_sheets, write_workbook

    inbox = tmp_path / "inbox"
    write_entries(inbox, minimal_entries())
    write_workbook(inbox / "prf_2025_20250115.xlsx", minimal_sheets())
    monkeypatch.setenv("CATALOGUE_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CATALOGUE_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("CATALOGUE_AUTO_APPROVE", "true")
    # the disk fails once while the extraction is read: the task is tried again, not the run
    calls: list[str] = []
    real = flows.ingest_one

    def flaky(path: Path, *args: Any) -> dict[str, Any]:
        calls.append(path.name)
        if calls.count(path.name) == 1 and path.name.startswith("prf_"):
            raise OSError("disque indisponible")
        return real(path, *args)

    monkeypatch.setattr(flows, "ingest_one", flaky)
    retried = flows.ingest_one_task.with_options(retry_delay_seconds=0)
    monkeypatch.setattr(flows, "ingest_one_task", retried)
    get_settings.cache_clear()
    try:
        document = flows.nightly(str(inbox))
        assert (document["state"], document["exit_code"]) == ("succeeded", 0)
        assert document["counts"]["ingested"] == 2 and document["counts"]["actions_approved"] == 3
        assert (tmp_path / "out" / "current" / "offre-info" / "lheo.xml").is_file()
        assert calls == ["prf_2025_20250115.xlsx", "prf_2025_20250115.xlsx",
                         "saisie_13000511900032_20250301.xlsx"]  # fmt: skip
    finally:
        get_settings.cache_clear()
