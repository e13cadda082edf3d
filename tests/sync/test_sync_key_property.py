"""The source-key property against the sandbox: created once, after setup, where the run creates records, with
its definition added to the run's stored ones (pipelines kept); nothing on a dry run or when it exists."""

from __future__ import annotations

from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.storage import read_json
from hubspot_commerce.sync.key_property import create_key_property, key_property_requests, keyed_types
from hubspot_commerce.sync.run_options import RunOptions
from hubspot_commerce.sync.tasks.setup_task import setup_step
from hubspot_commerce.sync.tasks.task_context import RunContext

KEY = "airflow_source_key"
KEYED = ["orders", "line_items", "commerce_payments", "carts"]


def _by_name(definitions: list[dict]) -> dict[str, dict]:
    return {d["name"]: d for d in definitions}


def _posts(sandbox) -> dict[str, int]:
    return {path: n for path, n in sandbox.stats()["by_path"].items() if not path.startswith("GET ")}


def test_the_key_property_is_created_once_where_the_run_creates_records(
    sandbox, hubspot_conn, mapping, files
):
    run = RunContext(mapping, files, RunOptions(objects=tuple(mapping.streams)))
    setup_step(run, HubSpotHook(hubspot_conn))
    stage_options = _by_name(read_json(files.definitions("orders")))["hs_pipeline_stage"]["options"]
    before = _posts(sandbox)
    assert key_property_requests(run) == 2 * len(KEYED), "a create and a read each, in the quota plan"

    assert sorted(create_key_property(run, HubSpotHook(hubspot_conn))) == sorted(KEYED)
    created = {p: n - before.get(p, 0) for p, n in _posts(sandbox).items() if n != before.get(p, 0)}
    assert created == {f"POST /crm/properties/2026-09/{t}": 1 for t in KEYED}
    for object_type in KEYED:
        stored = _by_name(read_json(files.definitions(object_type)))
        assert stored[KEY]["hasUniqueValue"] is True, object_type
    orders = _by_name(read_json(files.definitions("orders")))
    assert orders["hs_pipeline_stage"]["options"] == stage_options, "setup's pipeline options are kept"
    assert not list(files.definitions("orders").parent.glob("*.part"))

    setup_step(run, HubSpotHook(hubspot_conn))
    before = sandbox.stats()["by_path"]
    assert key_property_requests(run) == 0
    assert create_key_property(run, HubSpotHook(hubspot_conn)) == []
    assert sandbox.stats()["by_path"] == before, "present everywhere: not a request"


def test_only_the_written_streams_object_types_and_none_on_a_dry_run(sandbox, hubspot_conn, mapping, files):
    assert keyed_types(mapping, ["products", "orders", "contacts"]) == ["orders"]
    assert keyed_types(mapping, ["order_line_items", "cart_line_items"]) == ["line_items"]
    dry = RunContext(mapping, files, RunOptions(objects=tuple(mapping.streams), dry_run=True))
    setup_step(dry, HubSpotHook(hubspot_conn))
    assert key_property_requests(dry) == 2 * len(KEYED), "a dry run plans what a real run would send"
    assert create_key_property(dry, HubSpotHook(hubspot_conn)) == []
    assert _posts(sandbox) == {"POST /oauth/v2/private-apps/get/access-token-info": 1}
