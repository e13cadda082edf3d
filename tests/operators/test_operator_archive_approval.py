"""ArchiveApprovalOperator without a server: nothing to ask ends it at once, and an answer (a person's or the
timeout's default) becomes its XCom value. Asking and waiting run end to end in tests/dags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hubspot_commerce.operators.archive_approval import ArchiveApprovalOperator

AT = datetime(2026, 12, 1, 10, 0, 5, 123456, tzinfo=UTC)


def operator(question: tuple[str, str] | None = None) -> ArchiveApprovalOperator:
    return ArchiveApprovalOperator(
        task_id="approve_archive", ask=lambda context: question, response_timeout=timedelta(hours=12)
    )


def test_archive_or_keep_and_keep_when_nobody_answers() -> None:
    approval = operator()
    assert (approval.options, approval.defaults, approval.multiple) == (["Archive", "Keep"], ["Keep"], False)
    assert approval.response_timeout == timedelta(hours=12)


def test_nothing_to_ask_lets_the_archive_go_on_at_once() -> None:
    """No HITL detail is written (that would need a task runner): the value comes back straight away."""
    assert operator(None).execute({}) == {
        "archive": True, "asked": False, "by": None, "at": None, "timed_out": False
    }  # fmt: skip


def test_a_persons_answer_says_who_and_when() -> None:
    event = {
        "chosen_options": ["Archive"],
        "params_input": {},
        "responded_at": AT,
        "responded_by_user": {"id": "alice", "name": "Alice"},
        "timedout": False,
    }
    assert operator().execute_complete({}, event) == {
        "archive": True, "asked": True, "by": "Alice", "at": "2026-12-01T10:00:05+00:00", "timed_out": False
    }  # fmt: skip
    kept = operator().execute_complete({}, {**event, "chosen_options": ["Keep"]})
    assert (kept["archive"], kept["by"]) == (False, "Alice")


def test_the_timeout_keeps_the_records_and_names_nobody() -> None:
    """The scheduler's sweep answers with the defaults (Keep), no user, ``timedout``."""
    event = {
        "chosen_options": ["Keep"],
        "params_input": {},
        "responded_at": AT,
        "responded_by_user": None,
        "timedout": True,
    }
    assert operator().execute_complete({}, event) == {
        "archive": False, "asked": True, "by": None, "at": "2026-12-01T10:00:05+00:00", "timed_out": True
    }  # fmt: skip
