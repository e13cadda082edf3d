"""How the sync names its datasets in OpenLineage and Airflow: HubSpot objects (OpenLineage's naming spec has
none for CRMs) and source databases whose hook gives no OpenLineage naming (SQLite, for one)."""

from __future__ import annotations

from dataclasses import dataclass

HUBSPOT_SCHEME = "hubspot"
# SQLite's name for a connection's own database: ``SELECT * FROM main.orders`` reads ``orders``.
SQLITE_SCHEMA = "main"


def hubspot_namespace(portal_id: str) -> str:
    """One HubSpot account: ``hubspot://<portal id>`` (its objects are the datasets)."""
    return f"{HUBSPOT_SCHEME}://{portal_id}"


def hubspot_asset_uri(portal_id: str, object_type: str) -> str:
    """The Airflow Asset of one object type in one portal: the OpenLineage namespace, then the name."""
    return f"{hubspot_namespace(portal_id)}/{object_type}"


def hubspot_asset_name(portal_id: str, object_type: str) -> str:
    return f"hubspot_{portal_id}_{object_type}"


@dataclass(frozen=True)
class SourceNaming:
    """How a source connection's tables are named: the namespace, the SQL dialect to parse its queries in,
    the schema of unqualified tables and the database of tables named without one."""

    namespace: str
    dialect: str
    default_schema: str | None
    database: str | None = None
    uppercase: bool = False


def fallback_source_naming(conn_type: str, host: str | None, port: int | None) -> SourceNaming:
    """For a database whose hook gives no OpenLineage naming: ``<conn type>://<host>[:<port>]``, as the naming
    spec's databases are named; SQLite is ``sqlite://<file path>``, its tables in schema ``main``."""
    authority = f"{host or ''}{f':{port}' if port else ''}"
    if conn_type == "sqlite":
        return SourceNaming(f"sqlite://{authority}", "sqlite", SQLITE_SCHEMA)
    return SourceNaming(f"{conn_type}://{authority}", "generic", None)
