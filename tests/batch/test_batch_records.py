"""RecordSpool: records set aside for a second write, in memory up to a bound and in a file beyond it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hubspot_commerce.batch.records import Association, RecordSpool, WriteRecord


def _records(n: int, start: int = 0) -> list[WriteRecord]:
    return [
        WriteRecord(
            f"k{i}", {"price": Decimal("1.50"), "day": date(2026, 1, i % 28 + 1)}, (Association("7", 514),)
        )
        for i in range(start, start + n)
    ]


def test_a_spool_keeps_every_record_in_order_and_at_most_its_bound_in_memory():
    spool = RecordSpool(in_memory=10)
    assert not spool and list(spool) == []
    for start in range(0, 95, 5):
        spool.extend(_records(5, start))
        assert len(spool._recent) <= 10, "past its bound a spool keeps its records in a file"
    assert len(spool) == 95 and spool
    assert list(spool) == _records(95), "every record as it was, in order"
    assert list(spool) == _records(95), "reading it leaves it as it is"


def test_a_spool_read_part_way_then_extended_holds_every_record_in_order():
    spool = RecordSpool(in_memory=3)
    spool.extend(_records(8))
    reading = iter(spool)
    assert [next(reading) for _ in range(4)] == _records(4)
    spool.extend(_records(4, 8))  # written after the others, wherever a reader stopped
    assert list(spool) == _records(12) and len(spool) == 12
