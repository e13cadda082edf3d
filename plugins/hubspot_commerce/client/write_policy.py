"""The write policy around the batch engine: plan a write against the day's quota first, create anew the
records HubSpot lost, write the source's values onto records HubSpot already held, and record the usage."""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, replace

from hubspot_commerce.batch.keyset import members
from hubspot_commerce.batch.quota import QuotaPlan, QuotaRule, requests_for
from hubspot_commerce.batch.records import BatchOutcome, RecordSpool, WriteRecord, WriteSpec
from hubspot_commerce.batch.requests import groups
from hubspot_commerce.batch.send import BatchEngine
from hubspot_commerce.client.crm_account import Portal
from hubspot_commerce.client.daily_quota import BatchDone, DailyQuota
from hubspot_commerce.errors import HubSpotDailyLimitReached, HubSpotQuotaShort

log = logging.getLogger(__name__)


def _count_unskipped(records: Iterable[WriteRecord], skip_keys: Container[str]) -> int:
    """How many of ``records`` have a key not among ``skip_keys`` (looked up 1,000 at a time)."""
    return sum(members(skip_keys, [r.key for r in group]).count(False) for group in groups(records, 1_000))


@dataclass(frozen=True)
class _Sending:
    """How one ``batch_write`` sends: the keys it skips, what gets each finished batch's ids, and whether
    its outcome keeps the ids too."""

    skip_keys: Container[str]
    on_batch_done: BatchDone | None
    keep_ids: bool

    def write(
        self, engine: BatchEngine, spec: WriteSpec, records: Iterable[WriteRecord], limit: int | None = None
    ) -> BatchOutcome:
        """The write itself, of at most ``limit`` records."""
        return engine.write(
            spec,
            records,
            skip_keys=self.skip_keys,
            on_batch_done=self.on_batch_done,
            keep_ids=self.keep_ids,
            limit=limit,
        )

    def again(self, engine: BatchEngine, spec: WriteSpec, records: Iterable[WriteRecord]) -> BatchOutcome:
        """A second write of records the first one set aside (none of them skipped)."""
        return engine.write(spec, records, on_batch_done=self.on_batch_done, keep_ids=self.keep_ids)


class RecordWriter:
    """Creates, upserts or updates records through ``engine`` under the day's ``quota``.

    :param warm_up: builds the HTTP session in the calling thread before the engine's workers share it.
    """

    def __init__(self, engine: BatchEngine, quota: DailyQuota, warm_up: Callable[[], object]) -> None:
        self.engine = engine
        self.quota = quota
        self.warm_up = warm_up

    def batch_write(
        self,
        spec: WriteSpec,
        records: Iterable[WriteRecord],
        skip_keys: Container[str] = frozenset(),
        on_batch_done: BatchDone | None = None,
        quota: QuotaRule | None = None,
    ) -> BatchOutcome:
        """Create, upsert or update any number of records, 100 per request, concurrently and paced, in
        memory that does not grow with their number.

        :param spec: object type, action (``create``, ``upsert``, ``update``) and the properties that
            identify records (``key_property`` for exactly-once creates; ``id_property`` for upserts). An
            update with a ``key_property`` creates anew the records HubSpot no longer has; a create that
            finds its key in HubSpot writes its values onto that record by an update.
        :param records: read as they are sent, never held whole. When ``quota`` must count them first, a
            one-pass iterator is read into a list: pass something that reads its source anew on each
            ``iter()`` (a list, a file reader) to keep memory flat.
        :param skip_keys: source keys already written (a resumed task); they are not sent.
        :param on_batch_done: called in the calling thread with each finished batch's ``{key: id}``; the
            outcome then holds no ids (the callback has them), so no id map grows with the write.
        :param quota: plan the write against the day's quota first (see :meth:`_write_within_quota`).
        :return: ids of every record that landed, counts, and the records HubSpot rejected with reasons.
        :raises HubSpotDailyLimitReached, HubSpotAuthError: after stopping cleanly; the exception's
            ``partial_outcome`` holds what landed.
        :raises HubSpotQuotaShort: with ``quota.on_short`` ``fail``, before writing anything.
        """
        self.warm_up()
        sending = _Sending(skip_keys, self.quota.recording(on_batch_done), keep_ids=on_batch_done is None)
        try:
            if quota is None:
                outcome = sending.write(self.engine, spec, records)
            else:
                outcome = self._write_within_quota(spec, records, quota, sending)
            self._recreate_gone(spec, outcome, sending)
            self._update_existing(spec, outcome, sending)
        except BaseException:
            self.quota.record_quietly()
            raise
        self.quota.record()
        return outcome

    def _recreate_gone(self, spec: WriteSpec, outcome: BatchOutcome, sending: _Sending) -> None:
        """Create anew, with their source key and links, the records of an update that HubSpot no longer has
        (deleted or merged in HubSpot: ``OBJECT_NOT_FOUND``), which the engine set aside."""
        if not outcome.gone:
            return
        create = WriteSpec(spec.object_type, "create", key_property=spec.key_property)
        again = (replace(record, id=None) for record in outcome.gone)
        recreated = sending.again(self.engine, create, again)
        outcome.gone = RecordSpool()
        outcome.add(recreated, keep_ids=sending.keep_ids)
        log.info("%d %s records HubSpot no longer had were created anew", recreated.created, spec.object_type)

    def _update_existing(self, spec: WriteSpec, outcome: BatchOutcome, sending: _Sending) -> None:
        """Write the source's values onto the records HubSpot already held for a create's key (a lost sync
        state, another writer), by their id: else they would keep older values that the sync believes it
        wrote. Their links are not checked here (the caller is told by ``existing_keys``)."""
        if not outcome.existing_records:
            return
        update = WriteSpec(spec.object_type, "update")
        again = (replace(record, associations=()) for record in outcome.existing_records)
        refreshed = sending.again(self.engine, update, again)
        refreshed.updated = 0  # counted as existing already
        outcome.add(refreshed, keep_ids=sending.keep_ids)
        log.info(
            "%d %s records HubSpot already held now hold the source's values",
            len(outcome.existing_records), spec.object_type,
        )  # fmt: skip

    def _write_within_quota(
        self, spec: WriteSpec, records: Iterable[WriteRecord], rule: QuotaRule, sending: _Sending
    ) -> BatchOutcome:
        """Write what the day's quota covers above the reserve: everything when it suffices, else nothing
        (``fail``: HubSpotQuotaShort naming the numbers) or the first records that fit (the rest are in the
        outcome's ``not_attempted``). A 429 DAILY on the way says the reset is the portal's midnight. A
        run's plan that found the quota sufficient (``rule.planned``) is trusted: no request checks it, and
        the records are not counted first."""
        what = f"{spec.object_type} {spec.action}"
        if rule.planned is not None and not rule.planned.short:
            self.quota.portal = Portal(rule.planned.portal, rule.planned.time_zone)
            log.info("%s: the run's plan covers it (%s)", what, rule.planned.describe())
            return self._write_before_reset(spec, records, rule.planned, sending)
        if iter(records) is records:  # one pass only, and it is counted before it is sent
            records = list(records)
        needed = _count_unskipped(records, sending.skip_keys)
        plan = self.quota.plan(requests_for(needed), rule)
        log.info("%s of %d records: %s", what, needed, plan.describe())
        if plan.short and rule.on_short == "fail":
            raise HubSpotQuotaShort(
                f"{what} of {needed} records not started: HubSpot's daily quota is short "
                f"({plan.describe()}). Nothing was written; run it after the reset, lower quota_reserve, "
                "or choose on_quota_short defer or partial",
                plan=plan,
            )
        fits = plan.records_that_fit(needed)
        if fits < needed:
            log.warning("%s: %d records fit today's quota; %d wait", what, fits, needed - fits)
        outcome = self._write_before_reset(spec, records, plan, sending, fits if fits < needed else None)
        outcome.quota = plan
        return outcome

    def _write_before_reset(
        self,
        spec: WriteSpec,
        records: Iterable[WriteRecord],
        plan: QuotaPlan,
        sending: _Sending,
        limit: int | None = None,
    ) -> BatchOutcome:
        """Write (at most ``limit`` records); a 429 DAILY on the way (another integration spent the quota)
        waits for the plan's reset, midnight in the portal's time zone."""
        try:
            return sending.write(self.engine, spec, records, limit)
        except HubSpotDailyLimitReached as exc:
            exc.resets_at = plan.resets_at
            raise
