"""The ``report`` task: record the run's outcome in the sync state, then write the run's report, whatever
happened, ending, when a task failed, with its cause and what to clear."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from hubspot_commerce.contract import (
    EXTRACT,
    VALIDATE,
    IdsValue,
    RunStorage,
    parse_result_key,
    result_key,
    task_id,
    write_actions,
)
from hubspot_commerce.storage import iter_jsonl, iter_table, read_json, read_jsonl, storage_path, write_jsonl
from hubspot_commerce.sync.cause import TaskFailure
from hubspot_commerce.sync.id_index import IdIndex
from hubspot_commerce.sync.report import (
    failed_tasks,
    failure_lines,
    format_report,
    mirror_lines,
    quota_lines,
    stream_counts,
    stream_status,
)
from hubspot_commerce.sync.state import SyncState, outcome_rows, rejected_rows
from hubspot_commerce.sync.tasks import task_context
from hubspot_commerce.sync.tasks.task_context import RunContext

log = logging.getLogger(__name__)
Results = Mapping[str, Mapping[str, Any] | None]  # XCom values by result key; None: the task did not run


def report_step(
    run: RunContext, results: Results, states: Mapping[str, str | None]
) -> tuple[str, list[TaskFailure]]:
    """Record the run's outcome in the sync state (when the run has one), then write the run's report,
    whatever happened: per stream extracted, created, updated, unchanged and rejected; where the rejected
    rows are; which streams did not finish; last, each failed task's cause and what to do.

    ``results`` holds the XCom values of ``extract``, ``validate``, the write tasks (``<stream>.<action>``)
    and the mirror tasks (``<stream>.mirror``), None for a task that did not run; ``states`` every
    task's state. The run's copies of rows are removed only when nothing failed, since clearing a failed
    task needs them. Returns the text and the failed tasks with their causes.
    """
    mapping, files, options, state = run.mapping, run.files, run.options, run.state
    plans = {name: read_json(files.plan(name)) for name in mapping.streams if files.plan(name).exists()}
    collect_rejected(files, mapping.streams)
    recorded = 0
    if state is not None and not options.dry_run:
        recorded = record_state(run, state, results, states, plans)
    writes = {key: value for key, value in results.items() if parse_result_key(key)}
    hubspot_rejected = sorted(
        str(result["rejected_path"]) for result in writes.values() if result and result.get("rejected_path")
    )
    extraction = results.get(EXTRACT) or {}
    text = format_report(
        stream_counts(mapping, results.get(VALIDATE) or {}, plans, writes, options.dry_run, extraction),
        extraction.get("window", "(not extracted)"),
        options.dry_run,
        list(options.objects),
        str(files.all_rejected),
        hubspot_rejected,
        stream_status(mapping, states),
    )
    run_plan = read_json(files.quota_plan) if files.quota_plan.exists() else None
    quota = quota_lines(mapping, plans, writes, run_plan)
    lines = [text, *mirror_lines(results, options.dry_run), *quota]
    if state is not None:
        lines.append(f"sync state: {recorded} rows recorded in {state.table}")
    failures = [TaskFailure.load(files, task) for task in failed_tasks(states)]
    text = "\n".join(lines + failure_lines(failures))
    files.report.write_text(text + "\n")
    if not failures:
        files.remove_row_copies()
    return text, failures


def stream_rejections(files: RunStorage, stream: str) -> Iterator[dict[str, Any]]:
    """The stream's rows rejected before sending (by validation, then while planning), one at a time."""
    for stage in ("validate", "plan"):
        if (path := files.rejected(stream, stage)).exists():
            yield from iter_jsonl(path)


def collect_rejected(files: RunStorage, streams: Iterable[str]) -> None:
    """Every row rejected before sending, from each stream's files, into the run's one rejected-rows file
    (a line at a time)."""
    write_jsonl(files.all_rejected, (row for stream in streams for row in stream_rejections(files, stream)))


def output_rows(outputs: Iterable[Mapping[str, Any] | None], path_field: str) -> list[dict[str, Any]]:
    """The rows of the JSON lines files the write tasks' XCom values name in ``path_field``."""
    return [
        row
        for out in outputs
        if out and out.get(path_field)
        for row in read_jsonl(storage_path(out[path_field]))
    ]


def record_state(
    run: RunContext,
    state: SyncState,
    results: Results,
    states: Mapping[str, str | None],
    plans: Mapping[str, Mapping[str, Any]],
) -> int:
    """Record each written stream's rows in the state table: unchanged and written rows with their hash and
    id, rows rejected before sending with their reason. A stream whose write task did not finish keeps its
    rows' state."""
    synced_at = datetime.now(UTC).isoformat(timespec="seconds")
    recorded = 0
    for name, stream in run.mapping.streams.items():
        if not plans.get(name, {}).get("written") or not run.files.planned_state(name).exists():
            continue
        actions = write_actions(stream)
        finished = all(states.get(task_id(a, name)) in ("success", "skipped") for a in actions)
        outputs = [results.get(result_key(name, action)) for action in actions]
        recorded += _record_stream(run.files, name, outputs, finished, state, synced_at)
    return recorded


def _record_stream(
    files: RunStorage,
    name: str,
    outputs: list[Mapping[str, Any] | None],
    finished: bool,
    state: SyncState,
    synced_at: str,
) -> int:
    """Record one stream's planned and rejected rows, a chunk at a time. The ids its write tasks landed
    (when all of them ``finished``) are read from their XCom values into an ``IdIndex``, 16 bytes a record."""
    written = None
    if finished:
        written = IdIndex.from_pairs(p for out in outputs if out for p in IdsValue.from_xcom(out).pairs())
    refused = {
        str(row["key"]): f"{row.get('category')}: {row.get('message')}"
        for row in output_rows(outputs, "rejected_path")
    }
    existing = {str(row["key"]) for row in output_rows(outputs, "existing_path")}
    recorded = 0
    for planned in iter_table(files.planned_state(name), task_context.CHUNK_ROWS):
        recorded += state.save(outcome_rows(name, planned, written, refused, synced_at, existing))
    rejections = stream_rejections(files, name)
    while chunk := list(islice(rejections, task_context.CHUNK_ROWS)):
        before = {str(row["key"]): str(row["reason"]) for row in chunk}
        recorded += state.save(rejected_rows(name, before, state.load(name, list(before)), synced_at))
    return recorded
