"""HubSpot's request limits: a rolling 10-second window per app and a daily counter per portal.

Each token (private app) or OAuth client is one app with its own burst window; the daily limit is shared by
all apps of the portal, as HubSpot describes it.

Every authenticated request counts, including the ones answered 429 (HubSpot does not document whether
refused requests count; counting them is the stricter choice: a client that keeps hammering stays limited).

The daily count starts again at midnight in the portal's time zone ("resets at midnight based on your time
zone setting"); the control API can move that moment, or start a new day at once, so a test can watch a
sync wait for the reset and go on in seconds.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

INTERVAL_MS = 10_000


@dataclass(frozen=True)
class LimitState:
    """The limits after one request: which policy refused it (None if allowed) and what is left."""

    policy: str | None
    max: int
    remaining: int
    daily: int
    daily_remaining: int
    secondly: int
    secondly_remaining: int

    def headers(self, *, with_daily: bool) -> dict[str, str]:
        """HubSpot's rate-limit headers (the daily pair is not sent to OAuth callers)."""
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(INTERVAL_MS),
            "X-HubSpot-RateLimit-Max": str(self.max),
            "X-HubSpot-RateLimit-Remaining": str(self.remaining),
            "X-HubSpot-RateLimit-Secondly": str(self.secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(self.secondly_remaining),
        }
        if with_daily:
            headers["X-HubSpot-RateLimit-Daily"] = str(self.daily)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(self.daily_remaining)
        return headers


class RateLimiter:
    """Counts requests; ``hit()`` tells whether this one is over a limit."""

    def __init__(self, per_10s: int, daily: int, time_zone: str = "UTC") -> None:
        self._lock = threading.Lock()
        self.time_zone = ZoneInfo(time_zone)  # ZoneInfoNotFoundError (a KeyError) for an unknown name
        self.configure(per_10s, daily)

    def configure(self, per_10s: int, daily: int) -> None:
        """Set the limits and forget every request counted so far."""
        with self._lock:
            self.per_10s = per_10s
            self.daily = daily
            self._windows: dict[str, deque[float]] = {}
            self._start_day(datetime.now(UTC))
            self.peak = 0

    def _start_day(self, now: datetime) -> None:
        """A new day: nothing counted; the next reset at the coming midnight in the portal's time zone."""
        local = now.astimezone(self.time_zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), self.time_zone)
        self.resets_at = midnight.astimezone(UTC)
        self._daily_count = 0

    def new_day(self) -> None:
        """Start the next day now (what midnight does): the daily quota is whole again."""
        with self._lock:
            self._start_day(datetime.now(UTC))

    def reset_at(self, moment: datetime) -> None:
        """Make the current day end at ``moment`` (aware) instead of at midnight."""
        if moment.tzinfo is None:
            raise ValueError("resets_at needs a time zone offset, e.g. 2026-12-04T18:00:00+00:00")
        with self._lock:
            self.resets_at = moment.astimezone(UTC)

    def day(self) -> dict[str, object]:
        """The daily quota now: limit, used, remaining, when it resets, the portal's time zone."""
        with self._lock:
            self._roll_day(datetime.now(UTC))
            return {
                "daily_limit": self.daily,
                "daily_used": self._daily_count,
                "daily_remaining": max(0, self.daily - self._daily_count),
                "resets_at": self.resets_at.isoformat(),
                "time_zone": self.time_zone.key,
            }

    def _roll_day(self, now: datetime) -> None:
        """Start a new day if the reset moment has passed."""
        if now >= self.resets_at:
            self._start_day(now)

    def hit(self, app: str, *, burst: bool = True) -> LimitState:
        """Count one request of ``app`` (in its ten-secondly window too unless ``burst`` is False)."""
        now = time.monotonic()
        with self._lock:
            window = self._windows.setdefault(app, deque())
            while window and window[0] <= now - INTERVAL_MS / 1000:
                window.popleft()
            self._roll_day(datetime.now(UTC))
            if self._daily_count >= self.daily:
                policy: str | None = "DAILY"
            elif burst and len(window) >= self.per_10s:
                policy = "TEN_SECONDLY_ROLLING"
            else:
                policy = None
            if burst:
                window.append(now)
            self._daily_count += 1
            self.peak = max(self.peak, len(window))
            in_last_second = 0
            for moment in reversed(window):
                if moment <= now - 1:
                    break
                in_last_second += 1
            secondly = max(1, self.per_10s // 10)
            return LimitState(
                policy=policy,
                max=self.per_10s,
                remaining=max(0, self.per_10s - len(window)),
                daily=self.daily,
                daily_remaining=max(0, self.daily - self._daily_count),
                secondly=secondly,
                secondly_remaining=max(0, secondly - in_last_second),
            )
