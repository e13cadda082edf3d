"""The run's report: per stream how many rows were extracted, created, updated, unchanged and rejected, and,
when tasks failed, which streams did not finish, why, and what to clear (its last lines)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hubspot_commerce.batch.quota import stream_requests
from hubspot_commerce.contract import (
    APPROVE_ARCHIVE,
    MIRROR,
    count_key,
    parse_result_key,
    result_key,
    stream_task_ids,
    write_actions,
)
from hubspot_commerce.sync.archive_decision import answer_text
from hubspot_commerce.sync.cause import TaskFailure
from hubspot_commerce.sync.mapping import SyncMapping

COLUMNS = ("extracted", "created", "updated", "unchanged", "rejected", "unfinished")


@dataclass(frozen=True)
class StreamCounts:
    """One line of the report: extracted = created + updated + unchanged + rejected + unfinished."""

    stream: str
    object_type: str
    extracted: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    unfinished: int = 0


def planned_inputs(plan: Mapping[str, Any], action: str) -> int:
    """How many records the plan gave a write task (records that only gained a link are not sent)."""
    updates = int(plan.get("update", 0)) - int(plan.get("relinked", 0))
    return {"create": int(plan.get("create", 0)), "update": updates}.get(
        action, int(plan.get("create", 0)) + updates
    )


def written_counts(
    plan: Mapping[str, Any], results: Mapping[str, Mapping[str, Any] | None]
) -> tuple[int, int, int, int, int]:
    """(created, updated, existing, rejected by HubSpot, unfinished) of a stream's write tasks. Records an
    earlier try wrote (``resumed``) count as the task's action wrote them (an upsert's as the plan split
    them); the records of a task that did not finish (failed, or never ran) are unfinished."""
    created = updated = existing = rejected = unfinished = 0
    for action, result in results.items():
        if result is None:
            unfinished += planned_inputs(plan, action)
            continue
        resumed = int(result.get("resumed") or 0)
        now_created = int(result.get("created") or 0)
        resumed_created = {"create": resumed, "update": 0}.get(
            action, min(resumed, max(0, int(plan.get("create", 0)) - now_created))
        )
        created += now_created + resumed_created
        updated += int(result.get("updated") or 0) + resumed - resumed_created
        existing += int(result.get("existing") or 0)
        rejected += int(result.get("rejected") or 0)
        unfinished += int(result.get("not_attempted") or 0)  # the day's quota did not cover them (partial)
    return created, updated, existing, rejected, unfinished


def stream_counts(
    mapping: SyncMapping,
    validation: Mapping[str, str],
    plans: Mapping[str, Mapping[str, Any]],
    writes: Mapping[str, Mapping[str, Any] | None],
    dry_run: bool,
    extraction: Mapping[str, str] | None = None,
) -> list[StreamCounts]:
    """Combine validation counts (else, when validate did not finish, extract's ``extraction`` counts), each
    stream's plan and the write operators' results, counting every row once: a stream that was never planned
    is unfinished past its rejected rows.

    On a dry run nothing is written, so created and updated are what the run *would* write. A create that
    HubSpot refused because the record already existed (an earlier, interrupted run) counts as unchanged;
    a record that only gained a missing association counts as updated.
    """
    rows = []
    for name, stream in mapping.streams.items():
        extracted = int(validation.get(count_key(name, "extracted"), (extraction or {}).get(name, 0)))
        rejected = int(validation.get(count_key(name, "rejected"), 0))
        plan = plans.get(name)
        if plan is None:
            unplanned = extracted - rejected
            rows.append(StreamCounts(name, stream.object_type, extracted, 0, 0, 0, rejected, unplanned))
            continue
        rejected += int(plan.get("rejected", 0))
        if dry_run or not plan.get("written", True):
            created, updated, existing, unfinished = int(plan["create"]), int(plan["update"]), 0, 0
        else:
            results = {action: writes.get(result_key(name, action)) for action in write_actions(stream)}
            created, updated, existing, refused, unfinished = written_counts(plan, results)
            updated += int(plan.get("relinked", 0))
            rejected += refused
        unchanged = int(plan.get("unchanged", 0)) + existing
        counts = (created, updated, unchanged, rejected, unfinished)
        rows.append(StreamCounts(name, stream.object_type, extracted, *counts))
    return rows


def stream_status(mapping: SyncMapping, states: Mapping[str, str | None]) -> dict[str, str]:
    """Per stream, why it did not finish (``FAILED: create_orders``, ``not run: an earlier task failed``),
    or nothing when it did."""
    status: dict[str, str] = {}
    for name in mapping.streams:
        tasks = [task for task in stream_task_ids(name) if task in states]
        failed = [task for task in tasks if states[task] == "failed"]
        if failed:
            status[name] = "FAILED: " + ", ".join(failed)
        elif any(states[task] == "upstream_failed" for task in tasks):
            status[name] = "not run: an earlier task failed"
    return status


def failed_tasks(states: Mapping[str, str | None]) -> list[str]:
    """The run's failed tasks, the first to clear first (extract and validate before the streams)."""
    return sorted(task for task, state in states.items() if state == "failed")


def failure_lines(failures: list[TaskFailure]) -> list[str]:
    """The report's last lines for a failed run: each failed task with its cause and what to do, then what
    to clear."""
    if not failures:
        return []
    tasks = ", ".join(failure.task for failure in failures)
    lines = ["", f"THE RUN IS INCOMPLETE: {tasks} failed."]
    for failure in failures:
        lines += [f"{failure.task}: {failure.cause}", f"  fix: {failure.advice}"]
    cleared = [failure.task for failure in failures if failure.clearable]
    if not cleared:
        return lines
    its = "its" if len(cleared) == 1 else "their"
    return [
        *lines,
        f"Then clear {', '.join(cleared)} with {its} downstream tasks (Clear, with 'Downstream'): records "
        "that landed",
        "are not written again, and the report is written anew.",
    ]


def format_report(
    rows: list[StreamCounts],
    window: str,
    dry_run: bool,
    selected: list[str],
    rejected_file: str,
    hubspot_rejected_files: list[str],
    status: Mapping[str, str] | None = None,
) -> str:
    """The report as a fixed-width table, then where the rejected rows are (source key and reason each);
    ``status`` says why a stream did not finish."""
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
    return "\n".join(lines)


def mirror_lines(results: Mapping[str, Mapping[str, Any] | None], dry_run: bool) -> list[str]:
    """What mirror streams archived, kept and unlinked (``<stream>.mirror`` results), or would have on a dry
    run, and who approved or refused the archive (``approve_archive``'s answer)."""
    parsed = ((parse_result_key(key), result) for key, result in results.items())
    mirrored = {key[0]: result for key, result in parsed if key and key[1] == MIRROR}
    if not mirrored:
        return []
    verb = "would be " if dry_run else ""
    lines = ["", "mirror (records the source deleted are archived, links it no longer has are removed):"]
    for stream, result in mirrored.items():
        if result is None:
            lines.append(f"  {stream}: did not run (nothing archived or unlinked)")
            continue
        kept = f", {result['kept']} kept (the archive was refused)" if result.get("kept") else ""
        lines.append(
            f"  {stream}: {result['archived']} {verb}archived{kept}, {result['unlinked']} {verb}unlinked "
            f"(list: {result['path']})"
        )
    if answer := answer_text(results.get(APPROVE_ARCHIVE)):
        lines.append(f"  {answer}")
    return lines


def run_plan_text(plan: Mapping[str, Any]) -> str:
    """The run's plan against the day's quota in words: estimated need, what remained, the verdict."""
    if plan.get("remaining") is None:
        return (
            f"about {plan['needed']} requests; HubSpot reported no daily quota (OAuth app) and the "
            "connection sets no daily_limit"
        )
    verdict = "each write checked again" if plan["available"] < plan["needed"] else "enough"
    return (
        f"about {plan['needed']} requests; remaining {plan['remaining']} of {plan['limit']}, reserve "
        f"{plan['reserve']}, so {plan['available']} available: {verdict}"
    )


def quota_lines(
    mapping: SyncMapping,
    plans: Mapping[str, Mapping[str, Any]],
    writes: Mapping[str, Mapping[str, Any] | None],
    run_plan: Mapping[str, Any] | None = None,
) -> list[str]:
    """The run against HubSpot's daily quota: the requests its plans need, the run's plan made before its
    first write, and per write task that checked for itself (the run was short) its check (needed,
    remaining, reserve), until when it waited for the reset, and what it left unsent."""
    needed = sum(
        stream_requests(plan, upsert=bool(mapping.streams[name].upsert_by))
        for name, plan in plans.items()
        if plan.get("written", True) and name in mapping.streams
    )
    checked = {name: result for name, result in writes.items() if result and result.get("quota")}
    planned = bool(run_plan and run_plan.get("needed"))
    if not checked and not planned:
        return []
    lines = ["", f"daily quota: the run's plans need {needed} write requests"]
    if run_plan and planned:
        lines.append(f"  before the first write: {run_plan_text(run_plan)}")
    for name, result in checked.items():
        quota = result["quota"]
        if quota["remaining"] is None:
            line = f"  {name}: needed {quota['needed']}; HubSpot reported no daily quota (OAuth app)"
        else:
            line = (
                f"  {name}: needed {quota['needed']}, remaining {quota['remaining']} of {quota['limit']}, "
                f"reserve {quota['reserve']}"
            )
        if result.get("deferred_until"):
            line += f"; waited for the reset until {', '.join(result['deferred_until'])}"
        if result.get("not_attempted"):
            line += f"; {result['not_attempted']} not attempted ({result['not_attempted_path']})"
        lines.append(line)
    return lines
