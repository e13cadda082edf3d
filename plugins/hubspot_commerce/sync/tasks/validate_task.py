"""The ``validate`` task: map and check every stream's rows against the portal's property definitions and the
references between rows; keep the good rows, and the rejected ones with their reasons."""

from __future__ import annotations

import logging

from hubspot_commerce.contract import RunStorage, count_key
from hubspot_commerce.storage import JsonLinesWriter, TableWriter, iter_table, read_json, write_json
from hubspot_commerce.sync.mapping import map_stream
from hubspot_commerce.sync.mirror import deleted_rows, keys_of, refers_to_deleted
from hubspot_commerce.sync.tasks.task_context import CHUNK_ROWS, RunContext
from hubspot_commerce.sync.validate import StreamValidation, Validation

log = logging.getLogger(__name__)


def validate_step(run: RunContext, chunk_rows: int = CHUNK_ROWS) -> dict[str, str]:
    """Map and validate every stream, ``chunk_rows`` rows at a time, against the portal's property
    definitions (kept by setup) and the rows of earlier chunks and streams; keep the good rows, write the
    rejected ones (key and reason) per stream, and the keys of rows the source marks deleted (mirror
    streams). Returns extracted (not deleted), rejected and deleted counts."""
    object_types = sorted(run.mapping.object_types)
    definitions = {object_type: read_json(run.files.definitions(object_type)) for object_type in object_types}
    validation = Validation(run.mapping, definitions)
    counts: dict[str, str] = {}
    deleted_keys: dict[str, list[str]] = {}
    for name in run.mapping.streams:
        counts |= _validate_stream(validation.stream(name), run.files, deleted_keys, chunk_rows)
    return counts


def _validate_stream(
    validation: StreamValidation, files: RunStorage, deleted_keys: dict[str, list[str]], chunk_rows: int
) -> dict[str, str]:
    """One stream, chunk by chunk: rows the source marks deleted (and the rows that need them) aside, the
    others mapped and validated; accepted rows to the stream's table, rejected ones to its file. Adds the
    stream's deleted keys to ``deleted_keys``; returns its counts."""
    stream = validation.stream
    name, extracted, deleted = stream.name, 0, []
    with (
        TableWriter(files.accepted(name)) as accepted,
        JsonLinesWriter(files.rejected(name, "validate")) as out,
    ):
        for frame in iter_table(files.source(name), chunk_rows):
            gone = deleted_rows(stream, frame) | refers_to_deleted(stream, frame, deleted_keys)
            deleted += keys_of(stream, frame[gone])
            mapped = map_stream(frame[~gone].reset_index(drop=True), stream)
            result = validation.validate(mapped)
            accepted.write(result.accepted)
            for row in result.rejected[: max(0, 5 - out.rows)]:
                log.warning("%s %s rejected: %s", name, row.key, row.reason)
            out.write(row.to_json() for row in result.rejected)
            extracted += len(mapped)
    deleted_keys[name] = deleted
    if stream.mirror:  # rows the source marks deleted are archived by mirroring, not validated
        write_json(files.deleted(name), deleted)
    log.info("%s: %d rows valid, %d rejected", name, accepted.rows, out.rows)
    return {
        count_key(name, "deleted"): str(len(deleted)),
        count_key(name, "extracted"): str(extracted),
        count_key(name, "rejected"): str(out.rows),
    }
