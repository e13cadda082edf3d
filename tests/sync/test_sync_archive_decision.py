"""Asking before a mass archive: when approve_archive asks, the question it asks, what its answer lets the
mirror tasks do, and the report's line on it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hubspot_commerce.errors import MassArchiveRefused
from hubspot_commerce.sync.archive_decision import (
    answer_text,
    archive_question,
    archive_rows,
    duration_text,
    may_archive,
    why_not_ask,
)
from hubspot_commerce.sync.mirror import MirrorPlan
from hubspot_commerce.sync.run_options import RunOptions

ORDERS = MirrorPlan(archive={f"10{i:02d}": f"9{i:02d}" for i in range(20)}, known=60)
PAYMENTS = MirrorPlan(archive={"p2": "72", "p1": "71"}, known=50)
LINES = MirrorPlan(known=80)  # nothing to archive
PLANS = {"orders": ORDERS, "payments": PAYMENTS, "order_line_items": LINES}
TYPES = {"orders": "orders", "payments": "commerce_payments", "order_line_items": "line_items"}


def test_a_question_is_asked_only_over_the_guard_without_confirm_archive_and_not_on_a_dry_run() -> None:
    assert why_not_ask(PLANS, 0.1, RunOptions()) is None
    assert why_not_ask(PLANS, 0.5, RunOptions()) == "no mirror stream archives more than 50% of its records"
    assert why_not_ask(PLANS, 0.1, RunOptions(confirm_archive=True)) == (
        "the Param confirm_archive is set, so the mirror tasks archive 20 of 60 orders without asking"
    )
    assert why_not_ask(PLANS, 0.1, RunOptions(dry_run=True)) == (
        "a dry run archives nothing; a real run would ask before archiving 20 of 60 orders"
    )
    assert why_not_ask({"payments": PAYMENTS}, 0.0, RunOptions()) is not None, "10 or fewer: never asked"


def test_the_question_counts_each_stream_shows_a_sample_and_names_the_list() -> None:
    subject, body = archive_question(
        PLANS, TYPES, 0.1, "s3://bucket/run/archive-list.jsonl", timedelta(hours=12)
    )
    assert subject == "Archive 22 HubSpot records whose rows the source deleted?"
    assert body.splitlines() == [
        "Mirror mode would archive more than 10% of a stream's records in HubSpot. Nothing is archived until "
        "someone answers.",
        "",
        "| stream | HubSpot object | to archive | of | sample: source key → HubSpot id |",
        "|---|---|---:|---:|---|",
        "| orders | orders | 20 (over the guard) | 60 | `1000` → `900`, `1001` → `901`, `1002` → `902`, "
        "`1003` → `903`, `1004` → `904`, … |",
        "| payments | commerce_payments | 2 | 50 | `p1` → `71`, `p2` → `72` |",
        "",
        "Every record (JSON lines: stream, key, id): `s3://bucket/run/archive-list.jsonl`",
        "",
        "* **Archive**: archive exactly these records.",
        "* **Keep**: archive none of them. The run goes on (stale links are still removed) and its report "
        "says the archive was refused; a later run that plans them asks again.",
        "",
        "Without an answer within 12 hours, the run keeps them (Keep).",
    ]
    _, waiting = archive_question(PLANS, TYPES, 0.1, "list.jsonl", None)
    assert waiting.endswith("\nThe run waits until someone answers.")


def test_the_list_names_every_record_of_every_stream() -> None:
    rows = archive_rows(PLANS)
    assert len(rows) == 22 and rows[0] == {"stream": "orders", "key": "1000", "id": "900"}
    assert rows[-2:] == [
        {"stream": "payments", "key": "p1", "id": "71"},
        {"stream": "payments", "key": "p2", "id": "72"},
    ]


@pytest.mark.parametrize(
    ("duration", "text"),
    [(timedelta(hours=24), "1 day"), (timedelta(hours=12), "12 hours"), (timedelta(minutes=90), "90 minutes"),
     (timedelta(seconds=45), "45 seconds")],
)  # fmt: skip
def test_durations_read_in_their_largest_whole_unit(duration: timedelta, text: str) -> None:
    assert duration_text(duration) == text


def test_the_mirror_tasks_archive_as_the_answer_says() -> None:
    answered = {"archive": False, "asked": True, "by": "admin", "at": "2026-12-01T10:00:00+00:00"}
    assert may_archive("orders", ORDERS, 0.1, RunOptions(), answered) is False
    assert may_archive("orders", ORDERS, 0.1, RunOptions(), {"archive": True}) is True


def test_without_an_answer_the_guard_still_stops_a_mass_archive() -> None:
    """approve_archive skipped (marked so by hand): no answer, so the old guard applies."""
    with pytest.raises(MassArchiveRefused, match=r"^orders: mirror would archive 20 of 60 records"):
        may_archive("orders", ORDERS, 0.1, RunOptions(), None)
    assert may_archive("orders", ORDERS, 0.1, RunOptions(confirm_archive=True), None) is True
    assert may_archive("payments", PAYMENTS, 0.1, RunOptions(), None) is True


def test_the_report_says_who_approved_or_refused_and_when() -> None:
    at = "2026-12-01T10:00:00+00:00"
    assert answer_text(None) is None
    assert answer_text({"archive": True}) is None, "not asked: no line"
    approved = {"archive": True, "asked": True, "by": "admin", "at": at}
    assert answer_text(approved) == f"archive approved by admin at {at}"
    refused = {"archive": False, "asked": True, "by": "alice", "at": at}
    assert answer_text(refused) == f"archive refused by alice at {at} (Keep): nothing was archived"
    timed_out = {"archive": False, "asked": True, "by": None, "at": at, "timed_out": True}
    assert answer_text(timed_out) == (
        f"archive refused: nobody answered by {at}, so the run kept the records (Keep)"
    )
