"""Running a call's batches on a thread pool: bounded look-ahead, a first failure that stops every thread, and
progress lines (batches, records per second, retries and 429s as they happen)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from hubspot_commerce.batch.records import BatchOutcome
from hubspot_commerce.errors import HubSpotError

log = logging.getLogger(__name__)
Job = Callable[[Any], tuple[Any, BatchOutcome]]
OnDone = Callable[[Any, BatchOutcome], None]


class Stopped(Exception):
    """Another thread hit a fatal error; this one gives up its batch quietly."""


class LiveCounts:
    """Retries and HTTP 429 answers as they happen, from every thread (a batch's own outcome reaches the
    totals only when the batch ends, too late for the progress lines)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.retries = 0
        self.http_429 = 0

    def add(self, retries: int = 0, http_429: int = 0) -> None:
        """Count retries and 429 answers, from any thread."""
        with self._lock:
            self.retries += retries
            self.http_429 += http_429


class Progress:
    """Counts batches and logs a progress line every ``every_s`` seconds and at the end; retries and 429s
    as they happen (``live``). How many batches there are is known once the last one is planned."""

    def __init__(self, label: str, totals: BatchOutcome, every_s: float, live: LiveCounts) -> None:
        self.label = label
        self.totals = totals
        self.live = live
        self.every_s = every_s
        self.started = self.last_log = time.monotonic()
        self.submitted = self.batches = self.records = 0
        self.total: int | None = None

    def planned(self) -> None:
        """The last batch is planned: their number is known."""
        self.total = self.submitted
        log.info("%s: %d batches planned", self.label, self.total)

    def finished(self, part: BatchOutcome) -> None:
        """One batch ended with ``part``."""
        self.batches += 1
        self.records += len(part.ids) + len(part.rejected)

    def log(self, final: bool) -> None:
        """A progress line, when ``every_s`` has passed since the last one or the call ends."""
        now = time.monotonic()
        if now - self.last_log < self.every_s and not final:
            return
        self.last_log = now
        log.info(
            "%s: %d/%s batches, %d records, %.0f records/s, retries %d, HTTP 429 %d, rejected %d",
            self.label, self.batches, "?" if self.total is None else self.total, self.records,
            self.records / max(now - self.started, 1e-9),
            self.live.retries, self.live.http_429, len(self.totals.rejected),
        )  # fmt: skip


class ConcurrentRun:
    """One call's jobs on a thread pool of ``max_workers``, at most ``max_in_flight`` of them pending;
    ``stop`` is shared with the senders, which give up (``Stopped``) once it is set."""

    def __init__(
        self, stop: threading.Event, progress: Progress, *, max_workers: int, max_in_flight: int
    ) -> None:
        self.stop = stop
        self.progress = progress
        self.max_workers = max_workers
        self.max_in_flight = max_in_flight

    def run(self, items: Iterable[Any], job: Job, on_done: OnDone) -> None:
        """Run ``job`` over ``items``; call ``on_done`` in this thread with each result as it finishes.

        ``items`` may be lazy: it is read as jobs finish, never more than ``max_in_flight`` ahead of them.
        The first fatal error (of a job, or of reading ``items``) stops every thread (they finish their
        current request) and is re-raised after all threads have stopped, so what already landed is
        accounted for.
        """
        self.stop.clear()
        source, reading = iter(items), True
        fatal: BaseException | None = None
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            pending: set[Future] = set()
            try:
                while True:
                    try:
                        reading = reading and self._fill(source, pool, pending, job)
                    except BaseException as exc:  # reading the items failed: stop, keep what is in flight
                        fatal, reading = fatal or exc, False
                        self.stop.set()
                    if not pending:
                        break
                    completed, pending = wait(
                        pending, timeout=self.progress.every_s, return_when=FIRST_COMPLETED
                    )
                    for future in completed:
                        fatal = self._finished(future, on_done, fatal)
                    self.progress.log(final=not pending)
            finally:  # also when the caller stops early: let no thread start another request
                self.stop.set()
                for future in pending:
                    future.cancel()
        self.stop.clear()  # every thread has finished: later calls on this engine may send again
        if fatal is not None:
            raise fatal

    def _fill(self, source: Iterator[Any], pool: ThreadPoolExecutor, pending: set[Future], job: Job) -> bool:
        """Start jobs on the next items of ``source`` until ``max_in_flight`` are pending (none once the call
        is stopping); False when ``source`` has ended."""
        while len(pending) < self.max_in_flight and not self.stop.is_set():
            try:
                item = next(source)
            except StopIteration:
                self.progress.planned()
                return False
            pending.add(pool.submit(self._stopping_on_failure, job, item))
            self.progress.submitted += 1
        return True

    def _finished(self, future: Future, on_done: OnDone, fatal: BaseException | None) -> BaseException | None:
        """Hand a finished job's result to ``on_done``; the first failure stops every thread, and what its
        batch landed before it failed is handed on too. Returns the call's fatal error so far."""
        try:
            result, part = future.result()
        except Stopped:
            return fatal
        except BaseException as exc:
            if fatal is None:
                fatal = exc
                self.stop.set()
            if isinstance(exc, HubSpotError) and exc.partial_outcome is not None:
                on_done(None, exc.partial_outcome)  # what landed before it failed
            return fatal
        on_done(result, part)
        self.progress.finished(part)
        return fatal

    def _stopping_on_failure(self, job: Job, item: Any) -> Any:
        """Run one job; if it fails, stop every thread at once, from this thread, so that none starts
        another request before the calling thread has seen the failure."""
        try:
            return job(item)
        except Stopped:
            raise
        except BaseException:
            self.stop.set()
            raise
