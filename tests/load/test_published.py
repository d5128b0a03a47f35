"""The published offer: only validated actions, streamed in FAS-code order, with what feeds need."""

from __future__ import annotations

from sqlalchemy import Engine

from pipelines.load.db import open_session
from pipelines.load.published import iter_published


def test_only_validated_actions_in_fas_order_with_their_sessions(published: Engine) -> None:
    with open_session(published) as db:
        bundles = list(iter_published(db, batch=7))  # several batches
    assert len(bundles) == 46
    keys = [(b.formation["id"], b.action["id"]) for b in bundles]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert {b.action["etat"] for b in bundles} == {"validee"}
    assert all(b.sessions and b.programme_row for b in bundles)
    for bundle in bundles:
        responsables = {s.fields["organisme_responsable_siret"] for s in bundle.sessions}
        assert responsables <= set(bundle.organismes) and bundle.siret in bundle.organismes
