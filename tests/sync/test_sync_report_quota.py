"""The report's daily quota part: the run's planned requests, each write's check, waits and what is unsent."""

from __future__ import annotations

from hubspot_commerce.sync.report import quota_lines, stream_counts

QUOTA = {"needed": 8, "limit": 20, "remaining": 19, "reserve": 2, "available": 17, "on_short": "defer"}


def test_the_report_names_the_plan_the_wait_and_what_was_not_attempted(mapping) -> None:
    plans = {
        "orders": {"create": 2500, "update": 0, "relinked": 0, "written": True},
        "products": {"create": 150, "update": 60, "relinked": 0, "written": True},  # upsert: 3 requests
        "carts": {"create": 900, "update": 0, "written": False},  # not written: not counted
    }
    writes = {
        "orders.create": {
            "quota": QUOTA,
            "deferred_until": ["2026-12-05T00:01:00+00:00"],
            "not_attempted": 0,
        },
        "products.upsert": {
            "quota": {**QUOTA, "needed": 3, "on_short": "partial"},
            "not_attempted": 10,
            "not_attempted_path": "/run/products/upsert_products.not_attempted.jsonl",
        },
        "orders.update": None,
    }
    assert quota_lines(mapping, plans, writes) == [
        "",
        "daily quota: the run's plans need 28 write requests",
        "  orders.create: needed 8, remaining 19 of 20, reserve 2; waited for the reset until "
        "2026-12-05T00:01:00+00:00",
        "  products.upsert: needed 3, remaining 19 of 20, reserve 2; 10 not attempted "
        "(/run/products/upsert_products.not_attempted.jsonl)",
    ]


def test_no_quota_check_no_lines_and_an_oauth_quota_is_named(mapping) -> None:
    assert quota_lines(mapping, {}, {"orders.create": {"created": 1}}) == []
    oauth = {**QUOTA, "limit": None, "remaining": None, "reserve": 0, "available": None}
    lines = quota_lines(mapping, {}, {"orders.create": {"quota": oauth}})
    assert lines[-1] == "  orders.create: needed 8; HubSpot reported no daily quota (OAuth app)"


def test_records_not_attempted_are_unfinished_so_every_row_counts_once(mapping) -> None:
    plans = {"products": {"create": 150, "update": 60, "unchanged": 0, "rejected": 0, "written": True}}
    writes = {"products.upsert": {"created": 100, "updated": 0, "rejected": 0, "not_attempted": 110}}
    rows = {r.stream: r for r in stream_counts(mapping, {"products.extracted": "210"}, plans, writes, False)}
    products = rows["products"]
    assert (products.created, products.updated, products.unfinished) == (100, 0, 110)
    total = products.created + products.updated + products.unchanged + products.rejected + products.unfinished
    assert total == products.extracted
