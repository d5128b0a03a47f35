"""The frame index an entry file is checked against: read for the file's scope only, it gives
every lookup the file makes the same answer as the whole index (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from pipelines.extract.entries import describe_entry, parse_entry_name
from pipelines.ingest import Limits
from pipelines.ingest_entries import read_entries
from pipelines.load.db import open_session
from pipelines.load.frame_index import read_frame_index
from pipelines.transform.entries import entry_scope, validate_entries

LIMITS = Limits(200 * 2**20, 2**30)


def _entry_files(samples: Path) -> list[Path]:
    return sorted((samples / "saisies").glob("saisie_*.xlsx")) + sorted(
        (samples / "saisies" / "lheo").glob("saisie_*.xml")
    )


def test_a_scoped_index_answers_an_entry_file_as_the_whole_index(
    published: Engine, sample: Callable[[str], Path]
) -> None:
    samples = sample("saisies").parent
    files = _entry_files(samples)
    assert len(files) >= 5
    with open_session(published) as db:
        whole = read_frame_index(db)
        for path in files:
            organisation, _ = parse_entry_name(path.name)
            assert organisation is not None
            raw = read_entries(describe_entry(path, LIMITS.max_bytes), LIMITS)
            scope = entry_scope(raw, organisation)
            scoped = read_frame_index(db, scope)
            # smaller than the store: another organisation's records are not read
            assert len(scoped.stored["sessions"]) < len(whole.stored["sessions"])
            # every key it holds says what the whole index says
            for table, records in scoped.stored.items():
                for key in records:
                    assert scoped.region_actions_of(table, key) == whole.region_actions_of(
                        table, key
                    )
            for id_cr in scope.id_actions_cr & set(whole.actions):
                assert scoped.actions[id_cr] == whole.actions[id_cr]
                region_id = whole.actions[id_cr].id
                assert scoped.described.get(region_id) == whole.described.get(region_id)
            # and the checks of the file come out the same
            by_scope = validate_entries(raw, scoped, organisation)
            by_whole = validate_entries(raw, whole, organisation)
            assert by_scope.report.as_dict() == by_whole.report.as_dict()
            assert by_scope.flags == by_whole.flags
            assert by_scope.years == by_whole.years
            assert by_scope.rejected_keys == by_whole.rejected_keys
            for name, frame in by_whole.frames.items():
                assert by_scope.frames[name].equals(frame), (path.name, name)
