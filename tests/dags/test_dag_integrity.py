"""The DAG loads, and is wired the way the docs promise: schedule, params, pool, retries, assets."""

from __future__ import annotations

import dataclasses

import pytest
from airflow.sdk import Asset, AssetAlias, CronDataIntervalTimetable
from airflow.sdk.exceptions import AirflowNotFoundException

from hubspot_commerce.errors import (
    HubSpotConfigurationError,
    HubSpotMissingScopes,
    HubSpotRateLimited,
    HubSpotRejectedRecords,
    HubSpotUnavailable,
    HubSpotUncertainWrites,
    SyncConfigurationError,
)
from hubspot_commerce.sync.mapping import load_mapping
from hubspot_commerce.sync_dag import key_property_of, rejected_fraction_template

HUBSPOT_TASKS = {"setup", "plan_quota"}  # validate reads the definitions setup kept; it sends nothing


def test_dag_loads_with_its_schedule_and_params(sync_dag) -> None:
    assert isinstance(sync_dag.timetable, CronDataIntervalTimetable)
    assert sync_dag.catchup is False
    params = sync_dag.params.dump()
    assert params["dry_run"] is False and params["full_refresh"] is False
    assert params["window_start"] is None and params["window_end"] is None
    assert params["objects"] == [
        "products",
        "contacts",
        "orders",
        "order_line_items",
        "payments",
        "carts",
        "cart_line_items",
    ]


def test_task_order_follows_the_commerce_graph(sync_dag) -> None:
    upstream = {task.task_id: task.upstream_task_ids for task in sync_dag.tasks}
    assert upstream["extract"] == set() and upstream["setup"] == set(), "HubSpot and the source side by side"
    assert upstream["validate"] == {"setup", "extract"}
    assert upstream["plan_quota"] == {"validate"}
    assert {"upsert_contacts", "create_orders"} <= upstream["prepare_payments"]
    assert {"upsert_products", "create_orders", "update_orders"} <= upstream["prepare_order_line_items"]
    assert {"create_carts", "upsert_products"} <= upstream["prepare_cart_line_items"]
    writers = {t.task_id for t in sync_dag.tasks if t.task_type == "HubSpotBatchOperator"}
    assert writers == {
        "upsert_products",
        "upsert_contacts",
        "create_orders",
        "update_orders",
        "create_order_line_items",
        "update_order_line_items",
        "create_payments",
        "update_payments",
        "create_carts",
        "update_carts",
        "create_cart_line_items",
        "update_cart_line_items",
    }
    assert writers <= sync_dag.get_task("report").upstream_task_ids
    for writer in writers:
        stream = writer.split("_", 1)[1]
        assert upstream[writer] == {f"prepare_{stream}", "plan_quota"}, "after the run's quota plan"
        assert sync_dag.get_task(writer).skip_if_empty, "dry runs and unselected streams write no input"


def test_streams_that_do_not_refer_to_each_other_run_at_the_same_time(sync_dag) -> None:
    """Products beside contacts, carts and their lines beside orders, payments beside order lines: two
    workers have two independent chains to run."""

    def stream_tasks(stream: str) -> set[str]:
        return {t.task_id for t in sync_dag.tasks if t.task_id.endswith(f"_{stream}")}

    def depends(stream: str, on: str) -> bool:
        ancestors = set().union(
            *(sync_dag.get_task(t).get_flat_relative_ids(upstream=True) for t in stream_tasks(stream))
        )
        return bool(ancestors & stream_tasks(on))

    independent = [
        ("products", "contacts"),
        ("orders", "carts"),
        ("orders", "cart_line_items"),
        ("payments", "order_line_items"),
        ("order_line_items", "carts"),
    ]
    for first, second in independent:
        assert not depends(first, second) and not depends(second, first), (first, second)
    assert depends("order_line_items", "orders") and depends("cart_line_items", "products")


def test_hubspot_tasks_share_the_pool_and_retry_policy(sync_dag) -> None:
    for task in sync_dag.tasks:
        calls_hubspot = task.task_id in HUBSPOT_TASKS or task.task_id.startswith(
            ("prepare_", "upsert_", "create_", "update_")
        )
        assert (task.pool == "hubspot_api") == calls_hubspot, task.task_id
        assert task.retry_policy is not None, task.task_id
    rules = sync_dag.get_task("create_orders").retry_policy.rules
    assert [rule.action.value for rule in rules] == ["retry", "retry", "fail", "fail"]


def test_every_task_records_its_cause_and_the_report_reads_what_ran(sync_dag) -> None:
    """A task that failed for good records its cause for the report (its ``on_failure_callback``); the report
    runs after extract, validate and every write, reading their results itself."""
    assert all(len(task.on_failure_callback) == 1 for task in sync_dag.tasks)
    report = sync_dag.get_task("report")
    assert {"extract", "validate"} <= report.upstream_task_ids
    assert not report.op_args and not report.op_kwargs, (
        "no XComArg: nothing pulled for a task that did not run"
    )


def test_one_asset_and_one_portal_alias_per_hubspot_object_type(sync_dag) -> None:
    """Each write emits the object type's Asset, schedulable without knowing the portal, and through an
    alias the Asset of the object type in the portal it wrote to (``hubspot://<portal id>/<object type>``,
    OpenLineage's name for it), known only once the run has read the portal's id."""
    object_types = ("products", "contacts", "orders", "line_items", "commerce_payments", "carts")
    outlets = [outlet for task in sync_dag.tasks for outlet in task.outlets]
    assert {outlet.uri for outlet in outlets if isinstance(outlet, Asset)} == {
        f"hubspot://crm/{name}" for name in object_types
    }
    aliases = {outlet.name for outlet in outlets if isinstance(outlet, AssetAlias)}
    assert aliases == {f"hubspot_portal_{name}" for name in object_types}
    writers = [task for task in sync_dag.tasks if task.task_type == "HubSpotBatchOperator"]
    assert all(len(task.outlets) == 2 for task in writers)


def test_creates_are_exactly_once_by_the_source_key_property(sync_dag) -> None:
    """Every create task names the unique key property (what makes a lost answer safe to retry), and every
    update task too (to create anew a record HubSpot no longer has); upserts need none."""
    writers = {
        t.task_id: t for t in sync_dag.tasks if t.task_id.startswith(("create_", "update_", "upsert_"))
    }
    assert writers
    for task_id, task in writers.items():
        if task_id.startswith(("create_", "update_")):
            assert (task.action, task.key_property) == (task_id.split("_")[0], "airflow_source_key"), task_id
        else:
            assert task.key_property is None, task_id
    assert {t.id_property for i, t in writers.items() if i.startswith("upsert_")} == {"hs_sku", "email"}


@pytest.mark.parametrize(
    ("error", "action"),
    [
        pytest.param(HubSpotUnavailable("HubSpot did not answer"), "retry", id="outage"),
        pytest.param(HubSpotRateLimited("429", policy=None, retry_after=None), "retry", id="rate-limit"),
        pytest.param(AirflowNotFoundException("conn_id `shop` is not defined"), "fail", id="no-connection"),
        pytest.param(SyncConfigurationError("window_start and window_end ..."), "fail", id="params"),
        pytest.param(HubSpotConfigurationError("api_version must be one of ..."), "fail", id="api-version"),
        pytest.param(HubSpotMissingScopes("403", scopes=["crm.objects.carts.write"]), "fail", id="scopes"),
        pytest.param(HubSpotUncertainWrites("in doubt"), "fail", id="in-doubt"),
        pytest.param(HubSpotRejectedRecords("rejected"), "fail", id="rejected"),
    ],
)
def test_the_retry_policy_retries_outages_and_fails_at_once_on_what_cannot_pass(sync_dag, error, action):
    """Judged by the policy of the DAG as Airflow loads it (serialized rules, resolved classes)."""
    policy = sync_dag.get_task("create_orders").retry_policy
    assert policy.evaluate(error, try_number=1, max_tries=4).action.value == action


def test_a_write_allows_the_streams_own_rejected_fraction_else_the_runs_param() -> None:
    orders = load_mapping().streams["orders"]
    assert rejected_fraction_template(orders) == "{{ params.max_rejected_fraction }}"
    assert rejected_fraction_template(dataclasses.replace(orders, max_rejected_fraction=0.25)) == 0.25
    assert key_property_of(load_mapping(), "upsert") is None
    assert key_property_of(load_mapping(), "update") == "airflow_source_key"
