"""``build_dag()``: the ``hubspot_commerce_sync`` DAG. Wiring only; every step lives in ``sync.steps``.

setup -> extract -> validate -> per stream (in mapping order): prepare (plan against HubSpot) -> write
(``HubSpotBatchOperator``: products and contacts upsert; others create, and update what changed) -> report.
HubSpot ids travel over XCom as flat ``{source key: HubSpot id}`` maps.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import (
    DAG,
    Asset,
    BaseHook,
    CronDataIntervalTimetable,
    ExceptionRetryPolicy,
    Param,
    RetryAction,
    RetryRule,
    TriggerRule,
    get_current_context,
    task,
)

from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.operators.batch import HubSpotBatchOperator, load_ids
from hubspot_commerce.sync import steps
from hubspot_commerce.sync.extract import resolve_window
from hubspot_commerce.sync.mapping import load_mapping
from hubspot_commerce.sync.report import format_report, stream_counts
from hubspot_commerce.sync.run_files import RunFiles, read_json, run_directory

DAG_ID = "hubspot_commerce_sync"

# Retry what can pass on a later try (rate limits, HubSpot outages); fail at once on what cannot.
HUBSPOT_RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception="hubspot_commerce.errors.HubSpotRateLimited",
            retry_delay=timedelta(seconds=30),
            reason="HubSpot rate limit (429): retry after a pause",
        ),
        RetryRule(
            exception="hubspot_commerce.errors.HubSpotServerError", reason="HubSpot server error: retry"
        ),
        RetryRule(
            exception=[
                "hubspot_commerce.errors.HubSpotAuthError",
                "hubspot_commerce.errors.HubSpotMissingScopes",
                "hubspot_commerce.errors.HubSpotValidationError",
                "hubspot_commerce.errors.HubSpotDailyLimitReached",
                "hubspot_commerce.errors.HubSpotRejectedRecords",
            ],
            action=RetryAction.FAIL,
            reason="HubSpot refused the request: a retry cannot succeed",
        ),
    ]
)


def default_work_dir() -> Path:
    """Run directories go under ``$AIRFLOW_HOME/hubspot_commerce`` unless the factory is told otherwise."""
    return Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow")) / "hubspot_commerce"


def build_dag(
    dag_id: str = DAG_ID,
    *,
    source_conn_id: str = "commerce_source",
    hubspot_conn_id: str = "hubspot_default",
    mapping_path: str | Path | None = None,
    work_dir: str | Path | None = None,
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
    :param work_dir: where runs keep intermediate files; shared storage with a distributed executor.
    :param max_rejected_fraction: a write task fails (after every good record landed) when HubSpot rejects
        more than this fraction of its records; rows rejected by validation never reach HubSpot.
    """
    mapping = load_mapping(mapping_path)
    work_root = Path(work_dir or default_work_dir())
    key_property = mapping.key_property.name
    stream_names = list(mapping.streams)

    def files_for(run_id: str) -> RunFiles:
        return RunFiles(run_directory(work_root, dag_id, run_id))

    def write_input(run_id: str, stream: str, action: str) -> str:
        return str(files_for(run_id).write_input(stream, action))

    def stream_dir(run_id: str, stream: str) -> str:
        return str(files_for(run_id).root / stream)

    def hubspot() -> HubSpotHook:
        return HubSpotHook(hubspot_conn_id=hubspot_conn_id)

    def run_files() -> RunFiles:
        return files_for(get_current_context()["run_id"])

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
        user_defined_macros={"sync_input": write_input, "sync_stream_dir": stream_dir},
        params={
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
        },
    ) as dag:

        @task(task_id="setup", pool=pool, multiple_outputs=False)
        def setup() -> dict[str, str]:
            """Ensure the unique source-key property exists on every object type the sync creates."""
            return steps.setup_key_properties(hubspot(), mapping, dry_run=bool(_params()["dry_run"]))

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
            connection = BaseHook.get_connection(source_conn_id)
            source = connection.get_hook()
            if not hasattr(source, "get_df"):
                raise TypeError(
                    f"connection {source_conn_id!r} (type {connection.conn_type!r}) is not a SQL "
                    "connection: its hook has no get_df (use a common-sql DbApiHook connection)"
                )
            return steps.extract_step(source, mapping, window, run_files())

        @task(task_id="validate", pool=pool, multiple_outputs=False)
        def validate() -> dict[str, str]:
            """Check every row against HubSpot's property definitions and the references between rows."""
            return steps.validate_step(hubspot(), mapping, run_files())

        # Runs when an earlier stream's writes were skipped (dry run, not selected), not when one failed.
        @task(pool=pool, multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED)
        def prepare(stream: str, upstream: Mapping[str, list[Any]]) -> dict[str, str]:
            """Plan one stream against HubSpot; return the ids of its records that exist already."""
            params = _params()
            ids = {
                name: steps.merge_ids(*(_inline_ids(value) for value in values))
                for name, values in upstream.items()
            }
            return steps.prepare_step(
                hubspot(),
                mapping,
                stream,
                run_files(),
                ids,
                selected=stream in params["objects"],
                dry_run=bool(params["dry_run"]),
            )

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def may_write(stream: str) -> bool:
            """Skip the stream's write tasks on a dry run or when the stream is not selected, so they send
            nothing and emit no Asset event."""
            params = _params()
            return not params["dry_run"] and stream in params["objects"]

        @task(task_id="report", multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED)
        def report(
            validation: Mapping[str, str],
            extracted: Mapping[str, str],
            writes: Mapping[str, Mapping[str, Any] | None],
        ) -> str:
            """Print per stream: extracted, created, updated, unchanged, rejected; where rejected rows are."""
            params = _params()
            files = run_files()
            plans = {name: read_json(files.plan(name)) for name in stream_names}
            steps.collect_rejected(files, stream_names)
            hubspot_rejected = sorted(
                str(result["rejected_path"])
                for result in writes.values()
                if result and result.get("rejected_path")
            )
            text = format_report(
                stream_counts(mapping, validation, plans, writes, bool(params["dry_run"])),
                extracted.get("window", ""),
                bool(params["dry_run"]),
                list(params["objects"]),
                str(files.all_rejected),
                hubspot_rejected,
            )
            files.report.write_text(text + "\n")
            files.remove_row_copies()
            print(text)
            return str(files.report)

        extracted = extract()
        validated = validate()
        setup() >> extracted >> validated
        outputs: dict[str, list[Any]] = {}
        writes: dict[str, Any] = {}
        for name, stream in mapping.streams.items():
            upstream = {ref.stream: outputs[ref.stream] for ref in stream.references}
            planned = prepare.override(task_id=f"prepare_{name}")(name, upstream)
            validated >> planned
            actions = ["upsert"] if stream.upsert_by else ["create", "update"]
            outputs[name] = [planned]
            gate = may_write.override(task_id=f"may_write_{name}")(name)
            planned >> gate
            for action in actions:
                writer = HubSpotBatchOperator(
                    task_id=f"{action}_{name}",
                    object_type=stream.object_type,
                    action=action,
                    inputs=f"{{{{ sync_input(run_id, '{name}', '{action}') }}}}",
                    id_property=stream.upsert_by,
                    key_property=key_property if action == "create" else None,
                    hubspot_conn_id=hubspot_conn_id,
                    max_rejected_fraction=max_rejected_fraction,
                    rejected_dir=f"{{{{ sync_stream_dir(run_id, '{name}') }}}}",
                    max_inline_ids=10**9,  # large id maps go to the XCom backend's object storage instead
                    pool=pool,
                    outlets=[
                        Asset(name=f"hubspot_{stream.object_type}", uri=f"hubspot://crm/{stream.object_type}")
                    ],
                )
                gate >> writer
                outputs[name].append(writer.output)
                writes[f"{name}.{action}"] = writer.output
        report(validated, extracted, writes)
    return dag


def _params() -> Mapping[str, Any]:
    return get_current_context()["params"]


def _inline_ids(value: Any) -> Mapping[str, str] | None:
    """A prepare step's id map, or a write task's ``ids`` (inline, or a file path for very large maps)."""
    if isinstance(value, Mapping) and "ids" in value:
        return load_ids(value["ids"])
    return value
