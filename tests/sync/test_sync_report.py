"""The report: per stream extracted, created, updated, unchanged, rejected, and the rejected-rows files."""

from __future__ import annotations

from hubspot_commerce.sync.report import format_report, mirror_lines, stream_counts


def test_counts_combine_validation_plan_and_write_results(mapping) -> None:
    validation = {"orders.extracted": "10", "orders.rejected": "2", "products.extracted": "4"}
    plans = {
        "orders": {"create": 5, "update": 2, "unchanged": 1, "relinked": 1, "rejected": 1, "written": True},
        "products": {"create": 3, "update": 1, "unchanged": 0, "rejected": 0, "written": True},
    }
    writes = {
        "orders.create": {"created": 4, "existing": 1, "rejected": 0},
        "orders.update": {"updated": 0, "rejected": 1, "rejected_path": "/x/update_orders.jsonl"},
        "products.upsert": {"created": 3, "updated": 1, "rejected": 0},
    }
    rows = {row.stream: row for row in stream_counts(mapping, validation, plans, writes, dry_run=False)}
    orders = rows["orders"]
    counts = (orders.extracted, orders.created, orders.updated, orders.unchanged, orders.rejected)
    assert counts == (10, 4, 1, 2, 4)  # updated: the relinked order; unchanged: 1 + 1 that already existed
    products = rows["products"]
    assert (products.created, products.updated, products.unchanged, products.rejected) == (3, 1, 0, 0)


def test_dry_run_reports_what_would_be_written(mapping) -> None:
    plans = {"orders": {"create": 5, "update": 2, "unchanged": 1, "rejected": 0, "written": False}}
    rows = {
        row.stream: row for row in stream_counts(mapping, {"orders.extracted": "8"}, plans, {}, dry_run=True)
    }
    assert (rows["orders"].created, rows["orders"].updated, rows["orders"].unchanged) == (5, 2, 1)
    text = format_report(
        list(rows.values()),
        "2025-03-01 .. 2025-03-02",
        True,
        ["orders"],
        "/run/rejected.jsonl",
        ["/run/o.jsonl"],
    )
    assert "DRY RUN" in text
    assert "rejected rows (source key and reason, JSON lines): /run/rejected.jsonl" in text
    assert "rejected by HubSpot: /run/o.jsonl" in text
    assert "products" in text and "(not selected: nothing written)" in text
    order_line = next(line for line in text.splitlines() if line.startswith("orders "))
    assert order_line.split()[2:] == ["8", "5", "2", "1", "0", "0"]


def test_resumed_records_count_once_as_their_task_wrote_them(mapping) -> None:
    """A create task cleared after a partial try: 300 landed in the first try, 17,294 in the second."""
    validation = {"orders.extracted": "17600", "orders.rejected": "6", "products.extracted": "10"}
    plans = {
        "orders": {
            "create": 17594,
            "update": 0,
            "unchanged": 0,
            "relinked": 0,
            "rejected": 0,
            "written": True,
        },
        "products": {"create": 4, "update": 6, "unchanged": 0, "rejected": 0, "written": True},
    }
    writes = {
        "orders.create": {"created": 17294, "existing": 0, "resumed": 300, "rejected": 0},
        "orders.update": None,  # skipped: nothing to update
        "products.upsert": {"created": 1, "updated": 6, "resumed": 3, "rejected": 0},
    }
    rows = {row.stream: row for row in stream_counts(mapping, validation, plans, writes, dry_run=False)}
    orders, products = rows["orders"], rows["products"]
    assert (orders.extracted, orders.created, orders.updated, orders.unchanged) == (17600, 17594, 0, 0)
    assert (orders.rejected, orders.unfinished) == (6, 0)
    assert (products.created, products.updated, products.unfinished) == (4, 6, 0), "resumed as planned"


def test_a_failed_write_leaves_its_planned_records_unfinished_and_every_row_is_counted(mapping) -> None:
    validation = {"orders.extracted": "10", "orders.rejected": "1", "payments.extracted": "7"}
    plans = {
        "orders": {"create": 6, "update": 3, "unchanged": 0, "relinked": 1, "rejected": 0, "written": True}
    }
    writes = {"orders.create": None, "orders.update": {"updated": 2, "rejected": 0}, "payments.create": None}
    rows = {row.stream: row for row in stream_counts(mapping, validation, plans, writes, dry_run=False)}
    orders = rows["orders"]
    counts = (orders.created, orders.updated, orders.unchanged, orders.rejected, orders.unfinished)
    assert counts == (0, 3, 0, 1, 6)  # updated: 2 written and 1 relinked; unfinished: the failed creates
    assert sum(counts) == orders.extracted
    payments = rows["payments"]
    assert (payments.extracted, payments.created, payments.unfinished) == (7, 0, 7), "never planned"


def test_rows_extract_read_before_validate_failed_are_extracted_and_unfinished(mapping) -> None:
    """Without validate's counts, extract's are the stream's rows: none planned, all unfinished, and every
    line adds up. When validate ran, its counts win (they leave out the rows the source marks deleted)."""
    extraction = {"window": "full refresh", "products": "500", "contacts": "2000", "orders": "0"}
    rows = {r.stream: r for r in stream_counts(mapping, {}, {}, {}, dry_run=False, extraction=extraction)}
    products = rows["products"]
    counts = (products.created, products.updated, products.unchanged, products.rejected, products.unfinished)
    assert (products.extracted, counts) == (500, (0, 0, 0, 0, 500))
    assert (rows["contacts"].extracted, rows["contacts"].unfinished) == (2000, 2000)
    assert (rows["carts"].extracted, rows["carts"].unfinished) == (0, 0), "extract named no carts"
    for row in rows.values():
        assert row.extracted == row.created + row.updated + row.unchanged + row.rejected + row.unfinished
    validation = {"products.extracted": "498", "products.rejected": "3"}
    validated = stream_counts(mapping, validation, {}, {}, dry_run=False, extraction=extraction)
    assert (validated[0].extracted, validated[0].rejected, validated[0].unfinished) == (498, 3, 495)


def test_a_refused_archive_shows_the_kept_records_and_who_refused_when() -> None:
    results = {
        "orders.mirror": {"archived": 0, "kept": 20, "unlinked": 1, "path": "/r/mirrored.jsonl"},
        "approve_archive": {
            "archive": False,
            "asked": True,
            "by": "admin",
            "at": "2026-12-01T10:00:05+00:00",
        },
    }
    assert mirror_lines(results, dry_run=False)[2:] == [
        "  orders: 0 archived, 20 kept (the archive was refused), 1 unlinked (list: /r/mirrored.jsonl)",
        "  archive refused by admin at 2026-12-01T10:00:05+00:00 (Keep): nothing was archived",
    ]
