"""The run's report: per stream how many rows were extracted, created, updated, unchanged and rejected, and,
when tasks failed, which streams did not finish, why, and what to clear."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hubspot_commerce.sync.mapping import SyncMapping

COLUMNS = ("extracted", "created", "updated", "unchanged", "rejected")


@dataclass(frozen=True)
class StreamCounts:
    """One line of the report."""

    stream: str
    object_type: str
    extracted: int
    created: int
    updated: int
    unchanged: int
    rejected: int


def stream_counts(
    mapping: SyncMapping,
    validation: Mapping[str, str],
    plans: Mapping[str, Mapping[str, Any]],
    writes: Mapping[str, Mapping[str, Any] | None],
    dry_run: bool,
) -> list[StreamCounts]:
    """Combine validation counts, each stream's plan and the write operators' results.

    On a dry run nothing is written, so created and updated are what the run *would* write. A create that
    HubSpot refused because the record already existed (an earlier, interrupted run) counts as unchanged;
    a record that only gained a missing association counts as updated.
    """
    rows = []
    for name, stream in mapping.streams.items():
        plan = plans.get(name) or {}
        results = [writes.get(f"{name}.{action}") or {} for action in ("upsert", "create", "update")]
        hubspot_rejected = sum(int(result.get("rejected") or 0) for result in results)
        existing = sum(int(result.get("existing") or 0) for result in results)
        if dry_run or not plan.get("written", True):
            created, updated = int(plan.get("create", 0)), int(plan.get("update", 0))
        else:
            created = sum(int(result.get("created") or 0) for result in results)
            updated = sum(int(result.get("updated") or 0) for result in results) + int(
                plan.get("relinked", 0)
            )
        rows.append(
            StreamCounts(
                stream=name,
                object_type=stream.object_type,
                extracted=int(validation.get(f"{name}.extracted", 0)),
                created=created,
                updated=updated,
                unchanged=int(plan.get("unchanged", 0)) + existing,
                rejected=int(validation.get(f"{name}.rejected", 0))
                + int(plan.get("rejected", 0))
                + hubspot_rejected,
            )
        )
    return rows


def tasks_of_stream(stream: str) -> tuple[str, ...]:
    """The DAG's tasks of one stream, in the order they run."""
    return (f"prepare_{stream}", f"upsert_{stream}", f"create_{stream}", f"update_{stream}")


def stream_status(mapping: SyncMapping, states: Mapping[str, str | None]) -> dict[str, str]:
    """Per stream, why it did not finish (``FAILED: create_orders``, ``not run: an earlier task failed``),
    or nothing when it did."""
    status: dict[str, str] = {}
    for name in mapping.streams:
        tasks = [task for task in tasks_of_stream(name) if task in states]
        failed = [task for task in tasks if states[task] == "failed"]
        if failed:
            status[name] = "FAILED: " + ", ".join(failed)
        elif any(states[task] == "upstream_failed" for task in tasks):
            status[name] = "not run: an earlier task failed"
    return status


def failed_tasks(states: Mapping[str, str | None]) -> list[str]:
    """The run's failed tasks, the first to clear first (extract and validate before the streams)."""
    return sorted(task for task, state in states.items() if state == "failed")


def failure_lines(failed: list[str]) -> list[str]:
    """What a user does about a failed run."""
    if not failed:
        return []
    return [
        "",
        f"THE RUN IS INCOMPLETE: {', '.join(failed)} failed; each task's log says why.",
        "Fix the cause, then clear the failed tasks with their downstream tasks (Clear, with 'Downstream'):",
        "records that landed are not written again, and the report is written anew.",
    ]


def format_report(
    rows: list[StreamCounts],
    window: str,
    dry_run: bool,
    selected: list[str],
    rejected_file: str,
    hubspot_rejected_files: list[str],
    status: Mapping[str, str] | None = None,
    failed: list[str] | None = None,
) -> str:
    """The report as a fixed-width table, then where the rejected rows are (source key and reason each),
    then, for a failed run, which tasks failed and what to clear."""
    title = "HubSpot commerce sync" + (
        " (DRY RUN: nothing written; created/updated = would be)" if dry_run else ""
    )
    lines = [title, f"window: {window}", ""]
    header = f"{'stream':<18}{'object':<19}" + "".join(f"{column:>11}" for column in COLUMNS)
    lines += [header, "-" * len(header)]
    for row in rows:
        note = (status or {}).get(row.stream) or (
            "" if row.stream in selected else "not selected: nothing written"
        )
        lines.append(
            f"{row.stream:<18}{row.object_type:<19}"
            + "".join(f"{getattr(row, column):>11}" for column in COLUMNS)
            + (f"   ({note})" if note else "")
        )
    lines.append("-" * len(header))
    lines.append(f"{'total':<37}" + "".join(f"{sum(getattr(r, c) for r in rows):>11}" for c in COLUMNS))
    lines.append("")
    lines.append(f"rejected rows (source key and reason, JSON lines): {rejected_file}")
    lines += [f"rejected by HubSpot: {path}" for path in hubspot_rejected_files]
    return "\n".join(lines + failure_lines(failed or []))
