"""The limiter's decisions at explicit times (no sleeping), then its thread-safe use."""

from __future__ import annotations

import itertools
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
    """Send as many as allowed at ``now``, each answered at once without headers; return how many."""
    sent = 0
    while limiter.delay(now) == 0.0:
        limiter.record_send(now)
        limiter.observe(None, now)
        sent += 1
    return sent


def test_requests_in_flight_are_capped_by_half_the_reported_headroom():
    limiter = RateLimiter(margin_fraction=0.0, min_margin=2)
    limiter.observe(_headers(max_=100, remaining=100), 0.0)
    for _ in range(48):
        limiter.record_send(0.0)
    assert limiter.delay(0.0) == 0.0  # 48 unanswered < (100 - 2) / 2
    limiter.record_send(0.0)
    assert limiter.delay(0.0) > 0
    limiter.observe(_headers(max_=100, remaining=10), 0.1)  # one answer: 4 = (10 - 2) / 2 may be in flight
    assert limiter.in_flight_cap(0.1) == 4
    limiter.observe(_headers(max_=100, remaining=0), 0.1)
    assert limiter.in_flight_cap(0.1) == 1  # a full window: one request per answer
    # an answer showing nobody else, after a whole interval: no cap beyond the window itself
    limiter.observe(_headers(max_=100, remaining=100), 10.2)
    assert limiter.in_flight_cap(10.3) == limiter.capacity


def test_an_answer_that_overtook_a_later_one_does_not_replace_it():
    limiter = RateLimiter(margin_fraction=0.0, min_margin=2)
    limiter.observe(_headers(max_=100, remaining=40), 1.0, sent_at=0.9)
    limiter.observe(_headers(max_=100, remaining=90), 1.1, sent_at=0.2)  # stale news
    assert limiter.in_flight_cap(1.1) == (40 - 2) // 2


def test_in_flight_cap_credits_own_requests_that_left_the_window():
    limiter = RateLimiter(margin_fraction=0.0, min_margin=2)
    limiter.observe(_headers(max_=100, remaining=100), 0.0)
    for _ in range(40):
        limiter.record_send(0.0)
        limiter.observe(None, 0.5)  # answered at 0.5: counted until 10.5
    limiter.record_send(9.0)
    limiter.observe(_headers(max_=100, remaining=0), 9.0)  # 59 from another client: not alone
    assert limiter.in_flight_cap(9.0) == 1
    assert limiter.in_flight_cap(10.4) == 1
    assert limiter.in_flight_cap(10.6) == (40 - 2) // 2  # our 40 have left the window since


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
    assert _fill(limiter, 10.0) == 182  # one interval after their answers, the whole window has rolled


def test_missing_headers_fall_back_to_the_smallest_hubspot_limit():
    limiter = RateLimiter()
    limiter.record_send(0.0)
    limiter.observe({}, 0.1)
    assert limiter.max == ASSUMED_MAX


def test_other_clients_usage_from_remaining_shrinks_our_share_until_it_leaves_the_window():
    limiter = RateLimiter(margin_fraction=0.0, min_margin=10)  # capacity 90 of 100
    limiter.observe(_headers(max_=100, remaining=100), 0.0)
    for _ in range(10):
        limiter.record_send(0.0)
    # the server counts 70 in the window; 10 are ours, so 60 belong to others
    limiter.observe(_headers(max_=100, remaining=30), 0.0)
    assert round(limiter.others(0.0)) == 60
    sent = []
    for step in range(500):  # 5 seconds in 10 ms steps, each send answered at once
        now = step / 100
        if limiter.delay(now) == 0.0:
            limiter.record_send(now)
            limiter.observe(None, now)
            sent.append(now)
    assert len(sent) == 20  # 10 + 20 + 60 = 90
    # with others around, no burst: sends are spaced by interval / capacity
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 10 / 90 - 1e-9
    assert round(limiter.others(9.9)) == 60  # held: others may have sent them all at once
    assert limiter.others(10.0) == 0  # one interval later every one of them has left the window


def test_a_429_pauses_everyone_longer_each_time_and_honours_retry_after():
    limiter = RateLimiter()
    limiter.observe(_headers(), 0.0)
    limiter.record_send(0.0)
    limiter.penalize(retry_after=None, now=0.0)
    assert limiter.delay(0.0) == 0.5
    limiter.penalize(retry_after=None, now=1.0)
    assert limiter.delay(1.0) == 1.0  # second 429 in a row: twice as long
    limiter.observe(_headers(remaining=150), 20.0)  # an answer that was not a 429 ends the streak
    limiter.penalize(retry_after=None, now=20.0)
    assert limiter.delay(20.0) == 0.5
    limiter.penalize(retry_after=3.0, now=30.0)
    assert limiter.delay(30.0) == 3.0
    # a 429's "Remaining: 0" is not taken as other clients' usage (that would stall us a whole interval)
    limiter.observe(_headers(remaining=0), 40.0, limited=True)
    assert limiter.others(40.0) == 0


def test_threads_share_one_window():
    limiter = RateLimiter(margin_fraction=0.0, min_margin=1)
    limiter.update(_headers(max_=21, remaining=21, interval_ms=1000))
    sent: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            limiter.acquire()
            limiter.update(None)
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


def test_a_waiting_sender_gives_up_when_the_call_stops():
    limiter = RateLimiter()
    assert limiter.acquire() is not None  # the probe: the next one waits for its answer
    stop = threading.Event()
    got: list = []
    waiter = threading.Thread(target=lambda: got.append(limiter.acquire(stop)))
    waiter.start()
    time.sleep(0.1)
    stop.set()
    waiter.join(timeout=2)
    assert got == [None] and not waiter.is_alive()
