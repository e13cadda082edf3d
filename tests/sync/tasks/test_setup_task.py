"""The setup task against the sandbox: every definition read once and nothing written (the key property is
plan_quota's), a window with one end refused before any request, every missing scope named once and grouped
before anything is written, a token HubSpot refuses named as refused without a warning about scopes."""

from __future__ import annotations

import json
import logging

import pytest

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.errors import HubSpotAuthError, HubSpotMissingScopes, SyncConfigurationError
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.storage import read_json
from hubspot_commerce.sync.mapping import SyncMapping
from hubspot_commerce.sync.run_options import RunOptions
from hubspot_commerce.sync.tasks.setup_task import setup_step
from hubspot_commerce.sync.tasks.task_context import RunContext
from hubspot_sandbox.process import SandboxProcess

OBJECT_TYPES = {"products", "contacts", "orders", "line_items", "commerce_payments", "carts"}
KEYED = {"orders", "line_items", "commerce_payments", "carts"}
TO_CREATE = "missing (plan_quota creates it before the first write)"


def run_of(mapping: SyncMapping, files: RunStorage, **options) -> RunContext:
    """A run that writes every stream (none on a dry run)."""
    return RunContext(mapping, files, RunOptions(objects=tuple(mapping.streams), **options))


def _property_requests(sandbox) -> dict[str, int]:
    return {path: n for path, n in sandbox.stats()["by_path"].items() if "/properties/" in path}


def test_setup_reads_every_definition_once_and_writes_nothing(sandbox, hubspot_conn, mapping, files):
    status = setup_step(run_of(mapping, files), HubSpotHook(hubspot_conn))
    assert status == dict.fromkeys(sorted(KEYED), TO_CREATE)
    assert _property_requests(sandbox) == {f"GET /crm/properties/2026-09/{t}": 1 for t in OBJECT_TYPES}
    assert sandbox.stats()["write_requests"] == 0
    assert not [path for path in sandbox.stats()["by_path"] if path.startswith("POST /crm")]
    for object_type in OBJECT_TYPES:
        assert "airflow_source_key" not in {d["name"] for d in read_json(files.definitions(object_type))}


def test_a_dry_run_setup_needs_no_key_property(sandbox, hubspot_conn, mapping, files):
    status = setup_step(run_of(mapping, files, dry_run=True), HubSpotHook(hubspot_conn))
    assert set(status.values()) == {"missing (not created: nothing of it is written)"}
    assert not any(path.startswith("POST /crm") for path in sandbox.stats()["by_path"])


@pytest.mark.parametrize("end", ["window_start", "window_end"])
def test_a_window_with_one_end_fails_setup_before_any_request(sandbox, hubspot_conn, mapping, files, end):
    with pytest.raises(SyncConfigurationError) as caught:
        setup_step(run_of(mapping, files, **{end: "2025-01-01"}), HubSpotHook(hubspot_conn))
    other = "window_end" if end == "window_start" else "window_start"
    assert str(caught.value).startswith(f"The run was given {end} '2025-01-01' but no {other}: ")
    assert sandbox.stats()["by_path"] == {}


def test_missing_scopes_are_named_once_grouped_before_anything_is_written(mapping, files, monkeypatch):
    """A token that may read and write products and read contacts: one message names every scope a full run
    needs and lacks, grouped, with their number; nothing is created."""
    granted = "crm.objects.products.read,crm.objects.products.write,crm.objects.contacts.read"
    with SandboxProcess(tokens=[f"narrow-token:{granted}"]) as narrow:
        monkeypatch.setenv(
            "AIRFLOW_CONN_HUBSPOT_NARROW",
            json.dumps({"conn_type": "hubspot", "host": narrow.url, "password": "narrow-token"}),
        )
        with pytest.raises(HubSpotMissingScopes) as caught:
            setup_step(run_of(mapping, files), HubSpotHook("hubspot_narrow"))
        assert not any(path.startswith("POST /crm") for path in narrow.stats()["by_path"])
    assert str(caught.value) == (
        "The token of connection 'hubspot_narrow' lacks 13 scopes: records crm.objects.carts.read, "
        "crm.objects.carts.write, crm.objects.commercepayments.read, crm.objects.commercepayments.write, "
        "crm.objects.contacts.write, crm.objects.line_items.read, crm.objects.line_items.write, "
        "crm.objects.orders.read, crm.objects.orders.write; schemas crm.schemas.carts.write, "
        "crm.schemas.commercepayments.write, crm.schemas.line_items.write, crm.schemas.orders.write; add "
        "them to the private app, service key or OAuth app in HubSpot and run again (nothing was written)."
    )
    assert len(caught.value.scopes) == 13 and "crm.objects.products.write" not in caught.value.scopes


def test_a_refused_token_fails_setup_naming_the_connection_without_a_scope_warning(
    sandbox, mapping, files, monkeypatch, caplog
):
    connection = {"conn_type": "hubspot", "host": sandbox.url, "password": "not-a-token"}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_WRONG", json.dumps(connection))
    with pytest.raises(HubSpotAuthError, match=r"^HubSpot refused the token of connection 'hubspot_wrong' "):
        setup_step(run_of(mapping, files), HubSpotHook("hubspot_wrong"))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [path for path in sandbox.stats()["by_path"] if "/properties/" in path]


def test_a_token_hubspot_accepts_but_does_not_describe_is_used_with_a_true_warning(
    sandbox, hubspot_conn, mapping, files, caplog
):
    sandbox.fault(404, path="/oauth/", count=2)
    setup_step(run_of(mapping, files), HubSpotHook(hubspot_conn))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "HubSpot accepts the token of connection 'hubspot_default' but does not say which scopes it has: "
        "they are not checked before writing, and a write that needs a missing one fails naming it"
    ]
