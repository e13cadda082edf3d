"""What the sync itself decided, read back for the lab's verdict: the rows it rejected with a reason (the sync
state table) and the runs it refused because a stream had too many of them (the rule working, not a fault).

A row the sync rejected is neither missing nor wrong in HubSpot: it is counted apart (``rejected=<n>``). A
run whose only failures are such refusals (and the report that says so) is named with its numbers, and does
not fail the lab.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_TABLE = "hubspot_sync_state"  # the DAG's default, in the source connection (the lab's SQLite store)
# The exceptions by which the sync refuses a stream past its max_rejected_fraction: before sending (prepare)
# and after HubSpot rejected records (a write task).
REFUSALS = ("SourceRowsRejected", "HubSpotRejectedRecords")
REPORT_TASK = "report"


def recorded_rejections(store_path: str | Path, table: str = STATE_TABLE) -> dict[str, dict[str, str]]:
    """``{stream: {source key: reason}}`` of the rows whose last outcome in the sync state is ``rejected``
    (none when the table does not exist: the sync never recorded anything)."""
    db = sqlite3.connect(f"file:{Path(store_path)}?mode=ro", uri=True)
    try:
        rows = db.execute(f"SELECT stream, source_key, reason FROM {table} WHERE outcome = 'rejected'")
        rejected: dict[str, dict[str, str]] = {}
        for stream, key, reason in rows:
            rejected.setdefault(str(stream), {})[str(key)] = str(reason or "")
        return rejected
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


@dataclass(frozen=True)
class Refusal:
    """A task that refused its stream by the rejected-rows rule, with the sync's own message."""

    run_id: str
    task_id: str
    message: str

    def describe(self) -> str:
        """One line for the summary: the run, the task and the sync's numbers and file of reasons."""
        return f"{self.run_id}: {self.task_id} refused its stream (the rule working): {self.message}"


def refusal_in(log_lines: Iterable[str]) -> str | None:
    """The sync's message when a task log ends in a refusal by the rejected-rows rule, else None."""
    for line in log_lines:
        for name in REFUSALS:
            if f"{name}: " in line:
                return line.split(f"{name}: ", 1)[1].strip()
    return None


def refused_runs(
    task_instances: list[dict[str, Any]], log_of: Callable[[dict[str, Any]], list[str]]
) -> dict[str, list[Refusal]]:
    """Per run whose failed tasks are only refusals by the rejected-rows rule (and its report, which fails
    because they did), those refusals. A run with any other failure is not in the answer."""
    failed: dict[str, list[dict[str, Any]]] = {}
    for ti in task_instances:
        if ti["state"] == "failed":
            failed.setdefault(ti["dag_run_id"], []).append(ti)
    refused: dict[str, list[Refusal]] = {}
    for run_id, tis in failed.items():
        refusals = [_refusal(ti, log_of) for ti in tis if ti["task_id"] != REPORT_TASK]
        if refusals and all(refusals):
            refused[run_id] = [r for r in refusals if r is not None]
    return refused


def _refusal(ti: dict[str, Any], log_of: Callable[[dict[str, Any]], list[str]]) -> Refusal | None:
    """The task's refusal, read from its log (None: it failed for another reason)."""
    message = refusal_in(log_of(ti))
    return Refusal(ti["dag_run_id"], ti["task_id"], message) if message else None


def rejected_keys(rejections: Mapping[str, Mapping[str, str]]) -> dict[str, set[str]]:
    """The rejected source keys per stream, as ``check_graph`` takes them."""
    return {stream: set(keys) for stream, keys in rejections.items()}
