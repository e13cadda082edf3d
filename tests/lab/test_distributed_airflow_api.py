"""How the lab shows a task log it read from the REST API (structured entries, Airflow 3)."""

from __future__ import annotations

from hubspot_commerce_lab.distributed.airflow_api import format_log_entry


def test_an_entry_shows_time_level_message_its_own_fields_and_the_exception() -> None:
    entry = {
        "timestamp": "2026-11-28T09:16:38Z",
        "level": "error",
        "event": "Task failed with exception",
        "dag_id": "hubspot_commerce_sync",
        "run_id": "manual__1",
        "task_id": "setup",
        "attempt": 2,
        "error_detail": [
            {"exc_type": "HubSpotAuthError", "exc_value": "HubSpot refused the token", "frames": []}
        ],
    }
    assert format_log_entry(entry) == (
        "2026-11-28T09:16:38Z error Task failed with exception {'attempt': 2}\n"
        "    HubSpotAuthError: HubSpot refused the token"
    )


def test_plain_lines_stay_as_they_are() -> None:
    assert format_log_entry("::group::Log message source details") == "::group::Log message source details"
    assert format_log_entry({"event": "no time"}) == "no time"
