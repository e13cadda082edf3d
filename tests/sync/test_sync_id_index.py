"""The compact id map: lookups by source key agree with a dict, in little memory."""

from __future__ import annotations

import pandas as pd

from hubspot_commerce.sync.id_index import IdIndex


def test_lookups_agree_with_a_dict_and_unknown_or_missing_keys_are_na() -> None:
    pairs = {f"order:{n}": str(30_000_000_001 + n) for n in range(250_001)}
    index = IdIndex.from_pairs(pairs.items())
    keys = pd.Series(["order:0", "order:250000", "order:17", "nope", None, "order:250001"], dtype="string")
    assert index.lookup(keys).tolist() == ["30000000001", "30000250001", "30000000018", pd.NA, pd.NA, pd.NA]
    assert len(index) == 250_001 and index.hashes.nbytes + index.ids.nbytes == 250_001 * 16


def test_a_key_given_twice_keeps_its_last_id_and_an_empty_index_finds_nothing() -> None:
    index = IdIndex.from_pairs([("a", "1"), ("b", "2"), ("a", "3")])
    assert index.lookup(pd.Series(["a", "b"], index=[7, 9])).to_dict() == {7: "3", 9: "2"}
    assert index.id_set() == {"2", "3"}
    empty = IdIndex.from_pairs([])
    assert empty.lookup(pd.Series(["a"])).isna().all() and len(empty) == 0
