"""Planning a write against HubSpot's daily request quota: pure decisions, no I/O.

HubSpot gives each account a daily quota shared by every integration on the portal, and reports the limit
and what is left in ``X-HubSpot-RateLimit-Daily`` / ``-Daily-Remaining``; not on OAuth-authorized requests,
where the connection's configured daily limit minus the requests recorded for the portal's day stands in.
Before a write, the requests it needs (one per batch of 100 records) are compared with what remains above a
reserve kept for the portal's other integrations (10% of the daily limit by default). When the write needs
more, ``on_quota_short`` decides: ``defer`` (write what fits, wait for the reset, go on), ``fail`` (write
nothing, name the numbers) or ``partial`` (write what fits, report the rest as not attempted).

The quota resets at midnight in the portal's time zone (HubSpot's usage guidelines); the account
information API reports that time zone (``timeZone``), no HubSpot API reports the reset moment itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ON_QUOTA_SHORT = ("defer", "fail", "partial")
DEFAULT_RESERVE = 0.1  # share of the daily limit left for the portal's other integrations
RECORDS_PER_REQUEST = 100  # HubSpot's batch size
LINKS_PER_REQUEST = 1000  # association batch create inputs per request, as the hook sends them


def requests_for(records: int, per_request: int = RECORDS_PER_REQUEST) -> int:
    """Requests one write action makes for ``records`` records (a partial batch is a request too)."""
    return math.ceil(max(0, records) / per_request)


def stream_requests(plan: Mapping[str, Any], *, upsert: bool) -> int:
    """Requests a stream's plan (``plan.json``: ``create``, ``update``, ``relinked`` counts) makes: each
    write action's batches (one ``upsert`` action for an upsert stream) plus the association batches of
    relinks.
    Retries and the reads that make creates exactly-once are not counted: they are rare and small."""
    create, update = int(plan.get("create") or 0), int(plan.get("update") or 0)
    relinked = int(plan.get("relinked") or 0)
    updated_records = update - relinked  # plan.json counts relinked records among the updates
    if upsert:
        writes = requests_for(create + updated_records)
    else:
        writes = requests_for(create) + requests_for(updated_records)
    return writes + requests_for(relinked, LINKS_PER_REQUEST)


def _zone(time_zone: str | None) -> tzinfo:
    """The portal's time zone; an unknown or missing zone counts as UTC."""
    try:
        return ZoneInfo(time_zone) if time_zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def next_reset(now: datetime, time_zone: str | None, *, retry_after: float | None = None) -> datetime:
    """When the daily quota comes back, in UTC: after ``retry_after`` seconds when HubSpot said so (a
    ``429 DAILY``), else at the next midnight in the portal's time zone (UTC when unknown or missing)."""
    if retry_after is not None:
        return now + timedelta(seconds=retry_after)
    zone = _zone(time_zone)
    local = now.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time.min, zone).astimezone(UTC)


def portal_day(now: datetime, time_zone: str | None) -> str:
    """The portal's date at ``now`` (ISO): the day whose quota a request counts against."""
    return now.astimezone(_zone(time_zone)).date().isoformat()


def daily_quota(
    reported: tuple[int | None, int | None], configured_limit: int | None, used_today: int
) -> tuple[int | None, int | None]:
    """The daily limit and what remains of it. HubSpot's ``reported`` headers win; without them (an OAuth
    app) the connection's configured limit minus the requests recorded for the portal's day; else unknown."""
    limit, remaining = reported
    if remaining is not None or configured_limit is None:
        return limit, remaining
    return configured_limit, max(0, configured_limit - used_today)


@dataclass(frozen=True)
class QuotaRule:
    """How a write treats the daily quota: what to do when short, and the share of the limit to leave.
    ``planned`` is the run's plan, made once before its first write: a write trusts it when it is not short,
    and asks HubSpot nothing more."""

    on_short: str = "defer"
    reserve: float = DEFAULT_RESERVE
    planned: QuotaPlan | None = None

    def __post_init__(self) -> None:
        if self.on_short not in ON_QUOTA_SHORT:
            raise ValueError(f"on_quota_short must be one of {ON_QUOTA_SHORT}, got {self.on_short!r}")
        if not 0 <= self.reserve < 1:
            raise ValueError(
                f"quota_reserve must be a share of the daily limit in [0, 1), got {self.reserve}"
            )


@dataclass(frozen=True)
class QuotaPlan:
    """A write's requests against the day's quota. ``limit``/``remaining`` are None when HubSpot did not
    report them (OAuth) and the connection configures no daily limit: then nothing is known to be short,
    and a ``429 DAILY`` is what stops the write."""

    needed: int
    limit: int | None
    remaining: int | None
    reserve: int
    on_short: str
    resets_at: datetime
    portal: str | None = None  # the portal's id and time zone, as the account details call gave them
    time_zone: str | None = None

    @property
    def available(self) -> int | None:
        """Requests this write may make today: what remains above the reserve."""
        return None if self.remaining is None else max(0, self.remaining - self.reserve)

    @property
    def short(self) -> bool:
        """Whether the write needs more than is available."""
        return self.available is not None and self.needed > self.available

    def records_that_fit(self, records: int) -> int:
        """How many of ``records`` may be written now: all unless short; ``fail`` writes none then."""
        if not self.short:
            return records
        if self.on_short == "fail":
            return 0
        return min(records, (self.available or 0) * RECORDS_PER_REQUEST)

    def describe(self) -> str:
        """The numbers in one line, for logs, errors and the report."""
        if self.available is None:
            return (
                f"needs {self.needed} requests; HubSpot reported no daily quota (an OAuth app) and the "
                "connection sets no daily_limit, so the write goes ahead and a 429 DAILY would wait for "
                f"the reset ({self.resets_at:%Y-%m-%d %H:%M} UTC)"
            )
        return (
            f"needs {self.needed} requests; {self.remaining} of {self.limit} remain today, {self.reserve} "
            f"reserved for other integrations, so {self.available} available; the quota resets at "
            f"{self.resets_at:%Y-%m-%d %H:%M} UTC"
        )

    def to_json(self) -> dict[str, Any]:
        """The plan as a JSON-ready dict (XCom, report)."""
        return {**asdict(self), "resets_at": self.resets_at.isoformat(), "available": self.available}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> QuotaPlan:
        """The plan :meth:`to_json` gave (extra keys, such as ``available``, are ignored)."""
        names = ("needed", "limit", "remaining", "reserve", "on_short", "portal", "time_zone")
        fields = {name: value.get(name) for name in names}
        return cls(**fields, resets_at=datetime.fromisoformat(str(value["resets_at"])))


def plan_quota(
    needed: int, limit: int | None, remaining: int | None, rule: QuotaRule, resets_at: datetime
) -> QuotaPlan:
    """Compare a write's ``needed`` requests with the day's ``remaining`` minus the reserve (``rule.reserve``
    of ``limit``, rounded up: the stricter choice for the other integrations)."""
    reserve = math.ceil(limit * rule.reserve) if limit is not None else 0
    return QuotaPlan(needed, limit, remaining, reserve, rule.on_short, resets_at)
