"""Resuming a write task across its retries and deferrals, in Airflow 3.3's ``task_state_store``: the ids of
every batch an earlier try finished (not resent), the creates it left in doubt (read back before anything is
resent), so a retried task is exactly-once even when HubSpot went down mid-call; and until when the task
waited for HubSpot's daily quota (for its report)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CHUNK = 1000  # ids or keys per task_state_store value: well under its 64 KB soft limit


class Checkpoint:
    """What earlier tries of this task instance wrote, kept in chunks of ``CHUNK`` entries."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.buffer: dict[str, str] = {}
        self.chunks = 0

    def load(self) -> dict[str, str]:
        """The ``{key: id}`` of every batch an earlier try of this task finished."""
        if self.store is None:
            return {}
        self.chunks = int(self.store.get("ids.chunks", 0) or 0)
        done: dict[str, str] = {}
        for n in range(self.chunks):
            done.update(self.store.get(f"ids.{n}", {}) or {})
        return done

    def add(self, ids: Mapping[str, str]) -> None:
        """Remember a finished batch's ids; store them every ``CHUNK`` ids."""
        if self.store is None:
            return
        self.buffer.update(ids)
        if len(self.buffer) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Store the ids not stored yet as one more chunk."""
        if self.store is None or not self.buffer:
            return
        self.store.set(f"ids.{self.chunks}", self.buffer)
        self.chunks += 1
        self.store.set("ids.chunks", self.chunks)
        self.buffer = {}

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
