"""The extract task's OpenLineage event: the source tables the streams read. ``extract`` is a TaskFlow task,
whose START and COMPLETE events carry only hook-level lineage, and the OpenLineage provider turns a hook's
assets into datasets only for schemes with a converter (none for SQLite); so the tables go out in a RUNNING
event of the task's run (the provider's public ``emit_dataset_lineage``). Without the provider, or with
OpenLineage off, nothing is done."""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger(__name__)


def emit_extract_lineage(conn_id: str, queries: Mapping[str, str]) -> None:
    """Emit the tables ``queries`` (by stream) read on ``conn_id`` as the current task's inputs; a source
    that cannot be named is logged and skipped, never failing the task."""
    try:
        from airflow.providers.openlineage.api import emit_dataset_lineage, is_openlineage_active
    except ImportError:
        return
    if not is_openlineage_active():
        return
    from hubspot_commerce.lineage.facets import input_datasets
    from hubspot_commerce.lineage.source_tables import source_tables

    try:
        tables = source_tables(conn_id, queries)
    except Exception as exc:
        log.warning(
            "OpenLineage could not name the tables of source connection %r (%s: %s), so the extract's "
            "lineage event is not sent; check that connection", conn_id, type(exc).__name__, exc,
        )  # fmt: skip
        return
    inputs = {(d.namespace, d.name): d for read in tables.values() for d in input_datasets(read)}
    if inputs:
        emit_dataset_lineage(inputs=list(inputs.values()))
