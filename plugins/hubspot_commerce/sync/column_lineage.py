"""Which source columns each HubSpot property is made of, read from the mapping: a column, a template's
fields, a value table, a reference's key; what a write task's OpenLineage column lineage is built from."""

from __future__ import annotations

from hubspot_commerce.lineage.write_lineage import (
    DIRECT,
    IDENTITY,
    TRANSFORMATION,
    FieldSource,
    WriteLineage,
)
from hubspot_commerce.sync.extract import Window, render_query
from hubspot_commerce.sync.mapping import (
    PropertyRule,
    Reference,
    StreamMapping,
    SyncMapping,
    template_columns,
)

# How a value of each mapped type is written (the conversions in mapping.convert_property).
TYPE_STEPS = {
    "number": "as an exact decimal",
    "date": "as epoch milliseconds at midnight UTC",
    "datetime": "as epoch milliseconds",
    "bool": "as true or false",
}
# prepare writes each stream's counts against the sync state beside its write inputs (RunStorage.plan).
STATE_FILE = "plan.json"


def stream_query(mapping: SyncMapping, stream: StreamMapping) -> str:
    """The stream's query as a full refresh renders it: the tables and columns it reads (the window only
    changes which rows)."""
    return render_query(stream.sql, Window(None, None, full_refresh=True), mapping.sql_dir)


def stream_queries(mapping: SyncMapping) -> dict[str, str]:
    """Every stream's query (``stream_query``), by stream."""
    return {name: stream_query(mapping, stream) for name, stream in mapping.streams.items()}


def template_sources(template: str, steps: list[str]) -> tuple[FieldSource, ...]:
    """The columns of a template (one column alone is that column), each with the steps that follow."""
    columns = sorted(template_columns(template))
    plain = len(columns) == 1 and template == f"{{{columns[0]}}}"
    return column_sources(columns, steps if plain else [f"template {template!r}", *steps])


def column_sources(columns: list[str], steps: list[str]) -> tuple[FieldSource, ...]:
    """Each column as a direct source: an identity when no step changes its value."""
    subtype = TRANSFORMATION if steps else IDENTITY
    description = "; ".join(steps) or None
    return tuple(FieldSource(column, DIRECT, subtype, description) for column in columns)


def property_sources(rule: PropertyRule) -> tuple[FieldSource, ...]:
    """The columns of one mapped property, with what the mapping does to them; none for a constant."""
    steps = [TYPE_STEPS[rule.type]] if rule.type in TYPE_STEPS else []
    if rule.lowercase:
        steps.append("lower-cased")
    if rule.values:
        steps.append("through the values " + ", ".join(f"{k} -> {v}" for k, v in rule.values.items()))
    if rule.template is not None:
        return template_sources(rule.template, steps)
    return column_sources([rule.column], steps) if rule.column else ()


def reference_sources(ref: Reference) -> tuple[FieldSource, ...]:
    """A property set from a reference holds the HubSpot id of the referenced stream's record of that key."""
    return template_sources(ref.key, [f"the HubSpot id of the {ref.stream} record with this key"])


def field_sources(stream: StreamMapping, key_property: str | None) -> dict[str, tuple[FieldSource, ...]]:
    """Per HubSpot property the stream writes, its source columns: mapped properties, properties set from
    references, and ``key_property`` (the source key creates carry) when given."""
    fields = {rule.name: property_sources(rule) for rule in stream.properties}
    fields |= {ref.property: reference_sources(ref) for ref in stream.references if ref.property}
    if key_property:
        fields[key_property] = template_sources(stream.key, [])
    return fields


def write_lineage(
    stream: StreamMapping, query: str, key_property: str | None, source_conn_id: str
) -> WriteLineage:
    """What a write task of ``stream`` tells OpenLineage about where its values come from; ``query`` is the
    stream's (``stream_query``), rendered once for all its write tasks."""
    return WriteLineage(source_conn_id, query, field_sources(stream, key_property), STATE_FILE)
