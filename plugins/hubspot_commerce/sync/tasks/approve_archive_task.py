"""The ``approve_archive`` task's question: read the mirror plans prepare wrote and, when a stream would
archive more than the guard allows, list every record to archive and compose the question a person answers
before any mirror task archives."""

from __future__ import annotations

import logging
from datetime import timedelta

from hubspot_commerce.storage import read_json, write_jsonl
from hubspot_commerce.sync.archive_decision import archive_question, archive_rows, why_not_ask
from hubspot_commerce.sync.mirror import MirrorPlan
from hubspot_commerce.sync.tasks.task_context import RunContext

log = logging.getLogger(__name__)


def archive_question_step(
    run: RunContext, max_archive_fraction: float, timeout: timedelta | None
) -> tuple[str, str] | None:
    """The question's subject and body, after writing the list of every record to archive; None when
    nothing needs asking (within the guard, ``confirm_archive``, a dry run), and the reason is logged."""
    files = run.files
    plans = {
        name: MirrorPlan.from_json(read_json(files.mirror_plan(name)))
        for name, stream in run.mapping.streams.items()
        if stream.mirror and files.mirror_plan(name).exists()
    }
    reason = why_not_ask(plans, max_archive_fraction, run.options)
    if reason:
        log.info("No question: %s.", reason)
        return None
    write_jsonl(files.archive_list, archive_rows(plans))
    object_types = {name: run.mapping.streams[name].object_type for name in plans}
    return archive_question(plans, object_types, max_archive_fraction, str(files.archive_list), timeout)
