"""The tables a source query reads and the table columns behind each of its columns, named as common-sql's
OpenLineage support names them (``SQLExecuteQueryOperator``): the namespace from the connection's hook
(``get_openlineage_database_info``), ``[database.]schema.table`` from OpenLineage's SQL parser. Needs
``apache-airflow-providers-openlineage``: import it only where that is installed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow.providers.openlineage.sqlparser import SQLParser, from_table_meta
from airflow.sdk import BaseHook

from hubspot_commerce.lineage.naming import SourceNaming, fallback_source_naming


@dataclass(frozen=True)
class SourceTables:
    """What one query reads: the dataset names of its tables (all in ``namespace``) and, per query column
    (lower-cased), the ``(table, column)`` pairs its values come from."""

    namespace: str
    tables: list[str]
    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def source_naming(hook: Any, connection: Any) -> SourceNaming:
    """The connection's naming as its hook gives it; the documented fallback when it gives none."""
    database_info = getattr(hook, "get_openlineage_database_info", None)
    info = database_info(connection) if database_info else None
    if info is None:
        return fallback_source_naming(connection.conn_type, connection.host, connection.port)
    return SourceNaming(
        SQLParser.create_namespace(info),
        hook.get_openlineage_database_dialect(connection),
        hook.get_openlineage_default_schema(),
        info.database,
        info.is_uppercase_names,
    )


def parse_query(query: str, naming: SourceNaming) -> SourceTables:
    """The tables and column sources of one query (none when the parser cannot read it)."""
    parser = SQLParser(dialect=naming.dialect, default_schema=naming.default_schema)
    meta = parser.parse(parser.split_sql_string(query))
    if meta is None:
        return SourceTables(naming.namespace, [])

    def name(table: Any) -> str:
        return from_table_meta(table, naming.database, naming.namespace, naming.uppercase).name

    columns = {
        item.descendant.name.lower(): [(name(c.origin), c.name) for c in item.lineage if c.origin]
        for item in meta.column_lineage
    }
    return SourceTables(naming.namespace, sorted({name(table) for table in meta.in_tables}), columns)


def source_tables(conn_id: str, queries: Mapping[str, str]) -> dict[str, SourceTables]:
    """Per query (by stream), what it reads on the SQL connection ``conn_id``."""
    connection = BaseHook.get_connection(conn_id)
    naming = source_naming(connection.get_hook(), connection)
    return {stream: parse_query(query, naming) for stream, query in queries.items()}
