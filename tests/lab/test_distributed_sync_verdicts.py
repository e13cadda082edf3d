"""What the lab reads back of the sync's own decisions: rejected rows from the sync state, refused runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from hubspot_commerce_lab.distributed.sync_verdicts import recorded_rejections, refusal_in, refused_runs

REFUSAL_LINE = (
    "2026-12-06T03:00:00Z error Task failed with exception {...}\n"
    "    SourceRowsRejected: payments: 2 of 82 rows were rejected before sending (allowed fraction 0.01), so "
    "none of payments is written. Reasons per row: s3://b/x/payments/rejected-validate.jsonl"
)


def test_rejections_are_the_rows_whose_last_outcome_is_rejected(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    db = sqlite3.connect(store)
    db.execute(
        "CREATE TABLE hubspot_sync_state (stream TEXT, source_key TEXT, hubspot_id TEXT, row_hash TEXT, "
        "outcome TEXT, reason TEXT, synced_at TEXT)"
    )
    db.executemany(
        "INSERT INTO hubspot_sync_state VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                "payments",
                "PAY-1",
                None,
                None,
                "rejected",
                "hs_payment_method: 'barter' is not an option",
                "t",
            ),
            ("payments", "PAY-2", "17", "h", "created", None, "t"),
            ("order_line_items", "order:9:1", None, None, "rejected", "product SKU-404 unknown", "t"),
        ],
    )
    db.commit()
    db.close()
    assert recorded_rejections(store) == {
        "payments": {"PAY-1": "hs_payment_method: 'barter' is not an option"},
        "order_line_items": {"order:9:1": "product SKU-404 unknown"},
    }


def test_a_store_the_sync_never_recorded_has_no_rejections(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    sqlite3.connect(store).close()
    assert recorded_rejections(store) == {}


def test_a_refusal_is_found_in_a_log_and_nothing_else_is() -> None:
    message = refusal_in(REFUSAL_LINE.splitlines())
    assert message is not None and message.startswith("payments: 2 of 82 rows were rejected")
    assert refusal_in(["HubSpotServerError: HubSpot answered 503", "KeyError: 'x'"]) is None


def ti(run: str, task: str, state: str) -> dict[str, Any]:
    return {"dag_run_id": run, "task_id": task, "state": state}


def test_a_run_is_refused_only_when_every_failure_but_the_report_is_a_refusal() -> None:
    instances = [
        ti("day1", "prepare_payments", "failed"),
        ti("day1", "report", "failed"),
        ti("day1", "create_payments", "upstream_failed"),
        ti("day2", "prepare_payments", "failed"),
        ti("day2", "extract", "failed"),
        ti("day2", "report", "failed"),
        ti("day3", "report", "success"),
        ti("day4", "report", "failed"),
    ]
    logs = {("day1", "prepare_payments"): REFUSAL_LINE, ("day2", "prepare_payments"): REFUSAL_LINE}
    refused = refused_runs(
        instances, lambda t: logs.get((t["dag_run_id"], t["task_id"]), "boom").splitlines()
    )
    assert list(refused) == ["day1"]
    (refusal,) = refused["day1"]
    assert refusal.task_id == "prepare_payments"
    assert (
        "day1: prepare_payments refused its stream (the rule working): payments: 2 of 82"
        in refusal.describe()
    )
