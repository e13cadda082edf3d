"""Planning: check the inputs, give each a trace id, build request bodies, split into batches of 100.

Pure functions; nothing here talks to HubSpot.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from hubspot_commerce.batch.keyset import KeySet, members
from hubspot_commerce.batch.records import BatchOutcome, Rejection, WriteRecord, WriteSpec

MAX_BATCH = 100  # HubSpot's cap on inputs per object batch request; 101 answers 400.
_SAFE_TRACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
T = TypeVar("T")


@dataclass(frozen=True)
class PlannedInput:
    """A record ready to send: its trace id, the JSON input HubSpot expects, and the record itself (kept
    while it is in flight, in case HubSpot's answer calls for a second write of it)."""

    key: str
    trace_id: str
    body: dict[str, Any]
    record: WriteRecord


def trace_id_for(key: str) -> str:
    """The key itself when it is short and plain, else ``h-`` plus a 20-hex-digit hash of it."""
    if _SAFE_TRACE.fullmatch(key) and not key.startswith("h-"):
        return key
    return "h-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def chunked(items: Sequence[Any], size: int = MAX_BATCH) -> Iterator[list[Any]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def association_body(record: WriteRecord) -> list[dict[str, Any]]:
    """HubSpot's ``associations`` list for a create input."""
    return [
        {
            "to": {"id": a.to_id},
            "types": [{"associationCategory": a.category, "associationTypeId": a.type_id}],
        }
        for a in record.associations
    ]


def _reject(key: str, message: str) -> Rejection:
    return Rejection(key=key, category="INVALID_INPUT", code="REJECTED_BEFORE_SEND", message=message)


def _check(record: WriteRecord, spec: WriteSpec) -> str | None:
    """Why this record cannot be sent as it is, or None."""
    if spec.is_create:
        if spec.key_property is not None:
            value = record.properties.get(spec.key_property)
            if value is not None and str(value) != record.key:
                return (
                    f"property {spec.key_property!r} is {value!r} but the record's key is {record.key!r}; "
                    "the key property must hold the source key"
                )
        return None
    if record.id in (None, ""):
        what = f"the value of {spec.id_property!r}" if spec.action == "upsert" else "the HubSpot record id"
        return f"{spec.action} needs 'id' ({what})"
    if spec.action == "upsert" and record.associations:
        return "batch/upsert takes no associations; create the associations separately or use create"
    return None


def json_value(value: Any) -> Any:
    """A property value JSON can carry: strings, numbers, booleans and null as they are; dates as ISO
    8601; anything else (Decimal, numpy numbers) as its string form, which HubSpot parses."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _body(record: WriteRecord, trace_id: str, spec: WriteSpec) -> dict[str, Any]:
    properties = {name: json_value(value) for name, value in record.properties.items()}
    body: dict[str, Any] = {"objectWriteTraceId": trace_id, "properties": properties}
    if spec.is_create:
        if spec.key_property is not None:
            properties[spec.key_property] = record.key
        if record.associations:
            body["associations"] = association_body(record)
    else:
        body["id"] = record.id
        if spec.id_property is not None:
            body["idProperty"] = spec.id_property
    return body


def groups(items: Iterable[T], size: int = MAX_BATCH) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items, read from ``items`` only as each list is asked for."""
    group: list[T] = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def iter_batches(
    spec: WriteSpec,
    records: Iterable[WriteRecord],
    outcome: BatchOutcome,
    *,
    skip_keys: Container[str] = frozenset(),
    limit: int | None = None,
) -> Iterator[list[PlannedInput]]:
    """Check every record, give it a trace id unique in its batch and yield the sendable ones in batches of
    100.

    Lazy, so the first batches can be sent while later records are still being read and planned; it keeps
    the keys (and the ids of updates) it saw as 16-byte digests (``KeySet``), never the records. Refused
    before sending (added to ``outcome.rejected``, each named with the reason): a key seen earlier in this
    call, an ``id`` used twice (HubSpot would refuse the whole batch), a missing ``id`` for upsert/update,
    associations on an upsert, a key property that contradicts the key. ``skip_keys`` are already done (a
    resumed task): skipped silently and counted in ``outcome.skipped``. Past ``limit`` sendable records, the
    keys of the others go to ``outcome.not_attempted``.
    """
    seen = _Seen(spec, skip_keys)
    batch: list[PlannedInput] = []
    hashed: set[str] = set()  # the batch's hashed trace ids (a plain trace id is its key, unique already)
    planned = 0
    for group in groups(records):
        for record in seen.sendable(group, outcome):
            if limit is not None and planned >= limit:
                outcome.not_attempted.append(record.key)
                continue
            planned += 1
            batch.append(_planned(record, spec, hashed))
            if len(batch) == MAX_BATCH:
                yield batch
                batch, hashed = [], set()
    if batch:
        yield batch


class _Seen:
    """What ``iter_batches`` has seen so far: keys, and the ids of updates and upserts."""

    def __init__(self, spec: WriteSpec, skip_keys: Container[str]) -> None:
        self.spec = spec
        self.skip_keys = skip_keys
        self.keys = KeySet()
        self.ids = KeySet()

    def sendable(self, group: list[WriteRecord], outcome: BatchOutcome) -> list[WriteRecord]:
        """The records of ``group`` to send, in order; the others are refused (``outcome.rejected``) or
        skipped (``outcome.skipped``)."""
        keys = [record.key for record in group]
        checked: list[tuple[WriteRecord, str | None]] = []
        news, dones = self.keys.new_among(keys), members(self.skip_keys, keys)
        for record, new, done in zip(group, news, dones, strict=True):
            if not new:
                problem: str | None = "duplicate source key in this call; only the first is written"
                outcome.rejected.append(_reject(record.key, problem))
            elif done:
                outcome.skipped += 1
            else:
                checked.append((record, _check(record, self.spec)))
        by_id = not self.spec.is_create  # an update or upsert: one id twice would refuse the whole batch
        fresh_ids = iter(
            self.ids.new_among([str(r.id) for r, problem in checked if problem is None and by_id])
        )
        sendable = []
        for record, problem in checked:
            if problem is None and by_id and not next(fresh_ids):
                problem = f"id {record.id!r} is also used by an earlier record of this call"
            if problem is None:
                sendable.append(record)
            else:
                outcome.rejected.append(_reject(record.key, problem))
        return sendable


def _planned(record: WriteRecord, spec: WriteSpec, hashed: set[str]) -> PlannedInput:
    """``record`` with its trace id (unique among ``hashed``, its batch's hashed ones so far) and request
    body."""
    trace_id = trace_id_for(record.key)
    if trace_id.startswith("h-"):
        if trace_id in hashed:  # a 20-hex-digit hash collision; practically never
            trace_id = f"h-{len(hashed)}-{trace_id[2:]}"
        hashed.add(trace_id)
    return PlannedInput(record.key, trace_id, _body(record, trace_id, spec), record)
