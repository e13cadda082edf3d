"""The ``extract`` task: read the window's rows of every stream from the source into the run's storage."""

from __future__ import annotations

import logging

from hubspot_commerce.storage import TableWriter
from hubspot_commerce.sync.extract import SqlSource, Window, stream_chunks
from hubspot_commerce.sync.tasks.task_context import CHUNK_ROWS, RunContext

log = logging.getLogger(__name__)


def extract_step(
    run: RunContext, source: SqlSource, window: Window, chunk_rows: int = CHUNK_ROWS
) -> dict[str, str]:
    """Read the window's rows into the run's storage, ``chunk_rows`` at a time; return the row count per
    stream."""
    log.info("Extracting %s", window.describe())
    counts = {"window": window.describe()}
    for name in run.mapping.streams:
        with TableWriter(run.files.source(name)) as table:
            for chunk in stream_chunks(source, run.mapping, name, window, chunk_rows):
                table.write(chunk)
        counts[name] = str(table.rows)
        log.info("%s: %d rows", name, table.rows)
    return counts
