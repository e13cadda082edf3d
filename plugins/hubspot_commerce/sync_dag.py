"""``build_dag()``: the ``hubspot_commerce_sync`` DAG. Wiring only: each task's work is in ``sync.tasks``, the
writes are ``HubSpotBatchOperator`` s, and this module (outside ``sync/``) puts them together.

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
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import (
    DAG,
    Asset,
    AssetAlias,
    Context,
    CronDataIntervalTimetable,
    ExceptionRetryPolicy,
    ObjectStoragePath,
    RetryAction,
    RetryRule,
    TriggerRule,
    XComArg,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException
from airflow.sdk.execution_time.hitl import HITLUser

from hubspot_commerce.batch.quota import DEFAULT_RESERVE, QuotaRule
from hubspot_commerce.contract import (
    APPROVE_ARCHIVE,
    CREATE,
    EXTRACT,
    MAX_INLINE_IDS,
    MIRROR,
    PLAN_QUOTA,
    PREPARE,
    REPORT,
    SETUP,
    UPDATE,
    VALIDATE,
    result_key,
    task_id,
    write_actions,
)
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
from hubspot_commerce.lineage.extract_events import emit_extract_lineage
from hubspot_commerce.operators.archive_approval import ArchiveApprovalOperator
from hubspot_commerce.operators.batch import HubSpotBatchOperator
from hubspot_commerce.storage import default_work_dir, storage_path
from hubspot_commerce.sync.cause import TaskFailure, failures_summary
from hubspot_commerce.sync.column_lineage import stream_queries, stream_query, write_lineage
from hubspot_commerce.sync.extract import resolve_window, sql_source
from hubspot_commerce.sync.mapping import StreamMapping, SyncMapping
from hubspot_commerce.sync.run_options import run_params
from hubspot_commerce.sync.sync_config import SyncConfig, configured_mapping, configured_state
from hubspot_commerce.sync.tasks.approve_archive_task import archive_question_step
from hubspot_commerce.sync.tasks.extract_task import extract_step
from hubspot_commerce.sync.tasks.mirror_task import mirror_step
from hubspot_commerce.sync.tasks.plan_quota_task import plan_quota_step
from hubspot_commerce.sync.tasks.prepare_task import prepare_step, referenced_ids
from hubspot_commerce.sync.tasks.report_task import report_step
from hubspot_commerce.sync.tasks.setup_task import setup_step
from hubspot_commerce.sync.tasks.validate_task import validate_step

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


def write_tasks(config: SyncConfig, stream: StreamMapping) -> list[HubSpotBatchOperator]:
    """The stream's write tasks (``contract.write_actions``). Each reads its inputs from, and writes its
    outputs to, the stream's directory of the run, and ends as skipped when it has nothing to write (prepare
    writes no inputs on a dry run or for a stream not selected). Each emits an Asset event for its object
    type (``hubspot://crm/<object type>``, whatever the portal) and, through an alias, one for the object
    type in the portal it writes to (``hubspot://<portal id>/<object type>``, OpenLineage's name for it)."""
    key_of = {action: key_property_of(config.mapping, action) for action in write_actions(stream)}
    query = stream_query(config.mapping, stream)  # rendered at parse time: once, not once per action
    lineage = {
        action: write_lineage(stream, query, key, config.source_conn_id).to_json()
        for action, key in key_of.items()
    }
    return [
        HubSpotBatchOperator(
            task_id=task_id(action, stream.name),
            object_type=stream.object_type,
            action=action,
            inputs=f"{{{{ sync_input(run_id, '{stream.name}', '{action}') }}}}",
            id_property=stream.upsert_by,
            key_property=key_of[action],
            hubspot_conn_id=config.hubspot_conn_id,
            max_rejected_fraction=rejected_fraction_template(stream),
            output_dir=f"{{{{ sync_stream_dir(run_id, '{stream.name}') }}}}",
            max_inline_ids=MAX_INLINE_IDS,  # larger id maps travel as a JSON-lines file in the stream's dir
            skip_if_empty=True,  # a dry run, a stream not selected, nothing changed: no Asset event
            on_quota_short="{{ params.on_quota_short }}",
            quota_reserve="{{ params.quota_reserve }}",
            usage_conn_id=config.usage_conn_id,  # the day's requests, per portal
            run_quota=f"{{{{ ti.xcom_pull(task_ids='{PLAN_QUOTA}') | tojson }}}}",  # trusted when it fits
            pool=config.pool,
            outlets=[
                Asset(name=f"hubspot_{stream.object_type}", uri=f"hubspot://crm/{stream.object_type}"),
                AssetAlias(name=f"hubspot_portal_{stream.object_type}"),
            ],
            lineage=lineage[action],  # the source columns of each property, for OpenLineage
        )
        for action in write_actions(stream)
    ]


def key_property_of(mapping: SyncMapping, action: str) -> str | None:
    """The source-key property a write task is given: creates are exactly once by it, and an update creates
    anew with it a record HubSpot no longer has; an upsert finds its records by ``upsert_by`` instead."""
    return mapping.key_property.name if action in (CREATE, UPDATE) else None


def rejected_fraction_template(stream: StreamMapping) -> float | str:
    """The share of a write's records HubSpot may reject: the stream's own, else the run's Param."""
    if stream.max_rejected_fraction is not None:
        return stream.max_rejected_fraction
    return "{{ params.max_rejected_fraction }}"


def start_tasks(config: SyncConfig) -> tuple[XComArg, XComArg, XComArg]:
    """setup (HubSpot) and extract (the source) side by side, then validate, then the run's plan against
    the day's quota; returns the extract and validate outputs (counts per stream) and the plan."""

    @task(task_id=SETUP, pool=config.pool, multiple_outputs=False)
    def setup() -> dict[str, str]:
        """Refuse a window with one end; check the token and its scopes; read the portal's property
        definitions. Only reads: nothing in the portal changes before validation has passed."""
        with config.hubspot() as hubspot:
            return setup_step(config.run_context(), hubspot)

    @task(task_id=EXTRACT, multiple_outputs=False)
    def extract() -> dict[str, str]:
        """Read the window's rows from the source connection."""
        context = get_current_context()
        run = config.run_context()
        # A manual run without a logical date has no data interval: the window falls back on run_after.
        window = resolve_window(
            run.options,
            context.get("data_interval_start"),
            context.get("data_interval_end"),
            context["dag_run"].run_after,
        )
        source = sql_source(config.source_conn_id)
        if not run.options.dry_run:  # a dry run creates nothing; missing rights fail here, before any write
            config.state().ensure_table()
        emit_extract_lineage(config.source_conn_id, stream_queries(config.mapping))  # with OpenLineage on
        return extract_step(run, source, window)

    @task(task_id=VALIDATE, multiple_outputs=False)
    def validate() -> dict[str, str]:
        """Check every row against HubSpot's property definitions and the references between rows."""
        return validate_step(config.run_context())

    @task(task_id=PLAN_QUOTA, pool=config.pool, multiple_outputs=False)
    def plan_quota() -> dict[str, Any] | None:
        """Before the first write: the requests the run's writes need against HubSpot's daily quota; then
        the source-key property where the run creates records (the run's first change to the portal)."""
        with config.hubspot() as hubspot:
            return plan_quota_step(config.run_context(), hubspot)

    extracted, validated, planned = extract(), validate(), plan_quota()
    [setup(), extracted] >> validated >> planned
    return extracted, validated, planned


def stream_tasks(config: SyncConfig, stream: StreamMapping, upstream: Mapping[str, list[Any]]) -> list[Any]:
    """prepare -> the write tasks of one stream; returns the outputs that carry its ids (prepare: records
    that existed; writes: records that landed)."""

    sources = {name: {o.operator.task_id: o.operator.task_id for o in out} for name, out in upstream.items()}

    @task(
        task_id=task_id(PREPARE, stream.name),
        pool=config.pool,
        multiple_outputs=False,
        trigger_rule=TriggerRule.NONE_FAILED,  # runs after skipped writes (dry run), not after failed ones
    )
    def prepare() -> dict[str, dict[str, str] | str]:
        """Plan the stream against HubSpot; return the ids of its records that exist already. The ids of
        the streams it refers to come from the tasks that ran (no "XCom not found" for a skipped one)."""
        context = get_current_context()
        states = task_states(context)
        results = {name: ran_results(context, ids, states).values() for name, ids in sources.items()}
        with config.hubspot() as hubspot:
            return prepare_step(config.run_context().stream(stream.name, hubspot), referenced_ids(results))

    planned = prepare()
    [output.operator for outputs in upstream.values() for output in outputs] >> planned
    writers = write_tasks(config, stream)
    planned >> writers
    return [planned, *(writer.output for writer in writers)]


def mirror_tasks(
    config: SyncConfig,
    outputs: Mapping[str, list[Any]],
    timeout: timedelta | None,
    assigned_users: list[HITLUser] | None,
) -> dict[str, XComArg]:
    """With mirror streams: ``approve_archive`` after their writes, then each one's mirror task; returns
    their outputs by the report's keys (none without mirror streams)."""
    streams = {name: stream for name, stream in config.mapping.streams.items() if stream.mirror}
    if not streams:
        return {}
    approval = approve_archive_task(config, timeout, assigned_users)
    for name in streams:
        for output in outputs[name]:
            output >> approval
    mirrors = {
        result_key(name, MIRROR): mirror_task(config, stream, approval.output)
        for name, stream in streams.items()
    }
    return {APPROVE_ARCHIVE: approval.output, **mirrors}


def approve_archive_task(
    config: SyncConfig, timeout: timedelta | None, assigned_users: list[HITLUser] | None
) -> ArchiveApprovalOperator:
    """Before any mirror task archives: ask a person when a stream would archive more than the guard
    allows (not with ``confirm_archive``, nor on a dry run); otherwise done at once."""

    def ask(context: Context) -> tuple[str, str] | None:
        return archive_question_step(config.run_context(), config.max_archive_fraction, timeout)

    return ArchiveApprovalOperator(
        task_id=APPROVE_ARCHIVE,
        ask=ask,
        response_timeout=timeout,
        assigned_users=assigned_users,
        trigger_rule=TriggerRule.NONE_FAILED,  # after skipped writes (nothing changed), not failed ones
    )


def mirror_task(config: SyncConfig, stream: StreamMapping, answer: XComArg) -> XComArg:
    """After ``approve_archive``: archive what the source deleted (as it answered), remove the links the
    source no longer has."""

    @task(
        task_id=task_id(MIRROR, stream.name),
        pool=config.pool,
        multiple_outputs=False,
        trigger_rule=TriggerRule.NONE_FAILED,
    )
    def mirror(answer: dict[str, Any] | None) -> dict[str, Any]:
        """Archive (as approve_archive answered) and unlink what prepare planned (mirror: true)."""
        run = config.run_context()
        with config.hubspot() as hubspot:
            return mirror_step(run.stream(stream.name, hubspot), config.max_archive_fraction, answer)

    return mirror(answer)


def report_task(config: SyncConfig, results: Mapping[str, XComArg]) -> XComArg:
    """The report, once every other task has finished, whatever happened; it fails when any task failed,
    so a failed run stays failed, and its exception (the run's last) names the cause. ``results``: the
    outputs of extract, validate, the writes and mirrors by result key; the report reads those of the tasks
    that ran."""
    task_ids = {key: output.operator.task_id for key, output in results.items()}

    @task(task_id=REPORT, multiple_outputs=False, trigger_rule=TriggerRule.ALL_DONE)
    def report() -> str:
        """Log per stream: extracted, created, updated, unchanged, rejected; where rejected rows are;
        for a failed run, what did not finish, why, and what to clear."""
        context = get_current_context()
        run, states = config.run_context(), task_states(context)
        text, failures = report_step(run, ran_results(context, task_ids, states), states)
        log.info(
            "Report (also in %s):\n%s", run.files.report, text
        )  # a log line, before "Done. Returned ..."
        if failures:
            raise AirflowFailException(failures_summary(failures))
        return str(run.files.report)

    reported = report()
    [output.operator for output in results.values()] >> reported
    return reported


def ran_results(
    context: Mapping[str, Any], task_ids: Mapping[str, str], states: Mapping[str, str | None]
) -> dict[str, Any]:
    """The XCom value of each task that ran (succeeded, or skipped: a write that changed nothing may still
    name the records it found), by result key; None for the others, which left none: asking for theirs
    would log "XCom not found" errors that read like more failures."""
    ti = context["ti"]
    return {
        key: ti.xcom_pull(task_ids=task) if states.get(task) in ("success", "skipped") else None
        for key, task in task_ids.items()
    }


def task_states(context: Mapping[str, Any]) -> dict[str, str | None]:
    """Every task's state in the current run, as the API server knows it."""
    ti = context["ti"]
    return dict(ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {}))


def failure_recorder(config: SyncConfig) -> Callable[[Mapping[str, Any]], None]:
    """The tasks' ``on_failure_callback`` (run by the worker once a task has failed for good, not on a try
    that is retried): it records the cause in the run's storage, where the report reads it."""

    def record_failure(context: Mapping[str, Any]) -> None:
        failure = TaskFailure.of(context["ti"].task_id, context.get("exception"))
        failure.save(config.storage(context["run_id"]))

    return record_failure


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
    state_table: str | None = None,
    archive_response_timeout: timedelta | None = timedelta(hours=12),
    archive_assigned_users: list[HITLUser] | None = None,
) -> DAG:
    """Build the nightly commerce sync (docs/reference/build-dag.md explains every argument).

    :param source_conn_id: a common-sql connection (any SQL database); ``state_conn_id`` holds the sync
        state table ``state_table`` (defaults: the ``[hubspot_commerce]`` settings of those names, else the
        source connection and ``hubspot_sync_state``).
    :param mapping_path: the mapping YAML, ``sql_dir`` its queries, ``work_dir`` an object-storage URL every
        worker can reach, where runs keep their files (defaults: ``[hubspot_commerce]`` settings).
    :param max_archive_fraction: the most of a mirror stream one run archives without asking
        (``approve_archive``) or ``confirm_archive``; the question waits ``archive_response_timeout``, then
        keeps the records; ``archive_assigned_users`` (``{"id", "name"}`` each) may answer (None: anyone
        allowed to edit the DAG's human-in-the-loop details).
    :param max_rejected_fraction: the Param's default, as are ``on_quota_short`` and ``quota_reserve``.
    """
    mapping, work_root = mapping_and_work_root(mapping_path, sql_dir, work_dir)
    state_conn_id, state_table = configured_state(state_conn_id, state_table)
    config = SyncConfig(
        dag_id, mapping, work_root, source_conn_id, hubspot_conn_id, pool, max_archive_fraction,
        state_conn_id, state_table,
    )  # fmt: skip
    params = run_params(
        list(mapping.streams), max_rejected_fraction, QuotaRule(on_quota_short, quota_reserve)
    )
    with DAG(
        dag_id=dag_id,
        description="Sync products, contacts, orders with line items, payments and carts into HubSpot",
        schedule=CronDataIntervalTimetable(cron, timezone="UTC"),
        doc_md=config.guide(params, cron),
        tags=["hubspot", "commerce"],
        user_defined_macros=config.macros(),
        params=params,
        **schedule_arguments(start_date, retries, retry_delay, failure_recorder(config)),
    ) as dag:
        wire_tasks(config, archive_response_timeout, archive_assigned_users)
    return dag


def mapping_and_work_root(
    mapping_path: str | Path | None, sql_dir: str | Path | None, work_dir: str | None
) -> tuple[SyncMapping, ObjectStoragePath]:
    """The mapping and where runs keep their files: as given, else the ``[hubspot_commerce]`` settings
    ``mapping_path``, ``sql_dir`` and ``work_dir``, else the package's ``include/`` and
    ``$AIRFLOW_HOME/hubspot_commerce``."""
    work_root = storage_path(work_dir) if work_dir else default_work_dir()
    return configured_mapping(mapping_path, sql_dir), work_root


def schedule_arguments(
    start_date: datetime,
    retries: int,
    retry_delay: timedelta,
    on_failure: Callable[[Mapping[str, Any]], None],
) -> dict[str, Any]:
    """From when the DAG runs (one run at a time, no catch-up), how its tasks retry, and what a task that
    failed for good records (``on_failure``)."""
    return {
        "start_date": start_date,
        "catchup": False,
        "max_active_runs": 1,
        "default_args": {
            "retries": retries,
            "retry_delay": retry_delay,
            "retry_policy": HUBSPOT_RETRY_POLICY,
            "on_failure_callback": on_failure,
        },
    }


def wire_tasks(
    config: SyncConfig, archive_timeout: timedelta | None, archive_users: list[HITLUser] | None
) -> None:
    """setup and extract, validate, each stream's prepare, writes and mirror in reference order, report;
    ``archive_timeout`` and ``archive_users``: how long approve_archive waits, and who may answer."""
    extracted, validated, planned = start_tasks(config)
    streams = config.mapping.streams
    outputs: dict[str, list[Any]] = {}
    for name, stream in streams.items():
        outputs[name] = stream_tasks(config, stream, {r.stream: outputs[r.stream] for r in stream.references})
        validated >> outputs[name][0]
    writes = {result_key(name, o.operator.action): o for name in outputs for o in outputs[name][1:]}
    planned >> [write.operator for write in writes.values()]
    mirrors = mirror_tasks(config, outputs, archive_timeout, archive_users)
    report_task(config, {EXTRACT: extracted, VALIDATE: validated, **writes, **mirrors})
