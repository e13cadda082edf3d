"""Mirror planning: which records are archived, which links removed, and when the guard stops a run."""

from __future__ import annotations

import pandas as pd

from hubspot_commerce.batch.records import Link
from hubspot_commerce.sync.mapping import KEY, PropertyRule, Reference, StreamMapping
from hubspot_commerce.sync.mirror import (
    MirrorPlan,
    archive_refusal,
    deleted_rows,
    refers_to_deleted,
    stale_keys,
    stale_links,
)

ORDERS = StreamMapping(
    "orders",
    "orders",
    "orders",
    "{order_id}",
    (PropertyRule("hs_order_name", column="n"),),
    (Reference("contact", "contacts", "{customer_id}", association=507, optional=True),),
    mirror=True,
    deleted_column="deleted_at",
)
LINES = StreamMapping(
    "order_line_items",
    "line_items",
    "order_lines",
    "order:{order_id}:{line_number}",
    (),
    (Reference("order", "orders", "{order_id}", association=514),),
    mirror=True,
)


def test_only_keys_of_the_streams_shape_that_the_source_lacks_are_stale() -> None:
    held = {"order:1:1": "11", "order:1:2": "12", "cart:1:1": "21", "order:2:1": "31"}
    assert stale_keys(LINES, held, {"order:1:1", "order:2:1"}) == {"order:1:2": "12"}


def test_a_moved_or_removed_link_of_the_mapped_type_is_stale_and_other_links_stay() -> None:
    frame = pd.DataFrame({KEY: ["1", "2", "3"], "assoc:contact": ["c-new", pd.NA, "c-3"]}, dtype="string")
    current = {
        "contact": {
            "o1": {"c-old": {507}, "c-new": {507}, "c-labelled": {999}},  # moved; a user's own label stays
            "o2": {"c-guest": {507}},  # the source has no customer any more
            "o3": {"c-3": {507}},  # unchanged
        }
    }
    links = stale_links(ORDERS, frame, {"1": "o1", "2": "o2", "3": "o3"}, current)
    assert links == {"contact": [Link("1", "o1", "c-old", 507), Link("2", "o2", "c-guest", 507)]}


def test_a_line_named_by_its_own_key_is_never_unlinked() -> None:
    frame = pd.DataFrame({KEY: ["order:1:1"], "assoc:order": ["o1"]}, dtype="string")
    assert stale_links(LINES, frame, {"order:1:1": "l1"}, {"order": {"l1": {"o9": {514}}}}) == {}


def test_soft_deleted_rows_take_the_rows_that_need_them_along() -> None:
    orders = pd.DataFrame({"order_id": [1, 2], "deleted_at": [None, "2025-03-01"]})
    assert deleted_rows(ORDERS, orders).tolist() == [False, True]
    lines = pd.DataFrame({"order_id": [1, 2, 2], "line_number": [1, 1, 2]})
    assert refers_to_deleted(LINES, lines, {"orders": ["2"]}).tolist() == [False, True, True]


def test_the_guard_stops_more_than_the_allowed_share_unless_it_is_a_few_records() -> None:
    many = MirrorPlan(archive={str(i): str(i) for i in range(20)}, known=100)
    assert archive_refusal("orders", many, 0.1) == (
        "orders: mirror would archive 20 of 100 records (more than 10%); nothing was archived. If the source "
        "really deleted them, run again with the Param confirm_archive"
    )
    assert archive_refusal("orders", many, 0.2) is None
    few = MirrorPlan(archive={str(i): str(i) for i in range(10)}, known=10)
    assert archive_refusal("orders", few, 0.1) is None


def test_a_plan_survives_its_json_form() -> None:
    plan = MirrorPlan({"1": "o1"}, {"contact": [Link("2", "o2", "c1", 507)]}, 5)
    assert MirrorPlan.from_json(plan.to_json()) == plan
