"""Which days ``make distributed`` backfills: the store's last days that really have updated rows.

The DAG's schedule is ``CronDataIntervalTimetable("0 3 * * *")``: the run of day D syncs the rows updated in
``[D 03:00, D+1 03:00)`` UTC. A backfill over days without updates would prove nothing, so the lab picks the
latest consecutive days whose windows each hold updated orders.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

SCHEDULE_HOUR = 3  # the DAG's cron "0 3 * * *"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def window_day(updated_at: str, hour: int = SCHEDULE_HOUR) -> date:
    """The day whose run's window ``[D hour:00, D+1 hour:00)`` contains this timestamp."""
    moment = datetime.strptime(updated_at, TIMESTAMP_FORMAT)
    return (moment - timedelta(hours=hour)).date()


def latest_consecutive_days(days: set[date], count: int) -> list[date]:
    """The latest ``count`` consecutive days that are all in ``days``, oldest first."""
    for last in sorted(days, reverse=True):
        run = [last - timedelta(days=n) for n in range(count)]
        if all(day in days for day in run):
            return sorted(run)
    raise ValueError(f"the store has no {count} consecutive days with updated orders")


def backfill_days(store_path: str | Path, count: int = 3, hour: int = SCHEDULE_HOUR) -> list[date]:
    """The last ``count`` consecutive days whose run windows each hold orders updated in the store."""
    db = sqlite3.connect(f"file:{Path(store_path)}?mode=ro", uri=True)
    try:
        stamps = [row[0] for row in db.execute("SELECT updated_at FROM orders WHERE updated_at IS NOT NULL")]
    finally:
        db.close()
    return latest_consecutive_days({window_day(stamp, hour) for stamp in stamps}, count)


def backfill_range(days: list[date], hour: int = SCHEDULE_HOUR) -> tuple[str, str]:
    """``from_date`` and ``to_date`` (both inclusive) whose scheduled logical dates are exactly ``days``
    at ``hour``:00 UTC."""
    first = datetime.combine(days[0], time(0), tzinfo=UTC)
    last = datetime.combine(days[-1], time(hour), tzinfo=UTC)
    return first.isoformat().replace("+00:00", "Z"), last.isoformat().replace("+00:00", "Z")
