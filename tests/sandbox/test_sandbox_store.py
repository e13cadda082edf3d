"""The sandbox's compact store: what goes in comes out unchanged (values, their order, links, unique values),
whatever the storage looks like inside."""

from __future__ import annotations

import pytest

from hubspot_sandbox.schema import OBJECTS_BY_KEY, PropertyDef
from hubspot_sandbox.store import SEPARATOR, Record, Store, record_key

NOW = "2026-01-01T00:00:00.000Z"


@pytest.fixture
def store() -> Store:
    """An empty store with the unique key property on orders."""
    store = Store()
    store.add_property(OBJECTS_BY_KEY["orders"], PropertyDef("airflow_source_key", "string", unique=True))
    return store


def add(store: Store, obj_name: str, properties: dict[str, str]) -> str:
    """Save a new record; its id."""
    record_id = store.next_id()
    store.save(obj_name, Record(record_id, properties, NOW, NOW))
    return record_id


@pytest.mark.parametrize(
    "properties",
    [
        pytest.param({"hs_order_name": "A", "hs_tax": "1.5", "airflow_source_key": "1"}, id="plain"),
        pytest.param({"hs_tax": "1", "hs_order_name": f"a{SEPARATOR}b"}, id="separator-in-a-value"),
        pytest.param({"hs_order_name": "Grüße ✓"}, id="non-ascii"),
        pytest.param({}, id="empty"),
    ],
)
def test_properties_come_back_unchanged_in_their_order(store: Store, properties: dict[str, str]):
    record = store.get("orders", add(store, "orders", properties))

    assert record is not None
    assert list(record.properties.items()) == list(properties.items())
    record.properties["hs_tax"] = "changed"  # a copy: the stored record stays as it was
    assert record.properties == properties


def test_only_plain_record_ids_name_records(store: Store):
    record_id = add(store, "orders", {"hs_order_name": "A"})

    assert store.get("orders", record_id).id == record_id
    for other in (f"0{record_id}", f"+{record_id}", f" {record_id}", "", "abc", "٣"):
        assert store.get("orders", other) is None
        assert record_key(other) is None


def test_unique_values_follow_updates_and_archives(store: Store):
    record_id = add(store, "orders", {"airflow_source_key": "k1"})
    store.save("orders", Record(record_id, {"airflow_source_key": "k2"}, NOW, NOW))

    assert store.unique_holder("orders", "airflow_source_key", "k1") is None
    assert store.unique_holder("orders", "airflow_source_key", "k2") == record_id
    store.archive("orders", record_id)
    assert store.unique_holder("orders", "airflow_source_key", "k2") is None


def test_links_keep_every_type_both_ways_and_go_with_a_record(store: Store):
    order = add(store, "orders", {"hs_order_name": "A"})
    lines = [add(store, "line_items", {"name": str(n)}) for n in range(3)]
    for line in lines:
        store.associate("line_items", line, "orders", order, 514, 513)
    store.associate("line_items", lines[0], "orders", order, 514, 513)  # again: no second link
    store.associate("orders", order, "line_items", lines[0], 99, 98)  # a second type between the same two

    assert store.associations("orders", order, "line_items") == {
        lines[0]: {513, 99},
        lines[1]: {513},
        lines[2]: {513},
    }
    assert store.all_association_types("line_items", lines[0]) == {"orders": {order: [98, 514]}}
    store.dissociate("orders", order, "line_items", lines[0])
    assert store.all_associations("line_items", lines[0]) == {}
    assert store.all_associations("orders", order) == {"line_items": sorted(lines[1:], key=int)}
    store.archive("line_items", lines[1])
    assert store.associations("orders", order, "line_items") == {lines[2]: {513}}


def test_records_after_an_id_skip_archived_ones(store: Store):
    ids = [add(store, "orders", {"hs_order_name": str(n)}) for n in range(5)]
    store.archive("orders", ids[2])
    store.save("orders", Record(ids[3], {"hs_order_name": "again"}, NOW, NOW))  # an update keeps its place

    assert [r.id for r in store.records_after("orders", int(ids[0]))] == [ids[1], ids[3], ids[4]]
    assert [r.id for r in store.all_records("orders")] == [ids[0], ids[1], ids[3], ids[4]]
    assert list(store.records_after("orders", int(ids[4]))) == []
