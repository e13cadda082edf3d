"""The ``mirror_<stream>`` task: archive the records the source deleted and remove the links it no longer
has, as prepare planned, unless the guard against a mass archive stops it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from hubspot_commerce.errors import MassArchiveRefused
from hubspot_commerce.storage import read_json, write_jsonl
from hubspot_commerce.sync.mirror import MirrorPlan, archive_refusal
from hubspot_commerce.sync.state import StateRow
from hubspot_commerce.sync.tasks.task_context import StreamContext

log = logging.getLogger(__name__)


def mirror_step(ctx: StreamContext, max_archive_fraction: float) -> dict[str, Any]:
    """Archive and unlink what the stream's mirror plan names, unless the guard stops it (more than
    ``max_archive_fraction`` of the stream, without ``confirm_archive``): then nothing is archived; the sync
    state forgets the archived records' ids (a row that comes back is created anew). A dry run only lists
    what it would do. Returns the counts and the list's URL."""
    stream, files, dry_run = ctx.stream, ctx.files, ctx.options.dry_run
    path = files.mirror_plan(stream.name)
    plan = MirrorPlan.from_json(read_json(path)) if path.exists() else MirrorPlan()
    refusal = archive_refusal(stream.name, plan, max_archive_fraction)
    if refusal and not ctx.options.confirm_archive:
        if not dry_run:
            raise MassArchiveRefused(refusal)
        log.warning("%s (a real run would stop here)", refusal)
    verb = "would be" if dry_run else "were"
    rows = [{"action": "archive", "key": key, "id": record_id} for key, record_id in plan.archive.items()]
    if not dry_run:
        ctx.hubspot.archive_records(stream.object_type, sorted(plan.archive.values()))
        if ctx.state is not None:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            ctx.state.save(
                StateRow(stream.name, key, None, None, "archived", None, now) for key in plan.archive
            )
    for ref in stream.references:
        links = plan.unlink.get(ref.name) or []
        if links and not dry_run:
            to_type = ctx.mapping.streams[ref.stream].object_type
            ctx.hubspot.remove_associations(stream.object_type, to_type, links)
        rows += [{"action": "unlink", "key": x.key, "id": x.from_id, ref.name: x.to_id} for x in links]
    write_jsonl(files.mirrored(stream.name), rows)
    archived, unlinked = len(plan.archive), len(rows) - len(plan.archive)
    log.info("%s: %d records %s archived, %d links %s removed", stream.name, archived, verb, unlinked, verb)
    return {"archived": archived, "unlinked": unlinked, "path": str(files.mirrored(stream.name))}
