"""The run's quota estimate: the requests each stream's writes will make, planned from the sync state (in
SQLite through the common-sql hook) before anything is written, as prepare will plan them."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from airflow.sdk import BaseHook

from hubspot_commerce.sync.diff import resolve_references, row_hashes
from hubspot_commerce.sync.id_index import IdIndex
from hubspot_commerce.sync.mapping import KEY, PropertyRule, Reference, StreamMapping
from hubspot_commerce.sync.state import StateRow, SyncState
from hubspot_commerce.sync.tasks.plan_quota_task import stream_estimate

ORDERS = StreamMapping(
    name="orders",
    object_type="orders",
    sql="orders",
    key="{order_id}",
    properties=(PropertyRule("hs_order_name", column="n"),),
    references=(Reference("contact", "contacts", "{customer_id}", association=507, optional=True),),
)
DEFS = [{"name": "hs_order_name", "type": "string"}]
ROWS = 1000


@pytest.fixture
def state(tmp_path, monkeypatch: pytest.MonkeyPatch) -> SyncState:
    connection = {"conn_type": "sqlite", "host": str(tmp_path / "state.sqlite")}
    monkeypatch.setenv("AIRFLOW_CONN_STATE_DB", json.dumps(connection))
    state = SyncState(lambda: BaseHook.get_connection("state_db").get_hook())
    state.ensure_table()
    return state


def _accepted() -> pd.DataFrame:
    keys = [str(n) for n in range(ROWS)]
    return pd.DataFrame(
        {
            KEY: keys,
            "hs_order_name": [f"SO-{k}" for k in keys],
            "ref:contact": [f"c{int(k) % 10}" for k in keys],
        },
        dtype="string",
    )


def _record(state: SyncState, accepted: pd.DataFrame, contact_ids: dict[str, str]) -> None:
    """The state after a run that wrote ``accepted`` with its contacts at ``contact_ids``."""
    state.save(
        StateRow("contacts", key, hubspot_id, "h", "created", None, "t")
        for key, hubspot_id in contact_ids.items()
    )
    frame, _ = resolve_references(
        ORDERS, accepted, {"contacts": IdIndex.from_pairs(contact_ids.items())}, strict=False
    )
    hashes = row_hashes(ORDERS, frame, DEFS)
    state.save(
        StateRow("orders", key, str(5000 + n), row_hash, "created", None, "t")
        for n, (key, row_hash) in enumerate(zip(frame[KEY], hashes, strict=True))
    )


def _estimate(state: SyncState, accepted: pd.DataFrame, reconcile: bool = False) -> int:
    return stream_estimate(ORDERS, accepted, DEFS, state, "airflow_source_key", reconcile)


def test_a_first_load_creates_every_row_and_an_unchanged_rerun_needs_nothing(state: SyncState) -> None:
    accepted = _accepted()
    assert _estimate(state, accepted) == 10, "1,000 creates: 10 batches"
    _record(state, accepted, {f"c{n}": str(900 + n) for n in range(10)})
    assert _estimate(state, accepted) == 0
    assert _estimate(state, accepted, reconcile=True) == 10, "a reconcile run reads every row back"


def test_changed_values_new_rows_and_moved_links_are_counted_as_prepare_will_write_them(state) -> None:
    accepted = _accepted()
    _record(state, accepted, {f"c{n}": str(900 + n) for n in range(10)})
    accepted.loc[:149, "hs_order_name"] = "renamed"  # 150 updates: 2 batches
    extra = pd.DataFrame({KEY: ["new-1"], "hs_order_name": ["SO-new"], "ref:contact": ["c1"]}, dtype="string")
    accepted = pd.concat([accepted, extra], ignore_index=True)  # 1 create
    assert _estimate(state, accepted) == 2 + 1

    accepted.loc[900:, "ref:contact"] = "c-unknown"  # a contact the state has not seen: the link may move
    assert _estimate(state, accepted) == 2 + 1 + 1 + 1, "100 more updates, and their links (one batch)"
