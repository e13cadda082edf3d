"""The run's report: per stream how many rows were extracted, created, updated, unchanged and rejected."""

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


def format_report(
    rows: list[StreamCounts],
    window: str,
    dry_run: bool,
    selected: list[str],
    rejected_file: str,
    hubspot_rejected_files: list[str],
) -> str:
    """The report as a fixed-width table, then where the rejected rows are (source key and reason each)."""
    title = "HubSpot commerce sync" + (
        " (DRY RUN: nothing written; created/updated = would be)" if dry_run else ""
    )
    lines = [title, f"window: {window}", ""]
    header = f"{'stream':<18}{'object':<19}" + "".join(f"{column:>11}" for column in COLUMNS)
    lines += [header, "-" * len(header)]
    for row in rows:
        marker = "" if row.stream in selected else "   (not selected: nothing written)"
        lines.append(
            f"{row.stream:<18}{row.object_type:<19}"
            + "".join(f"{getattr(row, column):>11}" for column in COLUMNS)
            + marker
        )
    lines.append("-" * len(header))
    lines.append(f"{'total':<37}" + "".join(f"{sum(getattr(r, c) for r in rows):>11}" for c in COLUMNS))
    lines.append("")
    lines.append(f"rejected rows (source key and reason, JSON lines): {rejected_file}")
    lines += [f"rejected by HubSpot: {path}" for path in hubspot_rejected_files]
    return "\n".join(lines)
