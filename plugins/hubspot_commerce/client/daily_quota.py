"""The portal's daily request quota: plans a write against what remains of the day, and records the requests
sent in the usage table, which stands in for HubSpot's daily headers when it sends none (an OAuth app)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from hubspot_commerce.batch.quota import QuotaPlan, QuotaRule, daily_quota, next_reset, plan_quota, portal_day
from hubspot_commerce.batch.rate_limit import RateLimiter
from hubspot_commerce.batch.usage import RequestUsage
from hubspot_commerce.client.crm_account import Portal

log = logging.getLogger(__name__)
RECORD_USAGE_EVERY = 100  # requests a write counts before adding them to the usage table (tasks run at once)
BatchDone = Callable[[dict[str, str]], None]


class DailyQuota:
    """One portal's day: what the limiter saw in HubSpot's daily headers, or the connection's
    ``daily_limit`` minus what the usage table recorded.

    :param usage: the usage table (None: nothing is recorded).
    :param daily_limit: the connection's ``daily_limit`` (None: HubSpot's daily headers only).
    :param read_portal: reads the portal's id and time zone from HubSpot.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        usage: RequestUsage | None,
        daily_limit: int | None,
        read_portal: Callable[[], Portal],
    ) -> None:
        self.limiter = limiter
        self.usage = usage
        self.daily_limit = daily_limit
        self.read_portal = read_portal
        self.portal: Portal | None = None  # the last account details read (or planned)

    def portal_details(self) -> Portal:
        """The portal's id and time zone, read now (and kept for recording usage)."""
        self.portal = self.read_portal()
        return self.portal

    def plan(self, needed: int, rule: QuotaRule) -> QuotaPlan:
        """``needed`` requests against the day's quota: the account details call tells the portal's time
        zone (when the quota resets) and, in its rate-limit headers, the daily limit and what remains.
        Without those headers (an OAuth app), the connection's ``daily_limit`` minus the requests the usage
        table recorded for the portal's day (this task's so far included) is what remains."""
        portal = self.portal_details()
        now = datetime.now(UTC)
        reported = self.limiter.daily_quota()
        limit, remaining = reported
        if reported[1] is None and self.daily_limit is not None:
            used = self._used_today(portal, now)
            limit, remaining = daily_quota(reported, self.daily_limit, used)
            log.info(
                "HubSpot sent no daily quota headers: the connection's daily_limit %d, %s requests recorded "
                "for portal %s on %s", limit, used, portal.id, portal_day(now, portal.time_zone),
            )  # fmt: skip
        plan = plan_quota(needed, limit, remaining, rule, next_reset(now, portal.time_zone))
        return replace(plan, portal=portal.id, time_zone=portal.time_zone)

    def _used_today(self, portal: Portal, now: datetime) -> int:
        """Requests the usage table recorded for the portal's day, after adding this hook's own; 0 without a
        usage table (then only this hook's requests are unknown too: the log says so)."""
        if self.usage is None:
            log.warning(
                "daily_limit is set but no usage connection records the day's requests: the whole limit is "
                "taken as remaining"
            )
            return 0
        self.record()
        return self.usage.used(portal.id or "unknown", portal_day(now, portal.time_zone))

    def record(self) -> None:
        """Add the requests counted and not recorded yet to the portal's day in the usage table (no usage
        table: nothing to do)."""
        if self.usage is None or not self.usage.unrecorded:
            return
        portal = self.portal or self.portal_details()
        day = portal_day(datetime.now(UTC), portal.time_zone)
        self.usage.record(portal.id or "unknown", day)

    def record_quietly(self) -> None:
        """:meth:`record` while a failure propagates: a usage table that fails too is logged, so that the
        failure (a 429 DAILY that defers the task) is what the caller sees."""
        try:
            self.record()
        except Exception as exc:
            log.warning("The requests of this write were not recorded in the usage table: %s", exc)

    def recording(self, on_batch_done: BatchDone | None) -> BatchDone | None:
        """``on_batch_done``, also adding the requests counted so far to the usage table every
        ``RECORD_USAGE_EVERY`` requests, so that a write task planning meanwhile sees them."""
        usage = self.usage
        if usage is None:
            return on_batch_done

        def done(ids: dict[str, str]) -> None:
            if on_batch_done is not None:
                on_batch_done(ids)
            if usage.unrecorded >= RECORD_USAGE_EVERY:
                self.record()

        return done
