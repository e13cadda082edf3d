"""Resuming a write task across its retries and deferrals, in a size that does not grow with the write.

The ids of every finished batch go to JSON-lines part files beside the task's other outputs as batches land
(``LandedIds``); Airflow 3.3's ``task_state_store`` holds only how many parts are complete, the creates a
try left in doubt (read back before anything is resent), so a retried task is exactly-once even when HubSpot
went down mid-call, and until when the task waited for HubSpot's daily quota (for its report).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow.sdk import ObjectStoragePath

from hubspot_commerce.batch.keyset import KeySet
from hubspot_commerce.storage import iter_jsonl

CHUNK = 1000  # keys in doubt per task_state_store value: well under its 64 KB soft limit
PART_IDS = 5_000  # ids per part file: a part (one file, one store value) per 50 requests
PARTS_KEY = "ids.parts"


class LandedIds:
    """The ``{key: id}`` of every record a write task landed, its earlier tries' included: JSON lines
    ``{"key", "id"}`` in part files of ``PART_IDS`` ids under ``directory``, written as batches land, each
    counted in the task state store once written. A retry, or the task resumed after waiting for the quota,
    reads them to know what not to resend. Holds one part's ids, whatever the size of the write. A create
    that found its record is there twice, with the same id (its create, then the update of its values).
    """

    def __init__(self, directory: ObjectStoragePath, store: Any) -> None:
        self.directory = directory
        self.store = store
        self.parts = 0
        self.count = 0  # ids written and buffered (a key written twice, counted twice)
        self.buffer: dict[str, str] = {}

    def load(self) -> KeySet:
        """The keys earlier tries of this task instance landed, from their parts (16 bytes a key)."""
        self.parts = int(self.store.get(PARTS_KEY, 0) or 0) if self.store is not None else 0
        self.count = 0
        keys = KeySet()
        for part in range(self.parts):
            landed = [str(row["key"]) for row in iter_jsonl(self._part(part))]
            keys.update(landed)
            self.count += len(landed)
        return keys

    def add(self, ids: Mapping[str, str]) -> None:
        """Take a finished batch's ids; write them out every ``PART_IDS`` ids."""
        self.buffer.update(ids)
        self.count += len(ids)
        if len(self.buffer) >= PART_IDS:
            self.flush()

    def flush(self) -> None:
        """Write the ids not written yet as one more part, then count it in the task state store."""
        if not self.buffer:
            return
        lines = "".join(json.dumps({"key": k, "id": v}) + "\n" for k, v in self.buffer.items())
        _write_text(self._part(self.parts), lines)
        self.parts += 1
        if self.store is not None:
            self.store.set(PARTS_KEY, self.parts)
        self.buffer = {}

    def items(self) -> Iterator[tuple[str, str]]:
        """Every ``(key, id)`` taken so far, part by part."""
        for n in range(self.parts):
            for row in iter_jsonl(self._part(n)):
                yield str(row["key"]), str(row["id"])
        yield from list(self.buffer.items())

    def copy_to(self, path: ObjectStoragePath) -> ObjectStoragePath:
        """Write every ``{"key", "id"}`` taken so far to ``path`` as JSON lines, a part at a time."""
        self.flush()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for n in range(self.parts):
                out.write(self._part(n).read_text(encoding="utf-8"))
        return path

    def _part(self, n: int) -> ObjectStoragePath:
        return self.directory / f"part-{n:05d}.jsonl"


def _write_text(path: ObjectStoragePath, text: str) -> None:
    """``text`` as the file at ``path``, in one write (each write to object storage is tracked for lineage,
    at a cost per call)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(text)


class Checkpoint:
    """What earlier tries of this task instance left in doubt, and its waits for the daily quota."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def in_doubt(self) -> list[str]:
        """Keys of creates the last try sent without learning whether they landed."""
        if self.store is None:
            return []
        count = int(self.store.get("in_doubt.chunks", 0) or 0)
        return [key for n in range(count) for key in self.store.get(f"in_doubt.{n}", []) or []]

    def keep_in_doubt(self, keys: Sequence[str]) -> None:
        """Replace the keys in doubt with ``keys`` (what the try that is stopping could not confirm)."""
        if self.store is None:
            return
        chunks = [list(keys[start : start + CHUNK]) for start in range(0, len(keys), CHUNK)]
        for n, chunk in enumerate(chunks):
            self.store.set(f"in_doubt.{n}", chunk)
        self.store.set("in_doubt.chunks", len(chunks))

    def deferrals(self) -> list[str]:
        """When each wait of this task for HubSpot's daily reset ended (ISO 8601), oldest first."""
        if self.store is None:
            return []
        return list(self.store.get("quota.deferred_until", []) or [])

    def note_deferral(self, until: str) -> None:
        """Remember a wait for HubSpot's daily reset, until ``until`` (ISO 8601)."""
        if self.store is not None:
            self.store.set("quota.deferred_until", [*self.deferrals(), until])
