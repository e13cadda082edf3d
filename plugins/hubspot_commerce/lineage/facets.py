"""The OpenLineage objects of a run: the source tables as input datasets, each written HubSpot object type as
an output dataset with its counts and column lineage, the quota plan and the sync state's counts as run
facets. Needs ``apache-airflow-providers-openlineage``: import it only where that is installed (the
operator's ``get_openlineage_facets_*`` methods do, inside them)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow.providers.openlineage.extractors import OperatorLineage
from attrs import define
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import (
    OutputDatasetFacet,
    RunFacet,
    column_lineage_dataset,
    output_statistics_output_dataset,
    schema_dataset,
)

from hubspot_commerce.lineage.naming import hubspot_namespace
from hubspot_commerce.lineage.source_tables import SourceTables, source_tables
from hubspot_commerce.lineage.write_lineage import WriteLineage

log = logging.getLogger(__name__)
WRITTEN = ("created", "updated", "existing", "resumed")  # the result's counts of records that landed


@define
class HubSpotWriteOutputDatasetFacet(OutputDatasetFacet):
    """What one write did to an object type: records created, updated, found existing (and updated), written
    by an earlier try, rejected by HubSpot, and not attempted for want of daily quota."""

    action: str
    created: int
    updated: int
    existing: int
    resumed: int
    rejected: int
    notAttempted: int


@define
class HubSpotQuotaRunFacet(RunFacet):
    """The run's plan against the portal's daily request quota (``batch.quota.QuotaPlan``), made before its
    first write; ``limit``, ``remaining`` and ``available`` are None when HubSpot reports no daily quota."""

    needed: int
    limit: int | None
    remaining: int | None
    reserve: int
    available: int | None
    onShort: str
    resetsAt: str
    portal: str | None
    timeZone: str | None


@define
class HubSpotSyncStateRunFacet(RunFacet):
    """The stream's rows planned against the sync state: new (create), changed (update), unchanged (not
    sent), existing records whose links changed (relinked), and rejected while planning."""

    create: int
    update: int
    unchanged: int
    relinked: int
    rejected: int


def input_datasets(tables: SourceTables) -> list[InputDataset]:
    return [InputDataset(namespace=tables.namespace, name=name) for name in tables.tables]


def column_lineage(
    spec: WriteLineage, tables: SourceTables
) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
    """Per HubSpot property, the table columns behind the query columns the mapping makes it of."""
    fields = {}
    for prop, sources in spec.fields.items():
        inputs = [
            column_lineage_dataset.InputField(
                namespace=tables.namespace,
                name=table,
                field=column,
                transformations=[
                    column_lineage_dataset.Transformation(
                        type=source.type, subtype=source.subtype, description=source.description
                    )
                ],
            )
            for source in sources
            for table, column in tables.columns.get(source.column.lower(), [])
        ]
        if inputs:
            fields[prop] = column_lineage_dataset.Fields(inputFields=inputs)
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields) if fields else None


def output_dataset(
    portal: str, object_type: str, action: str, spec: WriteLineage | None, tables: SourceTables | None,
    result: Mapping[str, Any] | None,
) -> OutputDataset:  # fmt: skip
    """``hubspot://<portal>``, ``<object type>``: its properties, their column lineage, the counts."""
    facets: dict[str, Any] = {}
    if spec is not None:
        names = [schema_dataset.SchemaDatasetFacetFields(name=name) for name in spec.fields]
        facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=names)
        if tables is not None and (lineage := column_lineage(spec, tables)) is not None:
            facets["columnLineage"] = lineage
    output_facets: dict[str, Any] = {}
    if result is not None:
        output_facets = {
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=sum(int(result[name]) for name in WRITTEN)
            ),
            "hubspotWrite": HubSpotWriteOutputDatasetFacet(
                action=action, **{name: int(result[name]) for name in (*WRITTEN, "rejected")},
                notAttempted=int(result.get("not_attempted") or 0),
            ),
        }  # fmt: skip
    return OutputDataset(
        namespace=hubspot_namespace(portal), name=object_type, facets=facets, outputFacets=output_facets
    )


def run_facets(quota: Mapping[str, Any] | None, state: Mapping[str, Any] | None) -> dict[str, RunFacet]:
    """The quota plan (a ``QuotaPlan.to_json()``) and the stream's plan counts (its ``plan.json``)."""
    facets: dict[str, RunFacet] = {}
    if quota:
        facets["hubspotQuota"] = HubSpotQuotaRunFacet(
            needed=quota["needed"], limit=quota.get("limit"), remaining=quota.get("remaining"),
            reserve=quota["reserve"], available=quota.get("available"), onShort=quota["on_short"],
            resetsAt=str(quota["resets_at"]), portal=quota.get("portal"), timeZone=quota.get("time_zone"),
        )  # fmt: skip
    if state:
        names = ("create", "update", "unchanged", "relinked", "rejected")
        facets["hubspotSyncState"] = HubSpotSyncStateRunFacet(**{n: int(state.get(n) or 0) for n in names})
    return facets


def read_source(spec: WriteLineage) -> SourceTables | None:
    """What the write's source query reads; None, logged, when the source cannot be named (a missing
    connection): the events then name no input, and nothing else changes."""
    try:
        return source_tables(spec.source_conn_id, {"query": spec.query})["query"]
    except Exception as exc:
        log.warning(
            "OpenLineage could not name the tables of source connection %r (%s: %s), so this write's events "
            "name no input and no column lineage; check that connection", spec.source_conn_id,
            type(exc).__name__, exc,
        )  # fmt: skip
        return None


def write_lineage_facets(
    *, object_type: str, action: str, portal: str | None, spec: WriteLineage | None,
    result: Mapping[str, Any] | None = None, quota: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
) -> OperatorLineage:  # fmt: skip
    """A write task's lineage: the source tables in, the portal's object type out (when the portal is
    known), with ``result``'s counts once there is one, and the run facets."""
    tables = read_source(spec) if spec is not None else None
    outputs = [output_dataset(portal, object_type, action, spec, tables, result)] if portal else []
    return OperatorLineage(
        inputs=input_datasets(tables) if tables else [], outputs=outputs, run_facets=run_facets(quota, state)
    )
