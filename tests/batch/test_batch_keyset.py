"""KeySet: keys in 16 bytes each, looked up many at a time; exact for every key a write could hold."""

from __future__ import annotations

from hubspot_commerce.batch.keyset import KeySet, members


def test_new_among_says_which_keys_are_new_in_order_and_adds_them():
    keys = KeySet()
    assert keys.new_among(["a", "b", "a", "c"]) == [True, True, False, True], "a second 'a' in one call"
    assert keys.new_among(["c", "d", "A", "d"]) == [False, True, True, False], (
        "keys differing in case are two"
    )
    assert len(keys) == 5 and keys.contains_each(["a", "A", "x", "d"]) == [True, True, False, True]
    assert "b" in keys and "z" not in keys and 7 not in keys


def test_a_million_keys_take_16_bytes_each_in_a_few_sorted_runs():
    keys = KeySet(f"order:{100_000 + n // 4}:{n % 4 + 1}" for n in range(1_000_000))
    assert len(keys) == 1_000_000
    assert sum(run.nbytes for run in keys._runs) == 16 * 1_000_000, "16 bytes a key, whatever its length"
    assert len(keys._runs) <= 20, "runs merged as they grow"
    assert all((run[:-1] < run[1:]).all() for run in keys._runs), "each run sorted, no key twice"
    probe = [f"order:{100_000 + n // 4}:{n % 4 + 1}" for n in range(0, 1_000_000, 997)]
    assert keys.contains_each(probe) == [True] * len(probe)
    assert keys.contains_each([f"order:{n}:5" for n in range(1_000)]) == [False] * 1_000
    assert keys.new_among([*probe[:3], "order:1:9"]) == [False, False, False, True]


def test_runs_stop_growing_at_max_run_so_a_merge_never_holds_the_whole_set_twice(monkeypatch):
    monkeypatch.setattr("hubspot_commerce.batch.keyset.MAX_RUN", 1_000)
    keys = KeySet()
    for start in range(0, 25_000, 100):  # a write adds a batch's keys at a time
        keys.new_among([f"line:{n}" for n in range(start, start + 100)])
    sizes = [len(run) for run in keys._runs]
    assert max(sizes) <= 1_000 and sum(sizes) == 25_000
    assert len(sizes) <= 25_000 // 500 + 10, "runs of 500 to 1,000 keys, a few smaller ones"
    assert keys.contains_each([f"line:{n}" for n in range(0, 25_000, 7)]) == [True] * 3_572
    assert keys.new_among(["line:24999", "line:25000"]) == [False, True]


def test_members_takes_a_keyset_or_any_container():
    assert members(KeySet(["a", "b"]), ["b", "c"]) == [True, False]
    assert members({"a", "b"}, ["b", "c"]) == [True, False]
