"""``build_dag()``: the ``hubspot_commerce_sync`` DAG. Wiring only; every step lives in ``sync.steps``.

setup -> extract -> validate -> per stream, as soon as the streams it refers to are written: prepare (plan
against HubSpot) -> may_write (dry run, selection) -> write (``HubSpotBatchOperator``: products and contacts
upsert; others create, and update what changed) -> report. Streams that do not refer to each other run at
the same time. Tasks hand each other files in the run's directory on object storage (``work_dir``) and small
XCom values; HubSpot ids travel over XCom as ``{"ids": {source key: HubSpot id}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import (
    DAG,
    Asset,
    CronDataIntervalTimetable,
    ExceptionRetryPolicy,
    Param,
    RetryAction,
    RetryRule,
    TriggerRule,
    get_current_context,
    task,
)

from hubspot_commerce.errors import (
    HubSpotAuthError,
    HubSpotDailyLimitReached,
    HubSpotRateLimited,
    HubSpotRejectedRecords,
    HubSpotServerError,
    HubSpotValidationError,
)
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.operators.batch import HubSpotBatchOperator
from hubspot_commerce.storage import default_work_dir, storage_path
from hubspot_commerce.sync import steps
from hubspot_commerce.sync.extract import resolve_window, sql_source
from hubspot_commerce.sync.mapping import StreamMapping, load_mapping
from hubspot_commerce.sync.run_storage import RunStorage

DAG_ID = "hubspot_commerce_sync"

# Retry what can pass on a later try (rate limits, HubSpot outages); fail at once on what cannot.
HUBSPOT_RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=HubSpotRateLimited,
            retry_delay=timedelta(seconds=30),
            reason="HubSpot rate limit (429): retry after a pause",
        ),
        RetryRule(exception=HubSpotServerError, reason="HubSpot server error: retry"),
        RetryRule(
            exception=[
                HubSpotAuthError,  # and HubSpotMissingScopes, its subclass
                HubSpotValidationError,
                HubSpotDailyLimitReached,
                HubSpotRejectedRecords,
            ],
            action=RetryAction.FAIL,
            reason="HubSpot refused the request: a retry cannot succeed",
        ),
    ]
)


def sync_params(stream_names: list[str]) -> dict[str, Param]:
    """The trigger form: dry run, full refresh, the streams to write, an explicit window."""
    return {
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Extract, validate and plan against HubSpot; write nothing.",
        ),
        "full_refresh": Param(
            False,
            type="boolean",
            title="Full refresh",
            description="Sync every row in the source, ignoring the window.",
        ),
        "objects": Param(
            stream_names,
            type="array",
            title="Objects",
            items={"type": "string", "enum": stream_names},
            description="Streams to write; the others are only read to resolve links.",
        ),
        "window_start": Param(
            None,
            type=["null", "string"],
            format="date-time",
            title="Window start",
            description="With window_end: sync rows updated in [start, end) (UTC).",
        ),
        "window_end": Param(None, type=["null", "string"], format="date-time", title="Window end"),
    }


def write_tasks(
    stream: StreamMapping, *, key_property: str, hubspot_conn_id: str, pool: str, max_rejected_fraction: float
) -> list[HubSpotBatchOperator]:
    """The stream's write tasks: one upsert (an ``upsert_by`` stream), or a create and an update. Each
    reads its inputs from, and writes its outputs to, the stream's directory of the run."""
    actions = ["upsert"] if stream.upsert_by else ["create", "update"]
    return [
        HubSpotBatchOperator(
            task_id=f"{action}_{stream.name}",
            object_type=stream.object_type,
            action=action,
            inputs=f"{{{{ sync_input(run_id, '{stream.name}', '{action}') }}}}",
            id_property=stream.upsert_by,
            key_property=key_property if action == "create" else None,
            hubspot_conn_id=hubspot_conn_id,
            max_rejected_fraction=max_rejected_fraction,
            output_dir=f"{{{{ sync_stream_dir(run_id, '{stream.name}') }}}}",
            max_inline_ids=10**9,  # large id maps go to the XCom backend's object storage instead
            pool=pool,
            outlets=[Asset(name=f"hubspot_{stream.object_type}", uri=f"hubspot://crm/{stream.object_type}")],
        )
        for action in actions
    ]


def build_dag(
    dag_id: str = DAG_ID,
    *,
    source_conn_id: str = "commerce_source",
    hubspot_conn_id: str = "hubspot_default",
    mapping_path: str | Path | None = None,
    work_dir: str | None = None,
    pool: str = "hubspot_api",
    cron: str = "0 3 * * *",
    start_date: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    retries: int = 3,
    retry_delay: timedelta = timedelta(minutes=2),
    max_rejected_fraction: float = 0.01,
) -> DAG:
    """Build the nightly commerce sync.

    :param source_conn_id: a connection whose hook is a common-sql ``DbApiHook`` (any SQL database).
    :param mapping_path: the mapping YAML (default: the package's ``include/mappings/commerce.yaml``).
    :param work_dir: where runs keep what their tasks hand each other: an object-storage URL
        (``s3://<aws_conn_id>@bucket/prefix``, ``gs://...``, ``file:///...``) every worker can reach;
        default ``[hubspot_commerce] work_dir``, else ``$AIRFLOW_HOME/hubspot_commerce``.
    :param max_rejected_fraction: a write task fails (after every good record landed) when HubSpot rejects
        more than this fraction of its records; rows rejected by validation never reach HubSpot.
    """
    mapping = load_mapping(mapping_path)
    work_root = storage_path(work_dir) if work_dir else default_work_dir()

    def storage(run_id: str | None = None) -> RunStorage:
        return RunStorage.for_run(work_root, dag_id, run_id or get_current_context()["run_id"])

    def hubspot() -> HubSpotHook:
        return HubSpotHook(hubspot_conn_id=hubspot_conn_id)

    with DAG(
        dag_id=dag_id,
        description="Sync products, contacts, orders with line items, payments and carts into HubSpot",
        schedule=CronDataIntervalTimetable(cron, timezone="UTC"),
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        doc_md=__doc__,
        tags=["hubspot", "commerce"],
        default_args={"retries": retries, "retry_delay": retry_delay, "retry_policy": HUBSPOT_RETRY_POLICY},
        user_defined_macros={
            "sync_input": lambda run_id, stream, action: str(storage(run_id).write_input(stream, action)),
            "sync_stream_dir": lambda run_id, stream: str(storage(run_id).stream_dir(stream)),
        },
        params=sync_params(list(mapping.streams)),
    ) as dag:

        @task(task_id="setup", pool=pool, multiple_outputs=False)
        def setup() -> dict[str, str]:
            """Read the portal's property definitions; ensure the unique source-key property exists."""
            return steps.setup_step(hubspot(), mapping, storage(), dry_run=bool(_params()["dry_run"]))

        @task(task_id="extract", multiple_outputs=False)
        def extract() -> dict[str, str]:
            """Read the window's rows from the source connection."""
            context = get_current_context()
            # A manual run without a logical date has no data interval: the window falls back on run_after.
            window = resolve_window(
                context["params"],
                context.get("data_interval_start"),
                context.get("data_interval_end"),
                context["dag_run"].run_after,
            )
            return steps.extract_step(sql_source(source_conn_id), mapping, window, storage())

        @task(task_id="validate", multiple_outputs=False)
        def validate() -> dict[str, str]:
            """Check every row against HubSpot's property definitions and the references between rows."""
            return steps.validate_step(mapping, storage())

        # Runs when an earlier stream's writes were skipped (dry run, not selected), not when one failed.
        @task(pool=pool, multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED)
        def prepare(stream: str, upstream: Mapping[str, list[Any]]) -> dict[str, dict[str, str]]:
            """Plan one stream against HubSpot; return the ids of its records that exist already."""
            params = _params()
            selected = stream in params["objects"]
            ids = steps.referenced_ids(upstream)
            dry_run = bool(params["dry_run"])
            return steps.prepare_step(hubspot(), mapping, stream, storage(), ids, selected, dry_run)

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def may_write(stream: str) -> bool:
            """Skip the stream's write tasks on a dry run or when the stream is not selected, so they send
            nothing and emit no Asset event."""
            params = _params()
            return not params["dry_run"] and stream in params["objects"]

        @task(task_id="report", multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED)
        def report(
            validation: Mapping[str, str], extracted: Mapping[str, str], writes: Mapping[str, Any]
        ) -> str:
            """Print per stream: extracted, created, updated, unchanged, rejected; where rejected rows are."""
            files = storage()
            print(steps.report_step(mapping, files, _params(), validation, extracted, writes))
            return str(files.report)

        extracted = extract()
        validated = validate()
        setup() >> extracted >> validated
        outputs: dict[str, list[Any]] = {}
        writes: dict[str, Any] = {}
        for name, stream in mapping.streams.items():
            upstream = {ref.stream: outputs[ref.stream] for ref in stream.references}
            planned = prepare.override(task_id=f"prepare_{name}")(name, upstream)
            gate = may_write.override(task_id=f"may_write_{name}")(name)
            writers = write_tasks(
                stream,
                key_property=mapping.key_property.name,
                hubspot_conn_id=hubspot_conn_id,
                pool=pool,
                max_rejected_fraction=max_rejected_fraction,
            )
            validated >> planned >> gate >> writers
            outputs[name] = [planned, *(writer.output for writer in writers)]
            writes.update({f"{name}.{writer.action}": writer.output for writer in writers})
        report(validated, extracted, writes)
    return dag


def _params() -> Mapping[str, Any]:
    return get_current_context()["params"]
