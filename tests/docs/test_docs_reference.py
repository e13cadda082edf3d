"""The reference pages list exactly what the code has: every Param, ``build_dag`` argument, connection extra,
setting, mapping key, error, scope, query column and make target, and nothing the code no longer has."""

from __future__ import annotations

import inspect
import re
from dataclasses import fields

import pytest
from doc_pages import DOCS, first_column_names, section, table_rows
from shell_checks import hubspot_extras, make_targets, package_settings
from source_queries import named_columns

from hubspot_commerce.sync.mapping import STREAM_KEYS, KeyProperty, PropertyRule, Reference, load_mapping

REFERENCE = DOCS / "reference"


def test_the_params_page_lists_every_param_of_the_dag() -> None:
    from hubspot_commerce.sync_dag import build_dag

    listed = first_column_names(REFERENCE / "params.md", "Params (the trigger form)")
    assert listed == list(build_dag().params)


def test_the_build_dag_page_lists_every_argument_in_order() -> None:
    from hubspot_commerce.sync_dag import build_dag

    listed = first_column_names(REFERENCE / "build-dag.md", "`build_dag` arguments")
    assert listed == list(inspect.signature(build_dag).parameters)


def test_the_settings_table_lists_every_setting_the_package_reads() -> None:
    rows = table_rows(section(REFERENCE / "build-dag.md", "Settings"))
    assert {re.sub(r"`", "", row[0]) for row in rows} == package_settings()
    assert all(row[1] == f"`AIRFLOW__HUBSPOT_COMMERCE__{row[0].strip('`').upper()}`" for row in rows)


def test_the_connection_page_lists_every_extra_the_hook_reads() -> None:
    listed = first_column_names(REFERENCE / "connection.md", "Fields and extras")
    assert sorted(listed) == sorted(hubspot_extras())


def test_the_scopes_table_lists_what_a_full_run_of_the_default_mapping_needs() -> None:
    from hubspot_commerce.objects import missing_scopes

    mapping = load_mapping()
    needed = missing_scopes(set(), mapping.object_types, mapping.object_types, mapping.keyed_object_types)
    assert sorted(first_column_names(REFERENCE / "connection.md", "Scopes")) == sorted(needed)


@pytest.mark.parametrize(
    ("heading", "keys"),
    [
        ("`key_property`", {item.name for item in fields(KeyProperty)}),
        ("A stream (`streams.<name>`)", STREAM_KEYS),
        (
            "A property (`properties.<HubSpot property>`)",
            {item.name for item in fields(PropertyRule)} - {"name"},
        ),
        ("A reference (`references.<name>`)", {item.name for item in fields(Reference)} - {"name"}),
    ],
)
def test_the_mapping_page_lists_every_key_load_mapping_accepts(heading: str, keys: set[str]) -> None:
    assert sorted(first_column_names(REFERENCE / "mapping.md", heading)) == sorted(keys)


def test_the_default_mapping_table_names_every_stream_with_its_query_and_key() -> None:
    rows = table_rows(section(REFERENCE / "mapping.md", "The default mapping"))
    streams = load_mapping().streams
    assert [(row[0], row[1], row[4]) for row in rows] == [
        (f"`{name}`", f"`{stream.sql}`", f"`{stream.key}`") for name, stream in streams.items()
    ]


def test_the_sql_page_lists_the_columns_each_query_returns_for_the_mapping() -> None:
    """Each default query's row names exactly the columns its stream's mapping uses."""
    rows = {
        row[0].strip("`"): row[2] for row in table_rows(section(REFERENCE / "source-sql.md", "The SQL files"))
    }
    for stream in load_mapping().streams.values():
        listed = set(re.findall(r"`(\w+)`", rows[f"{stream.sql}.sql"]))
        assert listed == named_columns(stream), stream.sql


def test_the_errors_page_explains_every_exception_of_the_package() -> None:
    from hubspot_commerce import errors

    defined = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == errors.__name__
    }
    assert sorted(first_column_names(REFERENCE / "errors.md", "The exceptions")) == sorted(defined)


def test_the_command_line_page_lists_every_make_target() -> None:
    listed = {name.split()[1] for name in first_column_names(REFERENCE / "cli.md", "make targets")}
    assert listed == make_targets()
