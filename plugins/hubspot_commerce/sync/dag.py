"""``build_dag()``: the ``hubspot_commerce_sync`` DAG. Wiring only; every step lives in ``sync.steps``.

setup (HubSpot) and extract (the source) side by side -> validate -> plan_quota (the run's requests against
the day's quota, before any write) and, per stream, as soon as the streams it refers to are written: prepare
(plan against HubSpot) -> write (``HubSpotBatchOperator``: products and
contacts upsert; others create, and update what changed; a write with nothing to do ends as skipped) ->
report. Streams that do not refer to each other run at the same time. Tasks hand each other files in the
run's directory on object storage (``work_dir``) and small XCom values; HubSpot ids travel over XCom as
``{"ids": {source key: HubSpot id}}``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import (
    DAG,
    Asset,
    CronDataIntervalTimetable,
    ExceptionRetryPolicy,
    ObjectStoragePath,
    Param,
    RetryAction,
    RetryRule,
    TriggerRule,
    XComArg,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from hubspot_commerce.batch.quota import DEFAULT_RESERVE, ON_QUOTA_SHORT, QuotaRule
from hubspot_commerce.errors import (
    HubSpotAuthError,
    HubSpotConfigurationError,
    HubSpotDailyLimitReached,
    HubSpotQuotaShort,
    HubSpotRateLimited,
    HubSpotRejectedRecords,
    HubSpotServerError,
    HubSpotUncertainWrites,
    HubSpotValidationError,
    MassArchiveRefused,
    SourceRowsRejected,
    SyncConfigurationError,
)
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.operators.batch import MAX_INLINE_IDS, HubSpotBatchOperator
from hubspot_commerce.storage import configured, default_work_dir, storage_path
from hubspot_commerce.sync import steps
from hubspot_commerce.sync.extract import resolve_window, sql_source
from hubspot_commerce.sync.guide import user_guide
from hubspot_commerce.sync.mapping import StreamMapping, SyncMapping, load_mapping
from hubspot_commerce.sync.run_quota import run_quota_step
from hubspot_commerce.sync.run_storage import RunStorage
from hubspot_commerce.sync.state import DEFAULT_TABLE as DEFAULT_STATE_TABLE
from hubspot_commerce.sync.state import SyncState

DAG_ID = "hubspot_commerce_sync"
log = logging.getLogger(__name__)

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
                HubSpotUncertainWrites,
                HubSpotQuotaShort,  # on_quota_short fail: no retry before the reset
                SourceRowsRejected,
                MassArchiveRefused,
            ],
            action=RetryAction.FAIL,
            reason="HubSpot refused the request: a retry cannot succeed",
        ),
        RetryRule(
            exception=[SyncConfigurationError, HubSpotConfigurationError, AirflowNotFoundException],
            action=RetryAction.FAIL,
            reason="fix the configuration first (a connection, a Param, a SQL file, the mapping)",
        ),
    ]
)


def sync_params(stream_names: list[str], max_rejected_fraction: float) -> dict[str, Param]:
    """The trigger form: dry run, full refresh, the streams to write, an explicit window, the share of a
    stream's rows that may be rejected."""
    return {
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Extract, validate and plan against HubSpot; the report says what would be "
            "written; nothing is written.",
        ),
        "full_refresh": Param(
            False,
            type="boolean",
            title="Full refresh",
            description="Sync every row in the source, ignoring the window (a first load).",
        ),
        "objects": Param(
            stream_names,
            type="array",
            title="Objects",
            items={"type": "string", "enum": stream_names},
            examples=stream_names,  # the trigger form shows a multi-select of the stream names
            description="Streams to write, e.g. orders and order_line_items; the others are only read to "
            "resolve links.",
        ),
        "window_start": Param(
            None,
            type=["null", "string"],
            format="date-time",
            title="Window start (UTC)",
            description="With window_end: sync the rows updated from this instant on, in UTC, e.g. "
            "2025-03-01T00:00:00+00:00. Empty: the run's data interval.",
        ),
        "window_end": Param(
            None,
            type=["null", "string"],
            format="date-time",
            title="Window end (UTC)",
            description="With window_start: sync the rows updated before this instant, in UTC, e.g. "
            "2025-03-02T00:00:00+00:00 (the end is excluded).",
        ),
        "max_rejected_fraction": Param(
            max_rejected_fraction,
            type="number",
            minimum=0,
            maximum=1,
            title="Rejected rows allowed",
            description="Share of a stream's rows that may be rejected (before sending, or by HubSpot), "
            "e.g. 0.01 for 1%; above it the stream fails, and before sending nothing of it is written.",
        ),
        **_existing_records_params(),
    }


def _existing_records_params() -> dict[str, Param]:
    """How a run treats the records HubSpot already holds: trust the sync state or reconcile, and whether a
    mirror stream may archive more than its guard allows."""
    return {
        "reconcile": Param(
            False,
            type="boolean",
            title="Reconcile with HubSpot",
            description="Read every row's record from HubSpot instead of trusting the sync state: repairs "
            "records edited, merged or deleted in HubSpot, and the state. Costs a read per 100 rows.",
        ),
        "confirm_archive": Param(
            False,
            type="boolean",
            title="Confirm a mass archive",
            description="Mirror streams only: let this run archive more of a stream than the guard allows "
            "(default 10%). Run a dry run first: its report lists what would be archived.",
        ),
    }


def _quota_params(quota: QuotaRule) -> dict[str, Param]:
    """The daily quota settings of the trigger form (see ``batch/quota.py``)."""
    return {
        "on_quota_short": Param(
            quota.on_short,
            type="string",
            enum=list(ON_QUOTA_SHORT),
            title="When the daily quota is short",
            description="When a write needs more requests than HubSpot's daily quota leaves above the "
            "reserve: defer (write what fits, wait for the reset at midnight in the portal's time zone "
            "without holding a worker, go on), fail (before writing, naming the numbers) or partial "
            "(write what fits; the report counts the rest as not attempted).",
        ),
        "quota_reserve": Param(
            quota.reserve,
            type="number",
            minimum=0,
            exclusiveMaximum=1,
            title="Quota reserve",
            description="Share of the portal's daily request limit left for its other integrations, "
            "e.g. 0.1 for 10%.",
        ),
    }


@dataclass(frozen=True)
class SyncConfig:
    """What every task of one sync DAG needs to know: the mapping, where runs keep their files, the
    connections and the pool."""

    dag_id: str
    mapping: SyncMapping
    work_root: ObjectStoragePath
    source_conn_id: str
    hubspot_conn_id: str
    pool: str
    max_archive_fraction: float = 0.1
    state_conn_id: str | None = None  # None: the source connection
    state_table: str = DEFAULT_STATE_TABLE

    def state(self) -> SyncState:
        """The sync state table, in the state connection (default: the source's)."""
        return SyncState(lambda: sql_source(self.state_conn_id or self.source_conn_id), self.state_table)

    def storage(self, run_id: str | None = None) -> RunStorage:
        """The run's storage (the current task's run unless ``run_id`` is given)."""
        return RunStorage.for_run(self.work_root, self.dag_id, run_id or get_current_context()["run_id"])

    @property
    def usage_conn_id(self) -> str:
        """Where the day's HubSpot requests are recorded per portal (with the state)."""
        return self.state_conn_id or self.source_conn_id

    @contextmanager
    def hubspot(self) -> Iterator[HubSpotHook]:
        """A task's hook; at the end its requests are added to the day's usage (kept only for a connection
        with a ``daily_limit``, an OAuth app's stand-in for HubSpot's daily headers)."""
        hook = HubSpotHook(hubspot_conn_id=self.hubspot_conn_id, usage_conn_id=self.usage_conn_id)
        try:
            yield hook
        finally:
            hook.record_usage_quietly()

    def macros(self) -> dict[str, Any]:
        """Template helpers: the URL of a stream's write input and of its directory in the run's storage."""
        return {
            "sync_input": lambda run_id, stream, action: str(
                self.storage(run_id).write_input(stream, action)
            ),
            "sync_stream_dir": lambda run_id, stream: str(self.storage(run_id).stream_dir(stream)),
        }


def write_tasks(config: SyncConfig, stream: StreamMapping) -> list[HubSpotBatchOperator]:
    """The stream's write tasks: one upsert (an ``upsert_by`` stream), or a create and an update. Each
    reads its inputs from, and writes its outputs to, the stream's directory of the run, and ends as
    skipped when it has nothing to write (prepare writes no inputs on a dry run or for a stream not
    selected)."""
    actions = ["upsert"] if stream.upsert_by else ["create", "update"]
    return [
        HubSpotBatchOperator(
            task_id=f"{action}_{stream.name}",
            object_type=stream.object_type,
            action=action,
            inputs=f"{{{{ sync_input(run_id, '{stream.name}', '{action}') }}}}",
            id_property=stream.upsert_by,
            # creates: exactly once; updates: to create anew a record HubSpot no longer has
            key_property=config.mapping.key_property.name if action in ("create", "update") else None,
            hubspot_conn_id=config.hubspot_conn_id,
            max_rejected_fraction=(
                stream.max_rejected_fraction
                if stream.max_rejected_fraction is not None
                else "{{ params.max_rejected_fraction }}"
            ),
            output_dir=f"{{{{ sync_stream_dir(run_id, '{stream.name}') }}}}",
            max_inline_ids=MAX_INLINE_IDS,  # larger id maps travel as a JSON-lines file in the stream's dir
            skip_if_empty=True,  # a dry run, a stream not selected, nothing changed: no Asset event
            on_quota_short="{{ params.on_quota_short }}",
            quota_reserve="{{ params.quota_reserve }}",
            usage_conn_id=config.usage_conn_id,  # the day's requests, per portal
            run_quota="{{ ti.xcom_pull(task_ids='plan_quota') | tojson }}",  # trusted when it fits
            pool=config.pool,
            outlets=[Asset(name=f"hubspot_{stream.object_type}", uri=f"hubspot://crm/{stream.object_type}")],
        )
        for action in actions
    ]


def start_tasks(config: SyncConfig) -> tuple[XComArg, XComArg, XComArg]:
    """setup (HubSpot) and extract (the source) side by side, then validate, then the run's plan against
    the day's quota; returns the extract and validate outputs (counts per stream) and the plan."""

    @task(task_id="setup", pool=config.pool, multiple_outputs=False)
    def setup() -> dict[str, str]:
        """Read the portal's property definitions; check the token's scopes; ensure the unique source-key
        property exists where the run creates records."""
        params = _params()
        written = [] if params["dry_run"] else list(params["objects"])
        with config.hubspot() as hubspot:
            return steps.setup_step(hubspot, config.mapping, config.storage(), written)

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
        source = sql_source(config.source_conn_id)
        config.state().ensure_table()
        return steps.extract_step(source, config.mapping, window, config.storage())

    @task(task_id="validate", multiple_outputs=False)
    def validate() -> dict[str, str]:
        """Check every row against HubSpot's property definitions and the references between rows."""
        return steps.validate_step(config.mapping, config.storage())

    @task(task_id="plan_quota", pool=config.pool, multiple_outputs=False)
    def plan_quota() -> dict[str, Any] | None:
        """Before the first write: the requests the run's writes need against HubSpot's daily quota."""
        with config.hubspot() as hubspot:
            return run_quota_step(hubspot, config.mapping, config.storage(), config.state(), _params())

    extracted, validated, planned = extract(), validate(), plan_quota()
    [setup(), extracted] >> validated >> planned
    return extracted, validated, planned


def stream_tasks(config: SyncConfig, stream: StreamMapping, upstream: Mapping[str, list[Any]]) -> list[Any]:
    """prepare -> the write tasks of one stream; returns the outputs that carry its ids (prepare: records
    that existed; writes: records that landed)."""

    @task(
        task_id=f"prepare_{stream.name}",
        pool=config.pool,
        multiple_outputs=False,
        trigger_rule=TriggerRule.NONE_FAILED,  # runs after skipped writes (dry run), not after failed ones
    )
    def prepare(upstream: Mapping[str, list[Any]]) -> dict[str, dict[str, str]]:
        """Plan the stream against HubSpot; return the ids of its records that exist already."""
        params = _params()
        allowed = stream.max_rejected_fraction
        choices = steps.StreamChoices(
            selected=stream.name in params["objects"],
            dry_run=bool(params["dry_run"]),
            max_rejected_fraction=float(params["max_rejected_fraction"] if allowed is None else allowed),
            full_refresh=bool(params["full_refresh"]),
            reconcile=bool(params["reconcile"]),
        )
        ids = steps.referenced_ids(upstream)
        with config.hubspot() as hubspot:
            return steps.prepare_step(
                hubspot, config.mapping, stream.name, config.storage(), ids, choices, config.state()
            )

    planned = prepare(upstream)
    writers = write_tasks(config, stream)
    planned >> writers
    return [planned, *(writer.output for writer in writers)]


def mirror_task(config: SyncConfig, stream: StreamMapping, upstream: list[Any]) -> XComArg:
    """After the stream's writes: archive what the source deleted, remove the links it no longer has."""

    @task(
        task_id=f"mirror_{stream.name}",
        pool=config.pool,
        multiple_outputs=False,
        trigger_rule=TriggerRule.NONE_FAILED,  # after skipped writes (nothing changed), not failed ones
    )
    def mirror() -> dict[str, Any]:
        """Archive and unlink what prepare planned (mirror: true), unless the guard stops it."""
        params = _params()
        with config.hubspot() as hubspot:
            return steps.mirror_step(
                hubspot,
                config.mapping,
                stream.name,
                config.storage(),
                dry_run=bool(params["dry_run"]),
                max_archive_fraction=config.max_archive_fraction,
                confirmed=bool(params["confirm_archive"]),
                state=config.state(),
            )

    mirrored = mirror()
    for output in upstream:
        output >> mirrored
    return mirrored


def report_task(config: SyncConfig, results: dict[str, Any]) -> XComArg:
    """The report, once every other task has finished, whatever happened; it fails when any task failed,
    so a failed run stays failed."""

    @task(task_id="report", multiple_outputs=False, trigger_rule=TriggerRule.ALL_DONE)
    def report(results: Mapping[str, Any]) -> str:
        """Log per stream: extracted, created, updated, unchanged, rejected; where rejected rows are;
        for a failed run, what did not finish and what to clear."""
        files = config.storage()
        states = task_states(get_current_context())
        state = config.state()
        text, failed = steps.report_step(config.mapping, files, _params(), results, states, state)
        log.info("Report (also in %s):\n%s", files.report, text)  # a log line, before "Done. Returned ..."
        if failed:
            raise AirflowFailException(f"the run is incomplete: {', '.join(failed)} failed (see the report)")
        return str(files.report)

    return report(results)


def task_states(context: Mapping[str, Any]) -> dict[str, str | None]:
    """Every task's state in the current run, as the API server knows it."""
    ti = context["ti"]
    return dict(ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {}))


def build_dag(
    dag_id: str = DAG_ID,
    *,
    source_conn_id: str = "commerce_source",
    hubspot_conn_id: str = "hubspot_default",
    mapping_path: str | Path | None = None,
    sql_dir: str | Path | None = None,
    work_dir: str | None = None,
    pool: str = "hubspot_api",
    cron: str = "0 3 * * *",
    start_date: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    retries: int = 3,
    retry_delay: timedelta = timedelta(minutes=2),
    max_rejected_fraction: float = 0.01,
    max_archive_fraction: float = 0.1,
    on_quota_short: str = "defer",
    quota_reserve: float = DEFAULT_RESERVE,
    state_conn_id: str | None = None,
    state_table: str = DEFAULT_STATE_TABLE,
) -> DAG:
    """Build the nightly commerce sync (the README's "The hubspot_commerce_sync DAG" explains every argument).

    :param source_conn_id: a common-sql connection (any SQL database); ``state_conn_id`` holds the sync
        state table ``state_table`` (default: the source connection).
    :param mapping_path: the mapping YAML, ``sql_dir`` its queries (default: ``[hubspot_commerce]
        mapping_path`` and ``sql_dir``, else the package's ``include/``).
    :param work_dir: an object-storage URL every worker can reach, where runs keep what their tasks hand each
        other (default ``[hubspot_commerce] work_dir``, else ``$AIRFLOW_HOME/hubspot_commerce``).
    :param max_rejected_fraction: the Param's default: the share of a stream's rows that may be rejected.
    :param max_archive_fraction: the most of a mirror stream one run archives without ``confirm_archive``.
    :param on_quota_short: the Param's default (``defer``, ``fail``, ``partial``); ``quota_reserve`` the
        share of the daily limit left for the portal's other integrations.
    """
    mapping = load_mapping(mapping_path or configured("mapping_path"), sql_dir or configured("sql_dir"))
    work_root = storage_path(work_dir) if work_dir else default_work_dir()
    config = SyncConfig(
        dag_id, mapping, work_root, source_conn_id, hubspot_conn_id, pool, max_archive_fraction,
        state_conn_id, state_table,
    )  # fmt: skip
    quota = QuotaRule(on_quota_short, quota_reserve)
    params = {**sync_params(list(mapping.streams), max_rejected_fraction), **_quota_params(quota)}
    settings = {"source_conn_id": source_conn_id, "hubspot_conn_id": hubspot_conn_id, "pool": pool}
    guide = user_guide(dag_id, params, {**settings, "cron": cron, "work_root": work_root})
    with DAG(
        dag_id=dag_id,
        description="Sync products, contacts, orders with line items, payments and carts into HubSpot",
        schedule=CronDataIntervalTimetable(cron, timezone="UTC"),
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        doc_md=guide,
        tags=["hubspot", "commerce"],
        default_args={"retries": retries, "retry_delay": retry_delay, "retry_policy": HUBSPOT_RETRY_POLICY},
        user_defined_macros=config.macros(),
        params=params,
    ) as dag:
        wire_tasks(config)
    return dag


def wire_tasks(config: SyncConfig) -> None:
    """setup and extract, validate, each stream's prepare, writes and mirror in reference order, report."""
    extracted, validated, planned = start_tasks(config)
    streams = config.mapping.streams
    outputs: dict[str, list[Any]] = {}
    for name, stream in streams.items():
        outputs[name] = stream_tasks(config, stream, {r.stream: outputs[r.stream] for r in stream.references})
        validated >> outputs[name][0]
    writes = {f"{name}.{o.operator.action}": o for name in outputs for o in outputs[name][1:]}
    planned >> [write.operator for write in writes.values()]
    mirrors = {
        f"{name}.mirror": mirror_task(config, stream, outputs[name])
        for name, stream in streams.items()
        if stream.mirror
    }
    report_task(config, {"extract": extracted, "validate": validated, **writes, **mirrors})


def _params() -> Mapping[str, Any]:
    return get_current_context()["params"]
