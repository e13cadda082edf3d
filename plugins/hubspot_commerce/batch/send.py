"""The batch engine: one request retried by error kind, batch reads and writes run concurrently
(``concurrency``), each batch written to the end (``batch_writer``), refused requests split (``refusals``).

Batches are planned from the records as they are read, at most ``max_in_flight`` ahead of the answers, so a
call of any size holds a bounded part of its input. What happens to a batch:

* 2xx / 207: every input is matched to its result or error by trace id (``results.fold_write``).
* 429 burst: the shared limiter treats the window as full, then the same request goes again.
* 429 daily, 401, 403: every thread stops; the caller gets the typed error with what landed so far.
* 423, 477, 5xx, dropped connection, timeout: jittered exponential backoff, then retry. For a create this
  is uncertain (it may have been written), so the batch's keys are read back by the key property first
  and only the missing inputs are sent again: no duplicate, no extra write.
* HubSpot still failing after the last attempt: an outage, never a rejection. Every thread stops and the
  caller gets ``HubSpotUnavailable`` with what landed and the creates still in doubt, which the next try
  confirms by reading their keys before resending anything.
* Create refused because a key already exists (HubSpot's unique-value check on the key property): those
  keys are read and their ids taken (counted as ``existing``).
* Any other whole-batch 4xx: the batch is split in halves until the bad input(s) stand alone; they are
  rejected with HubSpot's reason and every other input lands.
* An update (with a key property) of a record HubSpot no longer has (``OBJECT_NOT_FOUND``): the record is
  set aside in the outcome's ``gone``, for the write policy to create anew; a create that found its key is
  set aside in ``existing_records``, for the write policy to write its values by an update.
"""

import logging
import random
import threading
import time
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hubspot_commerce.batch.batch_writer import BatchWriter
from hubspot_commerce.batch.concurrency import ConcurrentRun, Job, LiveCounts, OnDone, Progress, Stopped
from hubspot_commerce.batch.rate_limit import RateLimiter
from hubspot_commerce.batch.records import BatchOutcome, WriteRecord, WriteSpec
from hubspot_commerce.batch.requests import MAX_BATCH, PlannedInput, chunked, iter_batches
from hubspot_commerce.batch.results import fold_read
from hubspot_commerce.errors import (
    HubSpotError,
    HubSpotRateLimited,
    HubSpotServerError,
    HubSpotUnavailable,
    error_for_response,
)

log = logging.getLogger(__name__)
# Requests in flight per task. With HubSpot's ~400 ms batch latency, 32 threads can fill a 190-request
# window in about 2.5 s; the rate limiter, not the thread count, keeps the task under the limit.
DEFAULT_MAX_WORKERS = 32
IN_FLIGHT_PER_WORKER = 2  # batches planned ahead per worker: each has its next batch ready, memory stays flat


@dataclass(frozen=True)
class ApiResponse:
    """One HTTP answer: status, parsed JSON body and headers."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str]


class Transport(Protocol):
    """Sends one request; raises ``HubSpotConnectionError`` when no answer arrives."""

    def __call__(self, method: str, endpoint: str, payload: Mapping[str, Any] | None) -> ApiResponse: ...


class BatchPaths(Protocol):
    """Where the object batch endpoints are (the hook's ``ApiPaths``, built from the API version)."""

    def batch(self, object_type: str, action: str) -> str: ...


class BatchEngine:
    """Writes and reads HubSpot objects in batches of 100 through ``transport``, paced by ``limiter``, at the
    batch endpoints ``paths`` names."""

    def __init__(
        self,
        transport: Transport,
        limiter: RateLimiter,
        paths: BatchPaths,
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        max_attempts: int = 8,
        max_rate_limited: int = 30,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        progress_every_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = transport
        self.limiter = limiter
        self.paths = paths
        self.max_workers = max_workers
        self.max_attempts = max_attempts
        self.max_rate_limited = max_rate_limited
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.progress_every_s = progress_every_s
        self.sleep = sleep
        self.live = LiveCounts()
        self._stop = threading.Event()

    # -- one request -------------------------------------------------------------------------------
    def _attempt(
        self, method: str, endpoint: str, payload: Any, stats: BatchOutcome, write: bool, label: str
    ) -> ApiResponse:
        """Send once, through the limiter; translate a non-2xx answer into a typed error named ``label``."""
        sent_at = self.limiter.acquire(self._stop)
        if sent_at is None:
            raise Stopped
        stats.requests += 1
        stats.write_requests += write
        try:
            response = self.transport(method, endpoint, payload)
        except BaseException:  # every send must be answered in the limiter, or waiting threads stall
            self.limiter.update(None)
            raise
        self.limiter.update(response.headers, limited=response.status == 429, sent_at=sent_at)
        if 200 <= response.status < 300:
            return response
        stats.http_429 += response.status == 429
        self.live.add(http_429=int(response.status == 429))
        raise error_for_response(response.status, response.body, response.headers, what=label)

    def once(self, method: str, endpoint: str, payload: Any = None) -> ApiResponse:
        """One request through the limiter and never retried (a connection test answers in seconds); a
        non-2xx answer is a typed error."""
        return self._attempt(method, endpoint, payload, BatchOutcome(), False, f"{method} {endpoint}")

    def retried(self, stats: BatchOutcome) -> None:
        """Count one retry in ``stats`` and, at once, in the progress lines."""
        stats.retries += 1
        self.live.add(retries=1)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Jittered exponential delay for retry number ``attempt`` (1-based), at least ``retry_after``."""
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
        return max(delay, retry_after or 0.0)

    def call(
        self,
        method: str,
        endpoint: str,
        payload: Any,
        stats: BatchOutcome,
        *,
        write: bool = False,
        idempotent: bool = True,
        label: str | None = None,
    ) -> ApiResponse:
        """One logical request with retries: burst 429s through the limiter, transient errors with backoff.

        A non-idempotent request (a create) is not resent after an uncertain failure (5xx, no answer):
        the error goes to the caller, which knows how to check what was written. ``label`` names the
        request in errors and logs (default ``<method> <endpoint>``; a path holding a secret needs one).
        """
        label = label or f"{method} {endpoint}"
        transient = 0
        limited = 0
        started = time.monotonic()
        while True:
            try:
                return self._attempt(method, endpoint, payload, stats, write, label)
            except HubSpotRateLimited as exc:
                limited += 1
                if limited > self.max_rate_limited:
                    raise
                self.limiter.throttled(exc.retry_after)
                self.retried(stats)
                log.info("HubSpot rate limit (%s); retrying %s", exc.policy, label)
            except HubSpotServerError as exc:
                if exc.write_uncertain and not idempotent:
                    raise
                transient += 1
                if transient >= self.max_attempts:
                    raise HubSpotUnavailable(
                        f"{exc.message} (gave up after {transient} attempts over "
                        f"{time.monotonic() - started:.0f} s)",
                        status=exc.status,
                    ) from exc
                floor = 2.0 if exc.status == 423 else exc.retry_after  # HubSpot: locks last 2 seconds
                delay = self.backoff(transient, floor)
                self.retried(stats)
                log.warning("%s; retry %d/%d in %.1f s", exc.message, transient, self.max_attempts - 1, delay)
                self.sleep(delay)

    # -- reads -------------------------------------------------------------------------------------
    def read_chunk(
        self,
        object_type: str,
        keys: Sequence[str],
        id_property: str | None,
        properties: Sequence[str],
        stats: BatchOutcome,
    ) -> dict[str, dict]:
        """One batch/read of at most 100 keys by ``id_property`` (or by record id when None)."""
        wanted = list(dict.fromkeys([*properties, *([id_property] if id_property else [])]))
        payload: dict[str, Any] = {"inputs": [{"id": k} for k in keys], "properties": wanted}
        if id_property:
            payload["idProperty"] = id_property
        response = self.call("POST", self.paths.batch(object_type, "read"), payload, stats)
        return fold_read(response.body, keys, id_property)

    def read(
        self,
        object_type: str,
        keys: Iterable[str],
        *,
        id_property: str | None = None,
        properties: Sequence[str] = (),
        stats: BatchOutcome | None = None,
    ) -> dict[str, dict]:
        """``{key: {"id", "properties"}}`` for every key found; missing keys are absent."""
        unique = list(dict.fromkeys(str(k) for k in keys))
        chunks = list(chunked(unique, MAX_BATCH))
        stats = stats if stats is not None else BatchOutcome()
        found: dict[str, dict] = {}

        def job(chunk: list[str]) -> tuple[dict[str, dict], BatchOutcome]:
            part = BatchOutcome()
            result = self.read_chunk(object_type, chunk, id_property, properties, part)
            part.ids = {key: value["id"] for key, value in result.items()}
            return result, part

        def done(result: dict[str, dict], part: BatchOutcome) -> None:
            found.update(result)
            stats.add(part)

        self._run_all(chunks, job, done, f"{object_type} read", stats)
        return found

    # -- writes ------------------------------------------------------------------------------------
    def write(
        self,
        spec: WriteSpec,
        records: Iterable[WriteRecord],
        *,
        skip_keys: Container[str] = frozenset(),
        on_batch_done: Callable[[dict[str, str]], None] | None = None,
        keep_ids: bool = True,
        limit: int | None = None,
    ) -> BatchOutcome:
        """Write every record; return ids of all that landed plus rejections (see the module docstring).

        ``records`` are read as they are sent, never all at once: at most ``max_in_flight`` batches are
        planned and not yet finished. ``on_batch_done`` gets each finished batch's ids; with ``keep_ids``
        False the outcome keeps none of them (a write of any size then holds no id map). Past ``limit``
        sendable records the rest are not sent (``not_attempted``). A fatal error (daily limit, auth) is
        raised after every thread stopped, carrying what landed as its ``partial_outcome``.
        """
        outcome = BatchOutcome()
        batches = iter_batches(spec, records, outcome, skip_keys=skip_keys, limit=limit)
        writer = BatchWriter(self, spec)

        def job(batch: list[PlannedInput]) -> tuple[None, BatchOutcome]:
            part = BatchOutcome()
            try:
                writer.write(batch, part)
            except Stopped:  # another batch failed: keep what this one did before it stopped
                pass
            except HubSpotError as exc:
                exc.partial_outcome = part
                raise
            return None, part

        def done(_: None, part: BatchOutcome) -> None:
            outcome.add(part, keep_ids=keep_ids)
            if on_batch_done is not None and part.ids:
                on_batch_done(part.ids)

        try:
            self._run_all(batches, job, done, f"{spec.object_type} {spec.action}", outcome)
        except HubSpotError as exc:
            exc.partial_outcome = outcome
            raise
        return outcome

    # -- concurrency and progress ------------------------------------------------------------------
    @property
    def max_in_flight(self) -> int:
        """Batches planned and not yet finished, at most: enough to keep every worker busy."""
        return IN_FLIGHT_PER_WORKER * self.max_workers

    def _run_all(
        self, items: Iterable[Any], job: Job, on_done: OnDone, label: str, totals: BatchOutcome
    ) -> None:
        """Run ``job`` over ``items`` on the thread pool (see ``ConcurrentRun.run``), with fresh live counts
        for this call's progress lines."""
        self.live = LiveCounts()
        progress = Progress(label, totals, self.progress_every_s, self.live)
        run = ConcurrentRun(
            self._stop, progress, max_workers=self.max_workers, max_in_flight=self.max_in_flight
        )
        run.run(items, job, on_done)
