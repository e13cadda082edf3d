"""The limiter's decisions at explicit times (no sleeping), then its thread-safe use."""

from __future__ import annotations

import threading
import time

from hubspot_commerce.batch.rate_limit import ASSUMED_MAX, RateLimiter


def _headers(max_=190, remaining=189, interval_ms=10_000) -> dict[str, str]:
    return {
        "X-HubSpot-RateLimit-Max": str(max_),
        "X-HubSpot-RateLimit-Remaining": str(remaining),
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(interval_ms),
    }


def _fill(limiter: RateLimiter, now: float) -> int:
    """Send as many as allowed at ``now``; return how many."""
    sent = 0
    while limiter.delay(now) == 0.0:
        limiter.record_send(now)
        sent += 1
    return sent


def test_one_probe_until_the_limits_are_known():
    limiter = RateLimiter()
    assert limiter.delay(0.0) == 0.0
    limiter.record_send(0.0)
    assert limiter.delay(0.01) > 0  # second request waits for the first answer
    limiter.observe(_headers(remaining=189), 0.4)
    assert limiter.max == 190 and limiter.delay(0.4) == 0.0


def test_burst_up_to_max_minus_margin_then_wait_for_the_window():
    limiter = RateLimiter(margin_fraction=0.04, min_margin=2)
    limiter.observe(_headers(remaining=190), 0.0)
    assert limiter.capacity == 190 - 8
    assert _fill(limiter, 0.0) == 182
    assert limiter.delay(5.0) > 0
    assert _fill(limiter, 10.0 + limiter.skew_s + 0.001) == 182  # the whole window has rolled


def test_missing_headers_fall_back_to_the_smallest_hubspot_limit():
    limiter = RateLimiter()
    limiter.record_send(0.0)
    limiter.observe({}, 0.1)
    assert limiter.max == ASSUMED_MAX


def test_other_clients_usage_from_remaining_shrinks_our_share_and_fades():
    limiter = RateLimiter(margin_fraction=0.0, min_margin=10)  # capacity 90 of 100
    limiter.observe(_headers(max_=100, remaining=100), 0.0)
    for _ in range(10):
        limiter.record_send(0.0)
    # the server counts 70 in the window; 10 are ours, so 60 belong to others
    limiter.observe(_headers(max_=100, remaining=30), 0.0)
    assert round(limiter.others(0.0)) == 60
    assert _fill(limiter, 0.0) == 20  # 10 + 20 + 60 = 90
    assert round(limiter.others(5.0)) == 30  # others' requests leave the window within one interval
    assert limiter.others(10.0) == 0


def test_a_429_marks_the_window_full_and_honours_retry_after():
    limiter = RateLimiter()
    limiter.observe(_headers(), 0.0)
    limiter.record_send(0.0)
    limiter.penalize(retry_after=None, now=0.0)
    assert limiter.delay(0.0) > 0
    assert limiter.delay(10.2) == 0.0
    limiter.penalize(retry_after=3.0, now=20.0)
    assert 2.9 < limiter.delay(20.0) <= 3.0


def test_threads_share_one_window():
    limiter = RateLimiter(margin_fraction=0.0, min_margin=1)
    limiter.update(_headers(max_=21, remaining=21, interval_ms=1000))
    sent: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            limiter.acquire()
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 40
    # capacity 20 per rolling second: 40 sends need more than one window, and no window holds more than 20
    assert time.monotonic() - start >= 1.0
    for t in sent:
        assert sum(1 for u in sent if t <= u < t + 1.0) <= 20
