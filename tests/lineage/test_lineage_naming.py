"""How HubSpot objects and sources without OpenLineage naming are named."""

from __future__ import annotations

from hubspot_commerce.lineage.naming import (
    SourceNaming,
    fallback_source_naming,
    hubspot_asset_name,
    hubspot_asset_uri,
    hubspot_namespace,
)


def test_a_portals_object_type_is_one_dataset_and_its_asset_uri_is_namespace_then_name() -> None:
    assert hubspot_namespace("24681357") == "hubspot://24681357"
    assert hubspot_asset_uri("24681357", "line_items") == "hubspot://24681357/line_items"
    assert hubspot_asset_name("24681357", "line_items") == "hubspot_24681357_line_items"


def test_sqlite_is_named_by_its_file_with_tables_in_main() -> None:
    assert fallback_source_naming("sqlite", "/data/shop.sqlite", None) == SourceNaming(
        "sqlite:///data/shop.sqlite", "sqlite", "main"
    )


def test_another_database_without_naming_is_its_connection_type_host_and_port() -> None:
    assert fallback_source_naming("vertica", "db.internal", 5433) == SourceNaming(
        "vertica://db.internal:5433", "generic", None
    )
    assert fallback_source_naming("duckdb", "warehouse", None).namespace == "duckdb://warehouse"
