"""HubSpotBatchOperator: write (or read) any number of records through HubSpot's batch API in one task.

The operator is thin: it reads the inputs as they are sent (a JSON-lines file line by line), calls one hook
method, writes the ids as they land and rejected records to files, and returns a small XCom value; its
memory does not grow with the number of records. Retries, pacing and correlation live in the hook's batch
engine. When the day's HubSpot quota stops a write, the task defers (holding no worker slot) until the
quota resets and goes on where it stopped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import Asset, AssetAlias, BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from hubspot_commerce.batch.keyset import KeySet, members
from hubspot_commerce.batch.quota import DEFAULT_RESERVE, QuotaPlan, QuotaRule
from hubspot_commerce.batch.records import BatchOutcome, WriteSpec
from hubspot_commerce.batch.send import DEFAULT_MAX_WORKERS
from hubspot_commerce.contract import MAX_INLINE_IDS
from hubspot_commerce.errors import (
    HubSpotDailyLimitReached,
    HubSpotError,
    HubSpotRejectedRecords,
    HubSpotUncertainWrites,
)
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.lineage.naming import hubspot_asset_name, hubspot_asset_uri
from hubspot_commerce.lineage.write_lineage import WriteLineage
from hubspot_commerce.operators.batch_inputs import Inputs, UnreadableLine, WriteRecords
from hubspot_commerce.operators.batch_outputs import BatchOutputs
from hubspot_commerce.operators.resume import Checkpoint, LandedIds
from hubspot_commerce.storage import read_json, storage_path

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

log = logging.getLogger(__name__)
# Waiting a minute past the computed reset: our clock and HubSpot's may differ a little.
RESET_MARGIN = timedelta(minutes=1)


class HubSpotBatchOperator(BaseOperator):
    """Create, upsert, update or read HubSpot records in batches of 100, exactly once, with row-level errors.

    :param object_type: ``products``, ``orders``, ``line_items``, ``commerce_payments``, ``carts``, ...
    :param action: ``create``, ``upsert``, ``update`` or ``read``.
    :param inputs: a list of ``{"key", "properties", "associations": [{"to_id", "type_id"}], "id"}`` dicts
        (an XComArg works), or the path or object-storage URL of a ``.jsonl``/``.json`` file. For
        ``read``: keys (strings) or dicts whose ``id`` (else ``key``) is looked up by ``id_property``.
    :param id_property: upsert/read: the unique property whose value is each record's ``id``.
    :param key_property: the unique custom property that stores the source key: creates are exactly-once;
        an update creates anew, with it, a record HubSpot no longer has.
    :param max_rejected_fraction: fail (after every good record landed) when more records than this
        fraction are rejected; default 0.0 = any rejection fails the task. (templated)
    :param output_dir: where the ids (as they land), large id maps and the rejected-records file go: an
        object-storage URL (``s3://<conn_id>@bucket/prefix``, ``file:///...``) or a local path (default
        ``<[hubspot_commerce] work_dir>/<dag_id>/<run_id>``).
    :param max_inline_ids: above this many ids the XCom carries the URL of a JSON-lines file instead of the
        map (``hubspot_commerce.contract.read_ids`` reads either).
    :param skip_if_empty: with no inputs, or when no record was created or updated, end as skipped: no
        event on the task's outlets (Assets), so nothing downstream runs for a write that did not happen.
        Otherwise each outlet's event carries the counts as its ``extra``; an ``AssetAlias`` outlet gets the
        Asset of the object type in the portal, ``hubspot://<portal id>/<object type>``, when the quota plan
        tells the portal.
    :param on_quota_short: when the write needs more requests than the day's HubSpot quota leaves above the
        reserve: ``defer`` (write what fits, wait for the reset, go on), ``fail`` (before writing, naming
        the numbers; no retry) or ``partial`` (write what fits; the rest is reported as not attempted). A
        ``429 DAILY`` that arrives anyway defers whatever the setting. (templated)
    :param quota_reserve: share of the daily limit left for the portal's other integrations. (templated)
    :param usage_conn_id: a SQL connection recording every HubSpot request per portal day (table
        ``hubspot_request_usage``); with the HubSpot connection's ``daily_limit`` extra it tells what remains
        when HubSpot sends no daily headers (an OAuth app). None: not recorded. (templated)
    :param run_quota: the run's plan against the day's quota, made before its first write (a
        ``QuotaPlan.to_json()`` dict, or its JSON text as a template renders it): when it is not short, the
        write trusts it and spends no request on checking the quota. (templated)
    :param lineage: where the records' values come from, for OpenLineage (a ``WriteLineage.to_json()``
        dict: the source connection and query, the source columns of each property); None: the events name
        no input and no column lineage. Used only with the ``openlineage`` extra installed.
    :return: ``{"ids": {key: id} | path, "created", "updated", "existing", "resumed", "rejected",
        "rejected_path", "not_attempted", "not_attempted_path", "existing_path", "quota",
        "deferred_until"}``; ``existing_path`` lists the creates HubSpot already held a record for (it got
        their values by an update); ``resumed`` counts records an earlier try (or the part before a wait for
        the quota) already wrote; ``quota`` is the last plan against the day's quota; ``deferred_until`` when
        each wait for the reset ended.
    """

    template_fields: Sequence[str] = (
        "object_type",
        "action",
        "inputs",
        "id_property",
        "key_property",
        "hubspot_conn_id",
        "output_dir",
        "max_rejected_fraction",
        "on_quota_short",
        "quota_reserve",
        "usage_conn_id",
        "run_quota",
    )
    ui_color = "#ff7a59"

    def __init__(
        self,
        *,
        object_type: str,
        action: str,
        inputs: Any,
        id_property: str | None = None,
        key_property: str | None = None,
        hubspot_conn_id: str = HubSpotHook.default_conn_name,
        max_rejected_fraction: float | str = 0.0,
        output_dir: str | None = None,
        max_inline_ids: int = MAX_INLINE_IDS,
        max_workers: int = DEFAULT_MAX_WORKERS,
        skip_if_empty: bool = False,
        on_quota_short: str = "defer",
        quota_reserve: float | str = DEFAULT_RESERVE,
        usage_conn_id: str | None = None,
        run_quota: Mapping[str, Any] | str | None = None,
        lineage: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.object_type = object_type
        self.action = action
        self.inputs = inputs
        self.id_property = id_property
        self.key_property = key_property
        self.hubspot_conn_id = hubspot_conn_id
        self.max_rejected_fraction = max_rejected_fraction
        self.output_dir = output_dir
        self.max_inline_ids = max_inline_ids
        self.max_workers = max_workers
        self.skip_if_empty = skip_if_empty
        self.on_quota_short = on_quota_short
        self.quota_reserve = quota_reserve
        self.usage_conn_id = usage_conn_id
        self.run_quota = run_quota
        self.lineage = lineage
        self._last_result: dict[str, Any] | None = None  # the counts, for OpenLineage's COMPLETE or FAIL

    @cached_property
    def hook(self) -> HubSpotHook:
        """One hook (one session, one rate limiter) for the whole task."""
        return HubSpotHook(
            hubspot_conn_id=self.hubspot_conn_id,
            max_workers=self.max_workers,
            usage_conn_id=self.usage_conn_id or None,
        )

    def execute(self, context: Any) -> dict[str, Any]:
        """Write (or read) the inputs; write the rejections to a file; fail past the rejected threshold."""
        inputs = Inputs(self.inputs)
        if self.skip_if_empty and inputs.empty():
            raise AirflowSkipException(f"no {self.object_type} records to {self.action}")
        outputs = self._outputs(context)
        if self.action == "read":
            landed = LandedIds(outputs.file(".ids"), None)
            outcome, total = self._read(inputs)
            landed.add(outcome.ids)
        else:
            landed = LandedIds(outputs.file(".ids"), _state_store(context))
            outcome, total = self._write_or_defer(inputs, landed, context)
        result = self._last_result = self._result(outcome, landed, outputs, context)
        log.info(
            "%s %s done: %d records, %d created, %d updated, %d existing, %d resumed, %d rejected; "
            "%d requests (%d writes), %d retries, %d HTTP 429",
            self.object_type, self.action, total, outcome.created, outcome.updated, outcome.existing,
            outcome.skipped, len(outcome.rejected), outcome.requests, outcome.write_requests, outcome.retries,
            outcome.http_429,
        )  # fmt: skip
        self._raise_for_failures(total, outcome, result["rejected_path"], context)
        self._announce(result, context)
        return result

    def _result(
        self, outcome: BatchOutcome, landed: LandedIds, outputs: BatchOutputs, context: Any
    ) -> dict[str, Any]:
        """The XCom value: the ids (inline or by URL), the counts, and the files listing what needs a look."""
        ids = outputs.ids_value(landed, self.max_inline_ids)
        return {
            **ids.to_xcom(),
            "created": outcome.created,
            "updated": outcome.updated,
            "existing": outcome.existing,
            "resumed": outcome.skipped,
            "rejected": len(outcome.rejected),
            "rejected_path": outputs.write_rejections(outcome.rejected),
            "not_attempted": len(outcome.not_attempted),
            "not_attempted_path": outputs.write_not_attempted(outcome.not_attempted),
            "existing_path": outputs.write_existing(outcome.existing_keys),
            "quota": outcome.quota.to_json() if outcome.quota else None,
            "deferred_until": Checkpoint(_state_store(context)).deferrals(),
        }

    def _write_or_defer(self, inputs: Inputs, landed: LandedIds, context: Any) -> tuple[BatchOutcome, int]:
        """Write; when the day's quota stops the write (short, with ``defer``; or a 429 DAILY, whatever the
        setting: another integration spent the quota), wait for the reset and go on from there. Returns
        the outcome and how many inputs there were."""
        try:
            outcome, total = self._write(inputs, landed, context)
        except HubSpotDailyLimitReached as exc:
            self._defer_until(exc.resets_at, context, f"HubSpot answered 429 DAILY ({exc.message})")
        if outcome.not_attempted and self.on_quota_short == "defer" and outcome.quota is not None:
            Checkpoint(_state_store(context)).keep_in_doubt(outcome.in_doubt)
            # sent again after the wait: the file is redone
            self._outputs(context).write_rejections(outcome.rejected)
            waiting = f"{len(outcome.not_attempted)} records wait: {outcome.quota.describe()}"
            self._defer_until(outcome.quota.resets_at, context, waiting)
        return outcome, total

    def _defer_until(self, resets_at: datetime, context: Any, why: str) -> NoReturn:
        """Wait in the triggerer, holding no worker slot, until HubSpot's daily reset (and a minute);
        then :meth:`resume_after_reset`. What landed is in the task's checkpoint and is not resent."""
        moment = resets_at + RESET_MARGIN
        Checkpoint(_state_store(context)).note_deferral(moment.isoformat())
        log.warning(
            "%s %s: %s; waiting for HubSpot's daily reset, until %s UTC",
            self.object_type, self.action, why, f"{moment:%Y-%m-%d %H:%M:%S}",
        )  # fmt: skip
        self.defer(trigger=DateTimeTrigger(moment=moment), method_name="resume_after_reset")

    def resume_after_reset(self, context: Any, event: Any = None) -> dict[str, Any]:
        """HubSpot's daily quota is back: write what is left, as a retry would (what landed is skipped)."""
        return self.execute(context)

    def _announce(self, result: dict[str, Any], context: Any) -> None:
        """Put the counts on the events of the task's outlets (Assets, and through an ``AssetAlias`` the Asset
        of the object type in the portal, named as OpenLineage's output); with ``skip_if_empty``, a write that
        changed nothing in HubSpot (every record existed, or was rejected) ends as skipped, keeping its XCom,
        so that only a write that created or updated records emits an event."""
        if not isinstance(context, Mapping) or not self.outlets:
            return
        counts = {name: result[name] for name in ("created", "updated", "existing", "resumed", "rejected")}
        wrote = counts["created"] + counts["updated"] + counts["resumed"]
        if self.skip_if_empty and self.action != "read" and not wrote:
            context["ti"].xcom_push(key="return_value", value=result)
            raise AirflowSkipException(f"no {self.object_type} record was created or updated")
        extra = {"object_type": self.object_type, "action": self.action, **counts}
        portal = self._portal(result)
        for outlet in self.outlets:
            if not isinstance(outlet, AssetAlias):
                context["outlet_events"][outlet].extra = extra
            elif portal:
                name = hubspot_asset_name(portal, self.object_type)
                asset = Asset(name=name, uri=hubspot_asset_uri(portal, self.object_type))
                context["outlet_events"][outlet].add(asset, extra=extra)
            else:
                log.info("The portal's id is unknown: no event for asset alias %s", outlet.name)

    def _raise_for_failures(
        self, total: int, outcome: BatchOutcome, rejected_path: str | None, context: Any
    ) -> None:
        """After every good record landed: fail past the rejected threshold, or when creates are in doubt."""
        landed = (
            f"{outcome.created + outcome.updated + outcome.existing + outcome.skipped} landed "
            f"({outcome.created} created, {outcome.updated} updated, {outcome.existing} existing, "
            f"{outcome.skipped} by an earlier try)"
        )
        allowed = float(self.max_rejected_fraction)
        if total and len(outcome.rejected) / total > allowed:
            raise HubSpotRejectedRecords(
                f"{len(outcome.rejected)} of {total} {self.object_type} records were rejected (allowed "
                f"fraction {allowed}); {landed}. Reasons per record: {rejected_path}"
            )
        if outcome.in_doubt:
            path = self._outputs(context).write_in_doubt(outcome.in_doubt)
            raise HubSpotUncertainWrites(
                f"{len(outcome.in_doubt)} of {total} {self.object_type} creates got no answer and cannot be "
                f"checked without key_property: they may or may not exist, and were not resent so that "
                f"none is duplicated; {landed}. Their keys: {path}"
            )

    def _read(self, inputs: Inputs) -> tuple[BatchOutcome, int]:
        """Look the inputs up by ``id_property``; the outcome holds the ids found. Returns it and how many
        inputs there were."""
        lookup: dict[str, str] = {}
        total = 0
        for item in inputs:
            total += 1
            if isinstance(item, UnreadableLine):
                raise ValueError(item.error)
            if isinstance(item, Mapping):
                lookup[str(item.get("id") or item["key"])] = str(item["key"])
            else:
                lookup[str(item)] = str(item)
        found = self.hook.batch_read(self.object_type, list(lookup), id_property=self.id_property)
        return BatchOutcome(ids={lookup[value]: record["id"] for value, record in found.items()}), total

    def _write(self, inputs: Inputs, landed: LandedIds, context: Any) -> tuple[BatchOutcome, int]:
        """Write the records as they are read, their ids to ``landed`` as batches land; skip those an earlier
        try of this task finished, after confirming the creates it left in doubt. Returns the outcome (its
        ``skipped``: what an earlier try wrote) and how many inputs there were."""
        checkpoint = Checkpoint(_state_store(context))
        done = landed.load()
        in_doubt = self._confirm_in_doubt(checkpoint, done, landed)
        records = WriteRecords(inputs, leave_out=frozenset(in_doubt))
        try:
            spec = WriteSpec(self.object_type, self.action, self.id_property, self.key_property)
            quota = QuotaRule(str(self.on_quota_short), float(self.quota_reserve), self._run_plan())
            outcome = self.hook.batch_write(
                spec, records, skip_keys=done, on_batch_done=landed.add, quota=quota
            )
        except HubSpotError as exc:  # stopped early (outage, daily quota, auth): keep and report what we know
            partial = exc.partial_outcome
            checkpoint.keep_in_doubt([*in_doubt, *(partial.in_doubt if partial else [])])
            self._outputs(context).write_rejections(records.refused + (partial.rejected if partial else []))
            raise
        finally:  # whatever stopped the call (HubSpot, a task timeout), keep what landed for the retry
            landed.flush()
        outcome.rejected[:0] = records.refused
        outcome.in_doubt[:0] = in_doubt
        return outcome, records.total

    def get_openlineage_facets_on_start(self) -> OperatorLineage | None:
        """With the ``openlineage`` extra: the source tables in, the object type of the portal out (with its
        column lineage), the run's quota plan and the stream's sync-state counts; None without it."""
        return self._openlineage(None)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """As on start, the output with the write's counts (created, updated, rejected, ...); no output
        for a write skipped before writing anything (it had no input)."""
        return self._openlineage(self._last_result, wrote=self._last_result is not None)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage | None:
        """As on complete: the counts of what landed when the task failed after writing (too many
        rejections, creates in doubt); none when it stopped on the way."""
        return self._openlineage(self._last_result)

    def _openlineage(self, result: Mapping[str, Any] | None, wrote: bool = True) -> OperatorLineage | None:
        """The lineage of this write (``lineage.facets``), imported only here: the provider is optional.
        ``wrote``: whether the write may have written, so that the object type is its output."""
        try:
            from hubspot_commerce.lineage.facets import write_lineage_facets
        except ImportError:
            return None
        spec = WriteLineage.from_json(self.lineage) if self.lineage else None
        plans = self._quota_plans(result)
        return write_lineage_facets(
            object_type=self.object_type,
            action=self.action,
            portal=self._portal(result) if wrote else None,
            spec=spec,
            result=result,
            quota=plans[0].to_json() if plans else None,
            state=self._sync_state(spec),
        )

    def _quota_plans(self, result: Mapping[str, Any] | None) -> list[QuotaPlan]:
        """The run's plan (``run_quota``), then the write's own (in its result), those there are."""
        own = (result or {}).get("quota")
        return [plan for plan in (self._run_plan(), QuotaPlan.from_json(own) if own else None) if plan]

    def _portal(self, result: Mapping[str, Any] | None) -> str | None:
        """The portal's id as a quota plan read it from HubSpot's account details (no request of its own)."""
        return next((plan.portal for plan in self._quota_plans(result) if plan.portal), None)

    def _sync_state(self, spec: WriteLineage | None) -> dict[str, Any] | None:
        """The stream's counts against the sync state, from ``spec.state_file`` in ``output_dir``."""
        if spec is None or not spec.state_file or not self.output_dir:
            return None
        path = storage_path(self.output_dir) / spec.state_file
        return read_json(path) if path.exists() else None

    def _run_plan(self) -> QuotaPlan | None:
        """``run_quota`` as a plan (None when empty: a template's ``null``)."""
        value = self.run_quota
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else None
        return QuotaPlan.from_json(value) if value else None

    def _confirm_in_doubt(self, checkpoint: Checkpoint, done: KeySet, landed: LandedIds) -> list[str]:
        """Log what an earlier try wrote; read back by the key property the creates it left in doubt and add
        the ones HubSpot has to ``done`` and ``landed``. Returns the keys that stay in doubt: those of
        creates without a key property, which cannot be looked up and are not resent (a resend could
        duplicate them)."""
        in_doubt = checkpoint.in_doubt()
        doubted = [
            key for key, was_done in zip(in_doubt, members(done, in_doubt), strict=True) if not was_done
        ]
        if doubted and self.key_property:
            found = self.hook.batch_read(self.object_type, doubted, id_property=self.key_property)
            landed.add({key: record["id"] for key, record in found.items()})
            done.update(found)
            log.info(
                "%d creates an earlier try left in doubt: %d found in HubSpot, %d are sent again",
                len(doubted), len(found), len(doubted) - len(found),
            )  # fmt: skip
            doubted = []
        if done:
            log.info("Resuming: %d records were written by an earlier try; they are not resent", len(done))
        return doubted

    def _outputs(self, context: Any) -> BatchOutputs:
        """The task instance's output files (see ``BatchOutputs``)."""
        return BatchOutputs.for_task(self.output_dir, self.dag_id, self.task_id, context, self.object_type)


def _state_store(context: Any) -> Any:
    """The task instance's ``task_state_store`` (None outside a task runner)."""
    return context.get("task_state_store") if isinstance(context, Mapping) else None
