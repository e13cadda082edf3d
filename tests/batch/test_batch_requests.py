"""Planning: chunking, trace ids, refusals before sending, request bodies."""

from __future__ import annotations

import pytest
from batch_plans import plan_write

from hubspot_commerce.batch.records import Association, WriteRecord
from hubspot_commerce.batch.requests import MAX_BATCH, chunked, trace_id_for


def _records(n: int, **kwargs) -> list[WriteRecord]:
    return [WriteRecord(key=f"k{i}", properties={"name": f"n{i}"}, **kwargs) for i in range(n)]


def test_chunks_hold_at_most_100_and_keep_every_item():
    items = list(range(250))
    chunks = list(chunked(items))
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert [x for c in chunks for x in c] == items


@pytest.mark.parametrize("n", [0, 1, 99, 100, 101, 1001])
def test_plan_splits_any_number_of_inputs(n):
    plan = plan_write("create", _records(n), key_property="src_key")
    assert all(1 <= len(b) <= MAX_BATCH for b in plan.batches)
    assert plan.total == n
    assert len(plan.batches) == -(-n // MAX_BATCH)


def test_trace_ids_are_the_key_when_plain_and_a_hash_otherwise():
    assert trace_id_for("order-1001") == "order-1001"
    odd = trace_id_for("order 1001/ü")
    long = trace_id_for("x" * 200)
    assert odd.startswith("h-") and len(odd) == 22
    assert long.startswith("h-") and long != trace_id_for("x" * 201)
    # a key that looks like a hash is hashed too, so it can never collide with another key's hash
    assert trace_id_for(odd) != odd


def test_trace_ids_unique_within_a_call():
    keys = ["a", "a b", "h-abc", "x" * 70, "x" * 71]
    plan = plan_write("create", [WriteRecord(k, {}) for k in keys])
    traces = [p.trace_id for b in plan.batches for p in b]
    assert len(set(traces)) == len(keys)
    assert [p.body["objectWriteTraceId"] for b in plan.batches for p in b] == traces


def test_create_body_sets_key_property_and_associations():
    record = WriteRecord("o-1", {"hs_order_name": "#1"}, (Association("55", 507), Association("66", 513)))
    (batch,) = plan_write("create", [record], key_property="src_key").batches
    body = batch[0].body
    assert body["properties"] == {"hs_order_name": "#1", "src_key": "o-1"}
    assert body["associations"] == [
        {"to": {"id": "55"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 507}]},
        {"to": {"id": "66"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 513}]},
    ]
    assert record.properties == {"hs_order_name": "#1"}  # the caller's record is not changed


def test_upsert_and_update_bodies_carry_id():
    (up,) = plan_write("upsert", [WriteRecord("p1", {"price": 1}, id="SKU-1")], id_property="hs_sku").batches
    assert up[0].body == {
        "objectWriteTraceId": "p1",
        "properties": {"price": 1},
        "id": "SKU-1",
        "idProperty": "hs_sku",
    }
    (upd,) = plan_write("update", [WriteRecord("p1", {"price": 2}, id="123")]).batches
    assert upd[0].body == {"objectWriteTraceId": "p1", "properties": {"price": 2}, "id": "123"}


def test_refusals_name_the_record_and_the_reason_and_the_rest_is_planned():
    records = [
        WriteRecord("a", {}, id="SKU-1"),
        WriteRecord("a", {}, id="SKU-2"),  # duplicate key
        WriteRecord("b", {}),  # no id
        WriteRecord("c", {}, id="SKU-1"),  # id already used by a
        WriteRecord("d", {}, (Association("1", 20),), id="SKU-4"),  # associations on upsert
        WriteRecord("e", {}, id="SKU-5"),
    ]
    plan = plan_write("upsert", records, id_property="hs_sku")
    assert [p.key for b in plan.batches for p in b] == ["a", "e"]
    reasons = {(r.key, r.message) for r in plan.rejected}
    assert {k for k, _ in reasons} == {"a", "b", "c", "d"}
    assert any("duplicate source key" in m for k, m in reasons if k == "a")
    assert any("'SKU-1' is also used by an earlier record" in m for k, m in reasons if k == "c")
    assert any("needs 'id'" in m for k, m in reasons if k == "b")
    assert all(r.category == "INVALID_INPUT" for r in plan.rejected)


def test_key_property_contradicting_the_key_is_refused():
    plan = plan_write("create", [WriteRecord("o-1", {"src_key": "o-2"})], key_property="src_key")
    assert plan.total == 0
    assert "must hold the source key" in plan.rejected[0].message


def test_skip_keys_are_not_sent_and_not_rejected_but_counted():
    plan = plan_write("create", _records(5), key_property="src_key", skip_keys={"k1", "k3"})
    assert [p.key for b in plan.batches for p in b] == ["k0", "k2", "k4"]
    assert (plan.rejected, plan.skipped) == ([], 2)


def test_past_the_limit_records_are_left_unsent_by_key_and_refusals_still_count():
    records = [*_records(5), WriteRecord("k1", {}), *_records(250)[5:]]  # k1 twice: refused, not counted
    plan = plan_write("create", records, skip_keys={"k0"}, limit=120)
    sent = [p.key for b in plan.batches for p in b]
    assert sent == [f"k{i}" for i in range(1, 121)], "the first 120 sendable records, k0 skipped"
    assert plan.not_attempted == [f"k{i}" for i in range(121, 250)]
    assert ([r.key for r in plan.rejected], plan.skipped) == (["k1"], 1)


def test_planned_inputs_carry_their_record_for_a_second_write():
    records = _records(3)
    (batch,) = plan_write("create", records, key_property="src_key").batches
    assert [p.record for p in batch] == records


def test_bad_configuration_raises():
    with pytest.raises(ValueError, match="id_property"):
        plan_write("upsert", _records(1))
    with pytest.raises(ValueError, match="action"):
        plan_write("delete", _records(1))


def test_write_record_from_dict():
    record = WriteRecord.from_dict(
        {"key": 7, "properties": {"a": 1}, "associations": [{"to_id": 9, "type_id": "513"}], "id": 12}
    )
    assert record == WriteRecord("7", {"a": 1}, (Association("9", 513),), "12")
    with pytest.raises(ValueError, match="without a 'key'"):
        WriteRecord.from_dict({"properties": {}})


def test_property_values_become_json_values():
    from datetime import UTC, date, datetime
    from decimal import Decimal

    record = WriteRecord(
        "k",
        {
            "a": Decimal("12.50"),
            "b": date(2026, 1, 2),
            "c": datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
            "d": 3,
            "e": None,
        },
    )
    (batch,) = plan_write("create", [record]).batches
    assert batch[0].body["properties"] == {
        "a": "12.50",
        "b": "2026-01-02",
        "c": "2026-01-02T03:04:00+00:00",
        "d": 3,
        "e": None,
    }
