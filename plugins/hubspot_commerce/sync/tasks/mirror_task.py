"""The ``mirror_<stream>`` task: archive the records the source deleted and remove the links it no longer
has, as prepare planned; the archive only as ``approve_archive`` answered."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hubspot_commerce.storage import read_json, write_jsonl
from hubspot_commerce.sync.archive_decision import may_archive
from hubspot_commerce.sync.mirror import MirrorPlan
from hubspot_commerce.sync.state import StateRow
from hubspot_commerce.sync.tasks.task_context import StreamContext

log = logging.getLogger(__name__)


def mirror_step(
    ctx: StreamContext, max_archive_fraction: float, answer: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Archive and unlink what the stream's mirror plan names, archiving only as ``approve_archive``'s
    ``answer`` allows (``Keep``: nothing is archived, the records are listed as kept; links are still
    removed). The sync state forgets the archived records' ids (a row that comes back is created anew). A
    dry run only lists what it would do. Returns the counts and the list's URL."""
    stream, files, dry_run = ctx.stream, ctx.files, ctx.options.dry_run
    path = files.mirror_plan(stream.name)
    plan = MirrorPlan.from_json(read_json(path)) if path.exists() else MirrorPlan()
    allowed = may_archive(stream.name, plan, max_archive_fraction, ctx.options, answer)
    archive, kept = (plan.archive, {}) if allowed else ({}, plan.archive)
    verb = "would be" if dry_run else "were"
    rows = [{"action": "archive", "key": key, "id": record_id} for key, record_id in archive.items()]
    rows += [{"action": "keep", "key": key, "id": record_id} for key, record_id in kept.items()]
    if not dry_run and archive:
        ctx.hubspot.archive_records(stream.object_type, sorted(archive.values()))
        if ctx.state is not None:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            ctx.state.save(StateRow(stream.name, key, None, None, "archived", None, now) for key in archive)
    unlinked = 0
    for ref in stream.references:
        links = plan.unlink.get(ref.name) or []
        if links and not dry_run:
            to_type = ctx.mapping.streams[ref.stream].object_type
            ctx.hubspot.remove_associations(stream.object_type, to_type, links)
        rows += [{"action": "unlink", "key": x.key, "id": x.from_id, ref.name: x.to_id} for x in links]
        unlinked += len(links)
    listed = write_jsonl(files.mirrored(stream.name), rows)
    archived = len(archive)
    log.info("%s: %d records %s archived, %d links %s removed", stream.name, archived, verb, unlinked, verb)
    if kept:
        log.warning(
            "%s: %d records kept: approve_archive's answer was Keep (see %s)", stream.name, len(kept), listed
        )
    return {"archived": archived, "kept": len(kept), "unlinked": unlinked, "path": str(listed)}
