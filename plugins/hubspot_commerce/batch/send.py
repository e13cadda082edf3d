"""Sending: run batches concurrently, retry by error kind, isolate bad inputs, make creates exactly-once.

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
  set aside in the outcome's ``gone``, for the hook to create anew; a create that found its key is set
  aside in ``existing_records``, for the hook to write its values by an update.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from hubspot_commerce.batch.rate_limit import RateLimiter
from hubspot_commerce.batch.records import BatchOutcome, Rejection, WriteRecord, WriteSpec
from hubspot_commerce.batch.requests import MAX_BATCH, PlannedInput, chunked, iter_batches
from hubspot_commerce.batch.results import fold_read, fold_write, is_unique_clash, rejection
from hubspot_commerce.errors import (
    HubSpotError,
    HubSpotRateLimited,
    HubSpotServerError,
    HubSpotUnavailable,
    HubSpotValidationError,
    error_for_response,
)

log = logging.getLogger(__name__)
# Requests in flight per task. With HubSpot's ~400 ms batch latency, 32 threads can fill a 190-request
# window in about 2.5 s; the rate limiter, not the thread count, keeps the task under the limit.
DEFAULT_MAX_WORKERS = 32
IN_FLIGHT_PER_WORKER = 2  # batches planned ahead per worker: each has its next batch ready, memory stays flat
CLOCK_SKEW = timedelta(minutes=1)  # tolerated difference between our clock and HubSpot's createdAt
# Whole-batch refusals no input caused (a non-unique id property, an unknown object type; also any 404, as
# HubSpot reports a batch's bad inputs with 400 or 207): every batch would fail alike, so the call fails at
# once instead of splitting each batch into 2n - 1 requests.
_NOT_ABOUT_INPUTS = ("non-unique", "Unable to infer object type")
T = TypeVar("T")


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


def split_refused(
    items: Sequence[T],
    exc: HubSpotValidationError,
    *,
    send_part: Callable[[list[T]], object],
    reject: Callable[[T], object],
) -> None:
    """HubSpot refused a whole request for ``items`` (400): send each half again through ``send_part``,
    which splits again on refusal, until the bad items stand alone and are passed to ``reject``; every other
    item lands. A refusal no item caused (404, an unknown object type, a non-unique id property) would
    refuse every part alike, so it is raised at once."""
    if exc.status == 404 or any(text in exc.message for text in _NOT_ABOUT_INPUTS):
        raise exc
    if len(items) == 1:
        reject(items[0])
        return
    log.info("HubSpot refused %d inputs at once (%s); splitting to isolate the bad ones", len(items), exc)
    middle = len(items) // 2
    for half in (list(items[:middle]), list(items[middle:])):
        send_part(half)


def exc_body(exc: HubSpotError) -> Mapping[str, Any]:
    """The error body HubSpot sent, or one holding the message when there was none."""
    return exc.body or {"message": exc.message}


class _Stopped(Exception):
    """Another thread hit a fatal error; this one gives up its batch quietly."""


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
        self.live = _LiveCounts()
        self._stop = threading.Event()

    # -- one request -------------------------------------------------------------------------------
    def _attempt(
        self, method: str, endpoint: str, payload: Any, stats: BatchOutcome, write: bool, label: str
    ) -> ApiResponse:
        """Send once, through the limiter; translate a non-2xx answer into a typed error named ``label``."""
        sent_at = self.limiter.acquire(self._stop)
        if sent_at is None:
            raise _Stopped
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
    def _read_chunk(
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
            result = self._read_chunk(object_type, chunk, id_property, properties, part)
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
        writer = _BatchWriter(self, spec)

        def job(batch: list[PlannedInput]) -> tuple[None, BatchOutcome]:
            part = BatchOutcome()
            try:
                writer.write(batch, part)
            except _Stopped:  # another batch failed: keep what this one did before it stopped
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
        self,
        items: Iterable[Any],
        job: Callable[[Any], tuple[Any, BatchOutcome]],
        on_done: Callable[[Any, BatchOutcome], None],
        label: str,
        totals: BatchOutcome,
    ) -> None:
        """Run ``job`` over ``items`` on the thread pool; call ``on_done`` in this thread with each result
        as it finishes; log progress.

        ``items`` may be lazy: it is read as jobs finish, never more than ``max_in_flight`` ahead of them.

        The first fatal error (of a job, or of reading ``items``) stops every thread (they finish their
        current request) and is re-raised after all threads have stopped, so what already landed is
        accounted for.
        """
        self._stop.clear()
        self.live = _LiveCounts()
        progress = _Progress(label, totals, self.progress_every_s, self.live)
        source, reading = iter(items), True
        fatal: BaseException | None = None
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            pending: set[Future] = set()
            try:
                while True:
                    try:
                        reading = reading and self._fill(source, pool, pending, job, progress)
                    except BaseException as exc:  # reading the items failed: stop, keep what is in flight
                        fatal, reading = fatal or exc, False
                        self._stop.set()
                    if not pending:
                        break
                    completed, pending = wait(
                        pending, timeout=self.progress_every_s, return_when=FIRST_COMPLETED
                    )
                    for future in completed:
                        fatal = self._finished(future, on_done, progress, fatal)
                    progress.log(final=not pending)
            finally:  # also when the caller stops early: let no thread start another request
                self._stop.set()
                for future in pending:
                    future.cancel()
        self._stop.clear()  # every thread has finished: later calls on this hook may send again
        if fatal is not None:
            raise fatal

    def _fill(
        self,
        source: Iterator[Any],
        pool: ThreadPoolExecutor,
        pending: set[Future],
        job: Callable[[Any], tuple[Any, BatchOutcome]],
        progress: _Progress,
    ) -> bool:
        """Start jobs on the next items of ``source`` until ``max_in_flight`` are pending (none once the call
        is stopping); False when ``source`` has ended."""
        while len(pending) < self.max_in_flight and not self._stop.is_set():
            try:
                item = next(source)
            except StopIteration:
                progress.planned()
                return False
            pending.add(pool.submit(self._stopping_on_failure, job, item))
            progress.submitted += 1
        return True

    def _finished(
        self,
        future: Future,
        on_done: Callable[[Any, BatchOutcome], None],
        progress: _Progress,
        fatal: BaseException | None,
    ) -> BaseException | None:
        """Hand a finished job's result to ``on_done``; the first failure stops every thread, and what its
        batch landed before it failed is handed on too. Returns the call's fatal error so far."""
        try:
            result, part = future.result()
        except _Stopped:
            return fatal
        except BaseException as exc:
            if fatal is None:
                fatal = exc
                self._stop.set()
            if isinstance(exc, HubSpotError) and exc.partial_outcome is not None:
                on_done(None, exc.partial_outcome)  # what landed before it failed
            return fatal
        on_done(result, part)
        progress.finished(part)
        return fatal

    def _stopping_on_failure(self, job: Callable[[Any], tuple[Any, BatchOutcome]], item: Any) -> Any:
        """Run one job; if it fails, stop every thread at once, from this thread, so that none starts
        another request before the calling thread has seen the failure."""
        try:
            return job(item)
        except _Stopped:
            raise
        except BaseException:
            self._stop.set()
            raise


class _LiveCounts:
    """Retries and HTTP 429 answers as they happen, from every thread (a batch's own outcome reaches the
    totals only when the batch ends, too late for the progress lines)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.retries = 0
        self.http_429 = 0

    def add(self, retries: int = 0, http_429: int = 0) -> None:
        with self._lock:
            self.retries += retries
            self.http_429 += http_429


class _Progress:
    """Counts batches and logs a progress line every ``every_s`` seconds and at the end; retries and 429s
    as they happen (``live``). How many batches there are is known once the last one is planned."""

    def __init__(self, label: str, totals: BatchOutcome, every_s: float, live: _LiveCounts) -> None:
        self.label = label
        self.totals = totals
        self.live = live
        self.every_s = every_s
        self.started = self.last_log = time.monotonic()
        self.submitted = self.batches = self.records = 0
        self.total: int | None = None

    def planned(self) -> None:
        self.total = self.submitted
        log.info("%s: %d batches planned", self.label, self.total)

    def finished(self, part: BatchOutcome) -> None:
        self.batches += 1
        self.records += len(part.ids) + len(part.rejected)

    def log(self, final: bool) -> None:
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


class _BatchWriter:
    """Writes one batch to the end: results, rejections, reconciliation and splitting."""

    def __init__(self, engine: BatchEngine, spec: WriteSpec) -> None:
        self.engine = engine
        self.spec = spec
        self.endpoint = engine.paths.batch(spec.object_type, spec.action)
        # an update with a key property: what HubSpot no longer has is created anew (by the hook)
        self.recreates = spec.action == "update" and spec.key_property is not None

    def _read_keys(self, keys: Sequence[str], out: BatchOutcome) -> dict[str, dict]:
        """The records holding these keys in the key property (one batch/read): ``{key: {"id", ...}}``."""
        assert self.spec.key_property is not None
        return self.engine._read_chunk(self.spec.object_type, keys, self.spec.key_property, (), out)

    @staticmethod
    def _take_found(
        pending: Sequence[PlannedInput],
        found: Mapping[str, Mapping[str, Any]],
        since: datetime,
        out: BatchOutcome,
    ) -> None:
        """Record the ids of the ``pending`` creates read back (``found``) after an uncertain or unanswered
        create: created by us if HubSpot's ``createdAt`` is not older than our request (a minute of clock
        skew allowed), else existing."""
        for planned in pending:
            if planned.key not in found:
                continue
            record = found[planned.key]
            try:
                created_at = datetime.fromisoformat(str(record.get("createdAt")))
            except ValueError:
                created_at = since
            if created_at >= since - CLOCK_SKEW:
                out.ids[planned.key] = record["id"]
                out.created += 1
            else:
                out.found_existing(planned.record, record["id"])

    def _refuse(self, planned: PlannedInput, error: Mapping[str, Any], out: BatchOutcome) -> None:
        """HubSpot refused one input: rejected with its reason, unless HubSpot no longer has the record an
        update (with a key property) is for: that record is set aside to be created anew."""
        refused = rejection(planned.key, error)
        if self.recreates and refused.category == "OBJECT_NOT_FOUND":
            out.gone.extend([planned.record])
        else:
            out.rejected.append(refused)

    def write(self, batch: list[PlannedInput], out: BatchOutcome) -> None:
        """Send ``batch`` until every input has landed or is rejected with a reason; creates whose fate
        stays unknown (HubSpot unreachable, or no key property to look them up by) stay in ``in_doubt``."""
        try:
            self._rounds(batch, out)
        finally:
            settled = set(out.ids) | {rejected.key for rejected in out.rejected}
            out.in_doubt = [key for key in dict.fromkeys(out.in_doubt) if key not in settled]

    def _rounds(self, batch: list[PlannedInput], out: BatchOutcome) -> None:
        """Up to ``max_attempts`` write requests. Running out because HubSpot kept failing is an outage
        (``HubSpotUnavailable``); running out because HubSpot answered but never mentioned an input
        rejects that input as not confirmed."""
        pending = batch
        failure: HubSpotServerError | None = None
        for round_no in range(1, self.engine.max_attempts + 1):
            pending, failure = self._round(pending, round_no, out)
            if not pending:
                return
        if failure is not None:
            raise HubSpotUnavailable(
                f"{failure.message}; {len(pending)} {self.spec.object_type} creates are unconfirmed after "
                f"{self.engine.max_attempts} attempts: the next try reads their keys before resending",
                status=failure.status,
            ) from failure
        out.rejected.extend(
            Rejection(
                p.key,
                "UNRESOLVED",
                "NOT_CONFIRMED",
                f"HubSpot answered {self.engine.max_attempts} times without a result or an error for it",
            )
            for p in pending
        )

    def _round(
        self, pending: list[PlannedInput], round_no: int, out: BatchOutcome
    ) -> tuple[list[PlannedInput], HubSpotServerError | None]:
        """One write request for ``pending``; returns the inputs that must be sent again, and the failure
        that left them unconfirmed (None when HubSpot answered)."""
        is_create = self.spec.is_create
        key_property = self.spec.key_property
        payload = {"inputs": [p.body for p in pending]}
        sent_at = datetime.now(UTC)
        try:
            response = self.engine.call(
                "POST", self.endpoint, payload, out, write=True, idempotent=not is_create
            )
        except HubSpotUnavailable:
            raise
        except HubSpotServerError as exc:  # only an uncertain create gets here
            return self._after_uncertain_create(pending, exc, round_no, sent_at, out), exc
        except HubSpotValidationError as exc:
            return self._after_whole_batch_refusal(pending, exc, out), None

        folded = fold_write(pending, response.body, self.spec)
        for key, landed in folded.landed.items():
            out.ids[key] = landed.hubspot_id
            if landed.created:
                out.created += 1
            else:
                out.updated += 1
        by_key = {p.key: p for p in pending}
        clashes: list[PlannedInput] = []
        for key, error in folded.refused.items():
            if is_create and key_property and is_unique_clash(error, key_property):
                clashes.append(by_key[key])
            else:
                self._refuse(by_key[key], error, out)
        resend = [by_key[k] for k in folded.unmentioned]
        if is_create and not key_property:  # unmentioned: it may exist; a resend could duplicate it
            out.in_doubt.extend(p.key for p in resend)
            return [], None
        if is_create and (clashes or resend):
            resend = self._take_existing(clashes, resend, sent_at, out)
        return resend, None

    def _take_existing(
        self, clashes: list[PlannedInput], unknown: list[PlannedInput], sent_at: datetime, out: BatchOutcome
    ) -> list[PlannedInput]:
        """Read keys HubSpot refused as duplicates (-> existing) or did not mention; return what to resend."""
        found = self._read_keys([p.key for p in (*clashes, *unknown)], out)
        for planned in clashes:
            if planned.key in found:
                out.found_existing(planned.record, found[planned.key]["id"])
            else:
                out.rejected.append(
                    Rejection(
                        planned.key,
                        "VALIDATION_ERROR",
                        "UNIQUE_VALUE_CONFLICT",
                        f"HubSpot reported {self.spec.key_property}={planned.key!r} as taken, but no record "
                        "holds it",
                    )
                )
        self._take_found(unknown, found, sent_at, out)
        return [p for p in unknown if p.key not in found]

    def _after_uncertain_create(
        self,
        pending: list[PlannedInput],
        exc: HubSpotServerError,
        round_no: int,
        sent_at: datetime,
        out: BatchOutcome,
    ) -> list[PlannedInput]:
        """A create may have been written: read its keys back, keep what exists, resend only the rest. Until
        then its keys are in doubt (HubSpot may stay unreachable for the read too); without a key property
        they stay in doubt and are not resent, since a resend could duplicate them."""
        self.engine.retried(out)
        out.in_doubt.extend(p.key for p in pending)
        if self.spec.key_property is None:
            return []
        delay = self.engine.backoff(round_no, exc.retry_after)
        log.warning("%s; reading back %d keys in %.1f s before resending", exc.message, len(pending), delay)
        self.engine.sleep(delay)
        found = self._read_keys([p.key for p in pending], out)
        self._take_found(pending, found, sent_at, out)
        return [p for p in pending if p.key not in found]

    def _after_whole_batch_refusal(
        self, pending: list[PlannedInput], exc: HubSpotValidationError, out: BatchOutcome
    ) -> list[PlannedInput]:
        """HubSpot refused the whole request: existing keys are looked up; otherwise split to isolate."""
        key_property = self.spec.key_property
        if self.spec.is_create and key_property and is_unique_clash(exc.body, key_property):
            found = self._read_keys([p.key for p in pending], out)
            if found:  # a refused request wrote nothing: every key found existed before
                for planned in pending:
                    if planned.key in found:
                        out.found_existing(planned.record, found[planned.key]["id"])
                return [p for p in pending if p.key not in found]
        split_refused(
            pending,
            exc,
            send_part=lambda half: self.write(half, out),
            reject=lambda alone: self._refuse(alone, exc_body(exc), out),
        )
        return []
