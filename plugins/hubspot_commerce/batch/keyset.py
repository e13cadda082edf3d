"""KeySet: the keys a write has seen (or finished), in 16 bytes each, whatever their length.

A write of millions of records must still refuse a key it saw before and skip the keys an earlier try
finished, without keeping the keys themselves (a Python set of short strings costs about 90 bytes a key).
Each key is kept as its 128-bit BLAKE2b digest in sorted numpy runs, merged as they grow (a log-structured
merge), and keys are looked up many at a time. Two different keys are taken for one only when their digests
collide: for ten million keys, odds of about one in 10^24.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Iterable, Sequence

import numpy as np

DIGEST_BYTES = 16
MAX_RUN = 1_000_000  # keys a merge makes one run of at most (16 MB): a merge briefly holds its keys twice
_DIGEST = np.dtype(f"S{DIGEST_BYTES}")


def _digests(keys: Sequence[str]) -> np.ndarray:
    raw = b"".join(hashlib.blake2b(key.encode(), digest_size=DIGEST_BYTES).digest() for key in keys)
    return np.frombuffer(raw, dtype=_DIGEST)


class KeySet:
    """A set of strings, 16 bytes a key; look keys up many at a time (:meth:`contains_each`)."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._runs: list[np.ndarray] = []  # sorted, disjoint; each at most half the size of the one before
        self._size = 0
        self.update(keys)

    def __len__(self) -> int:
        return self._size

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.contains_each([key])[0]

    def contains_each(self, keys: Sequence[str]) -> list[bool]:
        """Whether each of ``keys`` is in the set."""
        if not self._size:
            return [False] * len(keys)
        return self._found(_digests(keys)).tolist()

    def update(self, keys: Iterable[str]) -> None:
        """Add ``keys``, 10,000 at a time."""
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == 10_000:
                self.new_among(batch)
                batch = []
        self.new_among(batch)

    def new_among(self, keys: Sequence[str]) -> list[bool]:
        """Add ``keys``; return, for each in order, whether it is new: neither in the set before nor earlier
        in ``keys``."""
        if not keys:
            return []
        digests = _digests(keys)
        found = self._found(digests)
        unique, first = np.unique(digests, return_index=True)  # sorted; where each first appears
        new = ~found
        repeated = np.ones(len(keys), dtype=bool)
        repeated[first] = False
        new &= ~repeated
        self._push(unique[~found[first]])
        return new.tolist()

    def _found(self, digests: np.ndarray) -> np.ndarray:
        found = np.zeros(len(digests), dtype=bool)
        for run in self._runs:
            at = np.minimum(np.searchsorted(run, digests), len(run) - 1)
            found |= run[at] == digests
        return found

    def _push(self, run: np.ndarray) -> None:
        """Add a sorted run of digests not in the set; merge runs so that each is at most half the size of
        the one before, up to ``MAX_RUN`` keys (a run per million keys, plus a few dozen smaller ones; each
        merge amortised over the keys it moves)."""
        if not len(run):
            return
        self._runs.append(run)
        self._size += len(run)
        while len(self._runs) > 1 and self._mergeable(len(self._runs[-2]), len(self._runs[-1])):
            newer, older = self._runs.pop(), self._runs.pop()
            merged = np.concatenate((older, newer))
            merged.sort()
            self._runs.append(merged)

    @staticmethod
    def _mergeable(older: int, newer: int) -> bool:
        return older <= 2 * newer and older + newer <= MAX_RUN


def members(container: Container[str], keys: Sequence[str]) -> list[bool]:
    """Whether each of ``keys`` is in ``container``: a KeySet answers them together, anything else one by
    one."""
    if isinstance(container, KeySet):
        return container.contains_each(keys)
    return [key in container for key in keys]
