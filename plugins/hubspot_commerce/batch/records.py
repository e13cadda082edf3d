"""Plain values that go into and come out of the batch engine."""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import IO, Any

from hubspot_commerce.batch.quota import QuotaPlan

ACTIONS = ("create", "upsert", "update")


@dataclass(frozen=True)
class WriteSpec:
    """What one batch write does: the object type, the action and the properties that identify records.

    ``id_property``: upsert (required) or update: the unique property whose value is each record's ``id``
    (an update without it takes HubSpot record ids). ``key_property``: create: the unique custom property
    that stores each record's source key, which makes a resent create safe (exactly-once); update: the
    records HubSpot no longer has are set aside (``BatchOutcome.gone``) to be created anew with it.
    """

    object_type: str
    action: str
    id_property: str | None = None
    key_property: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, got {self.action!r}")
        if self.action == "upsert" and not self.id_property:
            raise ValueError("upsert needs id_property: a unique property whose value is each record's id")

    @property
    def is_create(self) -> bool:
        return self.action == "create"


@dataclass(frozen=True)
class Link:
    """An association to create between two existing records, and the source key it is reported under."""

    key: str
    from_id: str
    to_id: str
    type_id: int


@dataclass(frozen=True)
class Association:
    """A link created together with the record: to an existing HubSpot id, by association type id."""

    to_id: str
    type_id: int
    category: str = "HUBSPOT_DEFINED"


@dataclass(frozen=True)
class WriteRecord:
    """One record to write.

    ``key`` is the source key (unique per call; used to correlate results); ``id`` is the HubSpot id for
    ``update`` or the unique property value for ``upsert``.
    """

    key: str
    properties: Mapping[str, Any]
    associations: tuple[Association, ...] = ()
    id: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WriteRecord:
        """Build a record from the operator's input dict ``{"key", "properties", "associations", "id"}``."""
        if "key" not in data or data["key"] in (None, ""):
            raise ValueError(f"input without a 'key': {dict(data)!r:.200}")
        associations = tuple(
            Association(
                to_id=str(a["to_id"]),
                type_id=int(a["type_id"]),
                category=str(a.get("category", "HUBSPOT_DEFINED")),
            )
            for a in data.get("associations") or ()
        )
        record_id = data.get("id")
        return cls(
            key=str(data["key"]),
            properties=dict(data.get("properties") or {}),
            associations=associations,
            id=None if record_id is None else str(record_id),
        )


@dataclass(frozen=True)
class Rejection:
    """A record HubSpot (or the planner) refused, with HubSpot's category/code and message."""

    key: str
    category: str
    code: str
    message: str


class RecordSpool:
    """Records set aside during a write for a second one: the updates HubSpot no longer had (created anew),
    the creates it already held (their values written by an update). Few as a rule, but a lost sync state
    makes every create one, so past ``in_memory`` records they wait in a temporary file, not in memory."""

    def __init__(self, in_memory: int = 1_000) -> None:
        self.in_memory = in_memory
        self._recent: list[WriteRecord] = []
        self._file: IO[bytes] | None = None
        self._spilled = 0

    def __len__(self) -> int:
        return self._spilled + len(self._recent)

    def __bool__(self) -> bool:
        return len(self) > 0

    def extend(self, records: Iterable[WriteRecord]) -> None:
        """Set ``records`` aside, after those already here."""
        self._recent.extend(records)
        if len(self._recent) > self.in_memory:
            if self._file is None:
                self._file = tempfile.TemporaryFile()  # noqa: SIM115 - open as long as the spool lives
            self._file.seek(0, os.SEEK_END)
            for record in self._recent:
                pickle.dump(record, self._file)  # a file of this process only: never shared, never kept
            self._spilled += len(self._recent)
            self._recent = []

    def __iter__(self) -> Iterator[WriteRecord]:
        """Every record set aside, in order (the spool stays as it is)."""
        offset = 0
        for _ in range(self._spilled):
            assert self._file is not None
            self._file.seek(offset)
            record = pickle.load(self._file)
            offset = self._file.tell()
            yield record
        yield from list(self._recent)


@dataclass
class BatchOutcome:
    """What one ``batch_write`` did: ids of every record that landed, counts and rejections.

    ``in_doubt``: keys of creates whose answer was lost and that could not be confirmed (HubSpot stayed
    unreachable, or there is no key property to look them up by); never counted as rejected.
    ``not_attempted``: keys left unsent because the day's quota did not cover them (``quota`` is the plan).
    ``skipped``: records not sent because their key was among the ``skip_keys`` (done by an earlier try).
    ``existing_records``: creates HubSpot already held a record for (counted in ``existing``), each with the
    id of that record. ``gone``: updates (with a key property) of records HubSpot no longer has.
    """

    ids: dict[str, str] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    existing: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    in_doubt: list[str] = field(default_factory=list)
    requests: int = 0
    write_requests: int = 0
    retries: int = 0
    http_429: int = 0
    not_attempted: list[str] = field(default_factory=list)
    quota: QuotaPlan | None = None
    skipped: int = 0
    existing_records: RecordSpool = field(default_factory=RecordSpool)
    gone: RecordSpool = field(default_factory=RecordSpool)

    @property
    def existing_keys(self) -> list[str]:
        """Keys of the creates HubSpot already held a record for."""
        return [record.key for record in self.existing_records]

    def found_existing(self, record: WriteRecord, hubspot_id: str) -> None:
        """A create's key HubSpot already held: take the record's id, count it as existing."""
        self.ids[record.key] = hubspot_id
        self.existing += 1
        self.existing_records.extend([replace(record, id=hubspot_id)])

    def add(self, part: BatchOutcome, keep_ids: bool = True) -> None:
        """Add ``part``'s counts, rejections, keys in doubt or not attempted and records set aside to this
        outcome; its ids too unless ``keep_ids`` is False (they went elsewhere)."""
        if keep_ids:
            self.ids.update(part.ids)
        self.rejected.extend(part.rejected)
        self.in_doubt.extend(part.in_doubt)
        self.not_attempted.extend(part.not_attempted)
        self.existing_records.extend(part.existing_records)
        self.gone.extend(part.gone)
        names = (
            "created",
            "updated",
            "existing",
            "requests",
            "write_requests",
            "retries",
            "http_429",
            "skipped",
        )
        for name in names:
            setattr(self, name, getattr(self, name) + getattr(part, name))
