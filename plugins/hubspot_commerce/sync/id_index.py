"""Source keys to HubSpot ids for millions of records in little memory: the keys' 64-bit hashes, sorted,
beside the ids as 64-bit integers (HubSpot record ids are integers). A dict of a million string keys and ids
takes about 200 MB; this takes 16 MB, and a lookup of a whole column is one vectorised search.

Two different keys share a 64-bit hash with odds of about n² / 2⁶⁵ (one in a million at six million keys);
the index is built from the keys of one stream, where that is the stricter bound we accept.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

import numpy as np
import pandas as pd

BUILD_CHUNK = 100_000  # pairs hashed at a time while building


def key_hashes(keys: pd.Series) -> np.ndarray:
    """64-bit hashes of source keys (pandas' SipHash of the text; a missing key hashes as empty)."""
    return pd.util.hash_array(keys.fillna("").astype(str).to_numpy(dtype=object))


class IdIndex:
    """An immutable ``{source key: HubSpot id}`` map: sorted key hashes and their ids."""

    def __init__(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        self.hashes, self.ids = hashes, ids

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> IdIndex:
        """Build from ``(key, id)`` pairs, read a chunk at a time; a key given twice keeps its last id."""
        hashes: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        pairs = iter(pairs)
        while chunk := list(islice(pairs, BUILD_CHUNK)):
            keys, values = zip(*chunk, strict=True)
            hashes.append(key_hashes(pd.Series(keys, dtype=object)))
            ids.append(np.asarray(values, dtype=np.int64))
        if not hashes:
            return cls(np.empty(0, np.uint64), np.empty(0, np.int64))
        all_hashes, all_ids = np.concatenate(hashes), np.concatenate(ids)
        hashes.clear()
        ids.clear()
        return cls._sorted(all_hashes, all_ids)

    @classmethod
    def _sorted(cls, hashes: np.ndarray, ids: np.ndarray) -> IdIndex:
        """Sort by hash (``hashes`` in place), keeping the last id of a key given twice; building briefly
        takes about twice the index's 16 bytes a record."""
        ids = ids[np.argsort(hashes, kind="stable")]  # equal hashes keep their order: the last id stays last
        hashes.sort()
        last = np.append(hashes[1:] != hashes[:-1], True)  # the last of equal hashes wins
        if last.all():
            return cls(hashes, ids)
        return cls(hashes[last], ids[last])

    def __len__(self) -> int:
        return len(self.hashes)

    def lookup(self, keys: pd.Series) -> pd.Series:
        """The id of each key (string dtype, NA where the key is missing or unknown), on ``keys``' index."""
        result = pd.Series(pd.NA, index=keys.index, dtype="string")
        if not len(self.hashes) or not len(keys):
            return result
        wanted = key_hashes(keys)
        position = np.minimum(np.searchsorted(self.hashes, wanted), len(self.hashes) - 1)
        found = (self.hashes[position] == wanted) & keys.notna().to_numpy()
        result[found] = self.ids[position[found]].astype(str)
        return result

    def id_set(self) -> set[str]:
        """Every id, as text (for membership tests on HubSpot ids)."""
        return {str(value) for value in self.ids}
