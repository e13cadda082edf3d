"""HubSpotBatchOperator: write (or read) any number of records through HubSpot's batch API in one task.

The operator is thin: it loads the inputs, calls one hook method, writes rejected records to a file,
and returns a small XCom value. Retries, pacing and correlation live in the hook's batch engine. When the
day's HubSpot quota stops a write, the task defers (holding no worker slot) until the quota resets and
goes on where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, NoReturn

from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import BaseOperator, ObjectStoragePath
from airflow.sdk.exceptions import AirflowSkipException

from hubspot_commerce.batch.quota import DEFAULT_RESERVE, QuotaPlan, QuotaRule
from hubspot_commerce.batch.records import BatchOutcome, Rejection, WriteRecord, WriteSpec
from hubspot_commerce.batch.send import DEFAULT_MAX_WORKERS
from hubspot_commerce.errors import (
    HubSpotDailyLimitReached,
    HubSpotError,
    HubSpotRejectedRecords,
    HubSpotUncertainWrites,
)
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.operators.resume import Checkpoint
from hubspot_commerce.storage import (
    Location,
    default_work_dir,
    path_safe,
    read_json,
    read_jsonl,
    storage_path,
    write_json,
    write_jsonl,
)

log = logging.getLogger(__name__)
# Waiting a minute past the computed reset: our clock and HubSpot's may differ a little.
RESET_MARGIN = timedelta(minutes=1)


def load_inputs(inputs: Location | Iterable[Any]) -> list[Any]:
    """The input list itself, or the records of a ``.jsonl`` (one JSON object a line) or ``.json`` file at
    a local path or an object-storage URL."""
    if not isinstance(inputs, str | os.PathLike | ObjectStoragePath):
        return list(inputs)
    path = storage_path(inputs)
    if not path.exists():
        raise FileNotFoundError(f"input file {path} does not exist")
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    data = read_json(path)
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of records")
    return data


def read_ids(xcom_value: Mapping[str, Any]) -> dict[str, str]:
    """``{source key: HubSpot id}`` from an XCom value of this operator's shape, whose ``ids`` is the map
    itself or the object-storage URL of a JSON file holding it (large maps)."""
    ids = xcom_value["ids"]
    if isinstance(ids, str):
        ids = read_json(storage_path(ids))
    return {str(key): str(hubspot_id) for key, hubspot_id in ids.items()}


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
    :param output_dir: where the rejected-records file and large id maps go: an object-storage URL
        (``s3://<conn_id>@bucket/prefix``, ``file:///...``) or a local path (default
        ``<[hubspot_commerce] work_dir>/<dag_id>/<run_id>``).
    :param max_inline_ids: above this many ids the XCom carries the URL of a JSON file instead of the map.
    :param skip_if_empty: with no inputs, or when no record was created or updated, end as skipped: no
        event on the task's outlets (Assets), so nothing downstream runs for a write that did not happen.
        Otherwise each outlet's event carries the counts as its ``extra``.
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
        max_inline_ids: int = 10_000,
        max_workers: int = DEFAULT_MAX_WORKERS,
        skip_if_empty: bool = False,
        on_quota_short: str = "defer",
        quota_reserve: float | str = DEFAULT_RESERVE,
        usage_conn_id: str | None = None,
        run_quota: Mapping[str, Any] | str | None = None,
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
        items = load_inputs(self.inputs)
        if not items and self.skip_if_empty:
            raise AirflowSkipException(f"no {self.object_type} records to {self.action}")
        resumed = 0
        if self.action == "read":
            outcome = self._read(items)
        else:
            outcome, resumed = self._write_or_defer(items, context)
        rejected_path = self._write_rejections(outcome.rejected, context)
        result = {
            "ids": self._ids_value(outcome.ids, context),
            "created": outcome.created,
            "updated": outcome.updated,
            "existing": outcome.existing,
            "resumed": resumed,
            "rejected": len(outcome.rejected),
            "rejected_path": rejected_path,
            "not_attempted": len(outcome.not_attempted),
            "not_attempted_path": self._write_not_attempted(outcome.not_attempted, context),
            "existing_path": self._write_existing(outcome.existing_keys, context),
            "quota": outcome.quota.to_json() if outcome.quota else None,
            "deferred_until": Checkpoint(_state_store(context)).deferrals(),
        }
        log.info(
            "%s %s done: %d records, %d created, %d updated, %d existing, %d resumed, %d rejected; "
            "%d requests (%d writes), %d retries, %d HTTP 429",
            self.object_type, self.action, len(items), outcome.created, outcome.updated, outcome.existing,
            resumed, len(outcome.rejected), outcome.requests, outcome.write_requests, outcome.retries,
            outcome.http_429,
        )  # fmt: skip
        self._raise_for_failures(len(items), outcome, resumed, rejected_path, context)
        self._announce(result, context)
        return result

    def _write_or_defer(self, items: list[Any], context: Any) -> tuple[BatchOutcome, int]:
        """Write; when the day's quota stops the write (short, with ``defer``; or a 429 DAILY, whatever the
        setting: another integration spent the quota), wait for the reset and go on from there."""
        try:
            outcome, resumed = self._write(items, context)
        except HubSpotDailyLimitReached as exc:
            self._defer_until(exc.resets_at, context, f"HubSpot answered 429 DAILY ({exc.message})")
        if outcome.not_attempted and self.on_quota_short == "defer" and outcome.quota is not None:
            Checkpoint(_state_store(context)).keep_in_doubt(outcome.in_doubt)
            self._write_rejections(outcome.rejected, context)  # sent again after the wait: the file is redone
            waiting = f"{len(outcome.not_attempted)} records wait: {outcome.quota.describe()}"
            self._defer_until(outcome.quota.resets_at, context, waiting)
        return outcome, resumed

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
        """Put the counts on the events of the task's outlets (Assets); with ``skip_if_empty``, a write that
        changed nothing in HubSpot (every record existed, or was rejected) ends as skipped, keeping its XCom,
        so that only a write that created or updated records emits an event."""
        if not isinstance(context, Mapping) or not self.outlets:
            return
        counts = {name: result[name] for name in ("created", "updated", "existing", "resumed", "rejected")}
        wrote = counts["created"] + counts["updated"] + counts["resumed"]
        if self.skip_if_empty and self.action != "read" and not wrote:
            context["ti"].xcom_push(key="return_value", value=result)
            raise AirflowSkipException(f"no {self.object_type} record was created or updated")
        for outlet in self.outlets:
            extra = {"object_type": self.object_type, "action": self.action, **counts}
            context["outlet_events"][outlet].extra = extra

    def _raise_for_failures(
        self, total: int, outcome: BatchOutcome, resumed: int, rejected_path: str | None, context: Any
    ) -> None:
        """After every good record landed: fail past the rejected threshold, or when creates are in doubt."""
        landed = (
            f"{len(outcome.ids)} landed ({outcome.created} created, {outcome.updated} updated, "
            f"{outcome.existing} existing, {resumed} by an earlier try)"
        )
        allowed = float(self.max_rejected_fraction)
        if total and len(outcome.rejected) / total > allowed:
            raise HubSpotRejectedRecords(
                f"{len(outcome.rejected)} of {total} {self.object_type} records were rejected (allowed "
                f"fraction {allowed}); {landed}. Reasons per record: {rejected_path}"
            )
        if outcome.in_doubt:
            path = write_jsonl(
                self._output_file(context, ".in_doubt.jsonl"), ({"key": key} for key in outcome.in_doubt)
            )
            raise HubSpotUncertainWrites(
                f"{len(outcome.in_doubt)} of {total} {self.object_type} creates got no answer and cannot be "
                f"checked without key_property: they may or may not exist, and were not resent so that "
                f"none is duplicated; {landed}. Their keys: {path}"
            )

    def _read(self, items: list[Any]) -> BatchOutcome:
        lookup: dict[str, str] = {}
        for item in items:
            if isinstance(item, Mapping):
                lookup[str(item.get("id") or item["key"])] = str(item["key"])
            else:
                lookup[str(item)] = str(item)
        found = self.hook.batch_read(self.object_type, list(lookup), id_property=self.id_property)
        return BatchOutcome(ids={lookup[value]: record["id"] for value, record in found.items()})

    def _write(self, items: list[Any], context: Any) -> tuple[BatchOutcome, int]:
        """Write the records; skip those an earlier try of this task finished, after confirming the creates
        it left in doubt. Returns (outcome, records an earlier try wrote)."""
        refused: list[Rejection] = []

        def records() -> Iterator[WriteRecord]:  # lazy: sending starts while later inputs are converted
            for n, item in enumerate(items):
                try:
                    yield WriteRecord.from_dict(item)
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    key = str(item.get("key")) if isinstance(item, Mapping) and item.get("key") else f"#{n}"
                    refused.append(Rejection(key, "INVALID_INPUT", "MALFORMED_INPUT", str(exc)))

        checkpoint = Checkpoint(_state_store(context))
        done = checkpoint.load()
        in_doubt = self._confirm_in_doubt(checkpoint, done)
        try:
            spec = WriteSpec(self.object_type, self.action, self.id_property, self.key_property)
            skip = set(done) | set(in_doubt)
            quota = QuotaRule(str(self.on_quota_short), float(self.quota_reserve), self._run_plan())
            outcome = self.hook.batch_write(
                spec, records(), skip_keys=skip, on_batch_done=checkpoint.add, quota=quota
            )
        except HubSpotError as exc:  # stopped early (outage, daily quota, auth): keep and report what we know
            partial = exc.partial_outcome
            checkpoint.keep_in_doubt([*in_doubt, *(partial.in_doubt if partial else [])])
            self._write_rejections(refused + (partial.rejected if partial else []), context)
            raise
        finally:  # whatever stopped the call (HubSpot, a task timeout), keep what landed for the retry
            checkpoint.flush()
        outcome.ids = {**done, **outcome.ids}
        outcome.rejected[:0] = refused
        outcome.in_doubt[:0] = in_doubt
        keys = {str(item.get("key")) for item in items if isinstance(item, Mapping)}
        return outcome, len(keys & done.keys())  # records planned anew as unchanged are not resumed

    def _run_plan(self) -> QuotaPlan | None:
        """``run_quota`` as a plan (None when empty: a template's ``null``)."""
        value = self.run_quota
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else None
        return QuotaPlan.from_json(value) if value else None

    def _confirm_in_doubt(self, checkpoint: Checkpoint, done: dict[str, str]) -> list[str]:
        """Log what an earlier try wrote; read back by the key property the creates it left in doubt and add
        the ones HubSpot has to ``done``. Returns the keys that stay in doubt: those of creates without a
        key property, which cannot be looked up and are not resent (a resend could duplicate them)."""
        doubted = [key for key in checkpoint.in_doubt() if key not in done]
        if doubted and self.key_property:
            found = self.hook.batch_read(self.object_type, doubted, id_property=self.key_property)
            done.update({key: record["id"] for key, record in found.items()})
            log.info(
                "%d creates an earlier try left in doubt: %d found in HubSpot, %d are sent again",
                len(doubted), len(found), len(doubted) - len(found),
            )  # fmt: skip
            doubted = []
        if done:
            log.info("Resuming: %d records were written by an earlier try; they are not resent", len(done))
        return doubted

    def _output_file(self, context: Any, suffix: str) -> ObjectStoragePath:
        """``<output_dir>/<task_id>[_<map_index>]<suffix>``: one file per task instance."""
        context = context if isinstance(context, Mapping) else {}
        if self.output_dir:
            directory = storage_path(self.output_dir)
        else:  # dag_id is "adhoc_<owner>" outside a Dag
            run_id = str(context.get("run_id") or "no_run")
            directory = default_work_dir() / path_safe(self.dag_id) / path_safe(run_id)
        map_index = getattr(context.get("ti"), "map_index", -1)
        mapped = f"_{map_index}" if isinstance(map_index, int) and map_index >= 0 else ""
        return directory / f"{path_safe(self.task_id)}{mapped}{suffix}"

    def _write_rejections(self, rejected: list[Rejection], context: Any) -> str | None:
        """Write every rejection (key, category, code, message) as JSON lines; log a summary."""
        if not rejected:
            return None
        path = write_jsonl(
            self._output_file(context, ".rejected.jsonl"),
            ({"key": r.key, "category": r.category, "code": r.code, "message": r.message} for r in rejected),
        )
        by_code = Counter(f"{r.category}/{r.code}" for r in rejected)
        log.warning(
            "%d %s records rejected (%s); every record with its reason: %s",
            len(rejected), self.object_type, ", ".join(f"{c}: {n}" for c, n in by_code.most_common()), path,
        )  # fmt: skip
        for r in rejected[:10]:
            log.warning("rejected %s: %s/%s: %s", r.key, r.category, r.code, r.message[:300])
        if len(rejected) > 10:
            log.warning("... and %d more in %s", len(rejected) - 10, path)
        return str(path)

    def _write_not_attempted(self, keys: list[str], context: Any) -> str | None:
        """Write the keys the day's quota left unsent (``partial``) as JSON lines; log where."""
        if not keys:
            return None
        path = write_jsonl(self._output_file(context, ".not_attempted.jsonl"), ({"key": k} for k in keys))
        log.warning(
            "%d %s records not attempted: today's HubSpot quota did not cover them (on_quota_short "
            "partial); a later run writes them. Their keys: %s", len(keys), self.object_type, path,
        )  # fmt: skip
        return str(path)

    def _write_existing(self, keys: list[str], context: Any) -> str | None:
        """Write the keys of creates HubSpot already held a record for as JSON lines: their values were
        written by an update, their links were not checked."""
        if not keys:
            return None
        return str(write_jsonl(self._output_file(context, ".existing.jsonl"), ({"key": k} for k in keys)))

    def _ids_value(self, ids: dict[str, str], context: Any) -> dict[str, str] | str:
        """The id map itself, or the URL of a JSON file holding it when it is large."""
        if len(ids) <= self.max_inline_ids:
            return ids
        path = write_json(self._output_file(context, ".ids.json"), ids)
        log.info("%d ids written to %s (the XCom carries its URL)", len(ids), path)
        return str(path)


def _state_store(context: Any) -> Any:
    """The task instance's ``task_state_store`` (None outside a task runner)."""
    return context.get("task_state_store") if isinstance(context, Mapping) else None
