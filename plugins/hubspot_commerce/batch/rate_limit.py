"""Proactive pacing under HubSpot's rolling burst window, shared by the threads of one task.

HubSpot counts requests per app in a rolling window (``X-HubSpot-RateLimit-Max`` requests per
``-Interval-Milliseconds``) and reports what is left in ``X-HubSpot-RateLimit-Remaining``. That count
covers every client using the same app, so the limiter keeps two numbers:

* its own sends in the window (it knows them exactly), and
* an estimate of everybody else's: what the server says is used minus what we sent ourselves. It is
  held until a fresher answer replaces it (other clients send in bursts too, so it does not fade), and
  dropped one interval after it was seen, when every request it counted has left the window.

A send is allowed while own + others stays below ``Max`` minus a safety margin. Answers lag behind
sends, so while other clients may be sending (during the first interval, before we could have seen
them, and whenever the estimate says they are there) the requests in flight are capped too: at most
half of the headroom the last answer reported (plus our own requests that left the window since), so
two clients bursting at the same moment still fit; and once others are seen, sends are spaced evenly
(interval / capacity apart) so every client sees the others' usage before it sends more. Alone, a client
bursts up to the full limit. Several tasks
on several workers that all do this share the window without any coordination service. Until the first
answer tells the limits, one request goes out (the probe).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

ASSUMED_MAX = 100  # HubSpot's smallest private-app burst limit, used if an answer carries no headers
ASSUMED_INTERVAL_S = 10.0


def _header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class RateLimiter:
    """Blocks callers of :meth:`acquire` just long enough to keep the account under its burst limit."""

    def __init__(
        self,
        *,
        margin_fraction: float = 0.04,
        min_margin: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.margin_fraction = margin_fraction
        self.min_margin = min_margin
        self._clock = clock
        self._cond = threading.Condition()
        # Answer times of our requests still in the window. A request is counted from when it is sent
        # until one interval after its answer: the server counted it somewhere in between, so this
        # never lets a new request in before the old one has left the server's window.
        self._answered: deque[float] = deque()
        self._last_send = -math.inf
        self.max: int | None = None
        self.interval_s = ASSUMED_INTERVAL_S
        self._others = 0.0
        self._others_at = 0.0
        self._paused_until = 0.0
        self._in_flight = 0
        self._remaining: int | None = None  # the last answer's X-HubSpot-RateLimit-Remaining
        self._first_seen: float | None = None  # when the first answer with limits arrived
        self._expired = 0  # own sends that have left the window, ever
        self._expired_at_answer = 0
        self._newest_answered = -math.inf  # send time of the request whose answer gave those numbers
        self._strikes = 0  # 429s in a row
        # The account's daily quota as the last answer reported it (None: not reported, as for OAuth apps).
        self.daily: int | None = None
        self.daily_remaining: int | None = None

    # -- pure decision, testable with explicit times -------------------------------------------------
    @property
    def capacity(self) -> int:
        """Requests per window this client lets the account reach (Max minus the safety margin)."""
        return max(1, (self.max or ASSUMED_MAX) - self.margin)

    def others(self, now: float) -> float:
        """Estimated requests of other clients still in the window at ``now``."""
        return self._others if now - self._others_at < self.interval_s else 0.0

    @property
    def margin(self) -> int:
        limit = self.max or ASSUMED_MAX
        return max(self.min_margin, math.ceil(limit * self.margin_fraction))

    def in_flight_cap(self, now: float) -> int:
        """How many requests may be unanswered at once.

        1 until the limits are known. Alone (the last answer showed nobody else, and a whole interval has
        passed, so anybody else would have shown up): no cap, the window decides. Otherwise half of the
        last reported headroom plus what of ours left the window since (at least 1).
        """
        if self.max is None:
            return 1
        # _others is the last answer's estimate even when that answer is old: a quiet spell says nothing
        alone = (
            self._first_seen is not None and now - self._first_seen >= self.interval_s and not self._others
        )
        if self._remaining is None or alone:
            return self.capacity
        self.expire_own_sends(now)  # count what has left the window
        headroom = self._remaining + self._expired - self._expired_at_answer
        return max(1, (headroom - self.margin) // 2)

    def expire_own_sends(self, now: float) -> int:
        """Forget own requests that have left the server's window by ``now`` (counting them as expired);
        return how many may still count in it (in flight or recent)."""
        horizon = now - self.interval_s
        while self._answered and self._answered[0] <= horizon:
            self._answered.popleft()
            self._expired += 1
        return self._in_flight + len(self._answered)

    def delay(self, now: float) -> float:
        """Seconds until one more request may go out (0.0: now)."""
        if now < self._paused_until:
            return self._paused_until - now
        if self._in_flight >= self.in_flight_cap(now):
            return 0.05  # an answer (which wakes the waiters) brings fresh numbers
        if self._others:  # others are sending: no bursts, one request per interval / capacity
            gap = self._last_send + self.interval_s / self.capacity - now
            if gap > 0:
                return gap
        if self.expire_own_sends(now) + self.others(now) < self.capacity:
            return 0.0
        oldest_leaves = self._answered[0] + self.interval_s - now if self._answered else 0.05
        return max(0.005, min(oldest_leaves, 0.25))

    def record_send(self, now: float) -> None:
        """Count one request as sent at ``now``."""
        self._last_send = now
        self._in_flight += 1

    def observe(
        self,
        headers: Mapping[str, str] | None,
        now: float,
        *,
        limited: bool = False,
        sent_at: float | None = None,
    ) -> None:
        """Learn limits and other clients' usage from an answer's ``X-HubSpot-RateLimit-*`` headers.

        Call once per finished attempt; ``headers`` is None when no answer came (connection error);
        ``limited`` when the answer was a 429 (its ``Remaining`` is not used); ``sent_at`` when its
        request was sent: an answer that overtook a later request's answer is older news.
        """
        if self._in_flight:
            self._in_flight -= 1
            self._answered.append(now)
        if headers is None:
            return
        if not limited:
            self._strikes = 0
        daily_remaining = _header(headers, "X-HubSpot-RateLimit-Daily-Remaining")
        if daily_remaining is not None:  # a daily 429's 0 is news too
            self.daily = _header(headers, "X-HubSpot-RateLimit-Daily")
            self.daily_remaining = daily_remaining
        limit = _header(headers, "X-HubSpot-RateLimit-Max")
        interval_ms = _header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        remaining = _header(headers, "X-HubSpot-RateLimit-Remaining")
        if limit is None:
            self.max = self.max or ASSUMED_MAX
            return
        self.max = limit
        if interval_ms:
            self.interval_s = interval_ms / 1000.0
        self._first_seen = now if self._first_seen is None else self._first_seen
        if limited:  # a 429 says "full right now" (and a daily 429 nothing about the window): the pause
            return  # in penalize() covers it; the answers before it already told who else is sending
        if sent_at is not None:
            if sent_at < self._newest_answered:
                return
            self._newest_answered = sent_at
        self._remaining = remaining
        if remaining is not None:
            self._expired_at_answer = self._expired
            others = limit - remaining - self.expire_own_sends(now)
            self._others, self._others_at = float(max(0, others)), now

    def penalize(self, retry_after: float | None, now: float) -> None:
        """A 429 on the burst window: pause every sender (the 429's own headers were already observed).

        The pause is ``Retry-After`` when HubSpot sends one, else 0.5 s doubling with each 429 in a row
        (capped at the interval): refused requests may count too, so hammering would keep the window full.
        """
        self._strikes += 1
        pause = retry_after if retry_after else min(self.interval_s, 0.5 * 2 ** (self._strikes - 1))
        self._paused_until = max(self._paused_until, now + pause)

    # -- thread-safe wrappers ----------------------------------------------------------------------
    def acquire(self, stop: threading.Event | None = None) -> float | None:
        """Wait until a request may be sent, count it and return its send time (for :meth:`update`).

        Returns None without counting when ``stop`` is set, before or while waiting: once a call has failed
        for good, no thread of it starts another request, whether the window is full or not.
        """
        with self._cond:
            while (wait := self.delay(self._clock())) > 0 or (stop is not None and stop.is_set()):
                if stop is not None and stop.is_set():
                    return None
                self._cond.wait(min(wait, 0.25))
            now = self._clock()
            self.record_send(now)
            return now

    def update(
        self, headers: Mapping[str, str] | None, *, limited: bool = False, sent_at: float | None = None
    ) -> None:
        """Thread-safe :meth:`observe` at the current time."""
        with self._cond:
            self.observe(headers, self._clock(), limited=limited, sent_at=sent_at)
            self._cond.notify_all()

    def daily_quota(self) -> tuple[int | None, int | None]:
        """The account's daily limit and what remained of it at the last answer that reported them."""
        with self._cond:
            return self.daily, self.daily_remaining

    def throttled(self, retry_after: float | None) -> None:
        """Thread-safe :meth:`penalize` at the current time."""
        with self._cond:
            self.penalize(retry_after, self._clock())
            self._cond.notify_all()
