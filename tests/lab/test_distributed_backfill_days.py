"""Which days the lab backfills: the latest consecutive days whose run windows hold updated orders."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from hubspot_commerce_lab.distributed.backfill_days import (
    backfill_days,
    backfill_range,
    latest_consecutive_days,
    window_day,
)


def test_a_timestamp_belongs_to_the_run_whose_window_starts_at_three() -> None:
    assert window_day("2025-03-02 02:59:59") == date(2025, 3, 1)
    assert window_day("2025-03-02 03:00:00") == date(2025, 3, 2)


def test_latest_consecutive_days_skips_gaps() -> None:
    days = {date(2025, 1, d) for d in (1, 2, 3, 5, 6, 9)}
    assert latest_consecutive_days(days, 3) == [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]
    assert latest_consecutive_days(days, 2) == [date(2025, 1, 5), date(2025, 1, 6)]
    with pytest.raises(ValueError, match="no 4 consecutive days"):
        latest_consecutive_days(days, 4)


def test_backfill_days_come_from_the_orders_updated_at(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE orders (order_id INTEGER, updated_at TEXT)")
        stamps = ["2025-06-01 10:00:00", "2025-06-02 04:00:00", "2025-06-04 02:00:00", "2025-06-10 12:00:00"]
        db.executemany("INSERT INTO orders VALUES (?, ?)", enumerate(stamps))
    db.close()
    # 06-04 02:00 is in the run of 06-03; 06-10 stands alone.
    assert backfill_days(store, 3) == [date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 3)]


def test_backfill_range_covers_exactly_the_scheduled_logical_dates() -> None:
    days = [date(2025, 12, 28), date(2025, 12, 29), date(2025, 12, 30)]
    assert backfill_range(days) == ("2025-12-28T00:00:00Z", "2025-12-30T03:00:00Z")
