"""A failed task's cause: what its failure callback records, the advice per kind of error, and the one
sentence the run's last exception says."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowNotFoundException

from hubspot_commerce.errors import (
    HubSpotAuthError,
    HubSpotMissingScopes,
    HubSpotUnavailable,
    RunParamsError,
    SourceRowsRejected,
    StateTableRefused,
    SyncConfigurationError,
)
from hubspot_commerce.sync.cause import UNKNOWN_ADVICE, TaskFailure, advice_for, failures_summary, first_line


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        pytest.param(
            HubSpotMissingScopes("403", scopes=["crm.objects.carts.write"]),
            "add the missing scopes to the app or key in HubSpot and update the connection",
            id="scopes-before-their-base-class",
        ),
        pytest.param(
            HubSpotAuthError("401"),
            "put a valid access token in the HubSpot connection's password",
            id="token",
        ),
        pytest.param(
            HubSpotUnavailable("no answer"),
            "wait until HubSpot answers again (it failed or did not answer on every try)",
            id="outage-as-a-server-error",
        ),
        pytest.param(
            SourceRowsRejected("contacts: 1 of 40 rows"),
            "fix the rows in the files it names, or raise max_rejected_fraction",
            id="rejected-rows",
        ),
        pytest.param(
            AirflowNotFoundException("The conn_id `shop` isn't defined"),
            "define the connection it names where the tasks run (Admin > Connections, a secrets backend or "
            "an AIRFLOW_CONN_<ID> variable)",
            id="connection",
        ),
        pytest.param(KeyError("price"), UNKNOWN_ADVICE, id="anything-else"),
    ],
)
def test_each_kind_of_error_has_its_advice(error: BaseException, advice: str) -> None:
    assert advice_for(error) == advice


def test_the_recorded_cause_is_the_exception_type_and_the_first_line_of_its_message(files) -> None:
    message = "the mapping does not fit the portal (1 problem): products: no warehouse_bin"
    error = SyncConfigurationError(f"\n{message}\nsecond line")
    TaskFailure.of("validate", error).save(files)
    failure = TaskFailure.load(files, "validate")
    assert failure == TaskFailure(
        "validate",
        "SyncConfigurationError",
        message,
        "correct what it names (a SQL file, the mapping or the portal)",
    )
    assert failure.summary() == (
        f"validate failed: SyncConfigurationError: {message}. Fix: correct what it names (a SQL "
        "file, the mapping or the portal), then clear validate with its downstream tasks."
    )


def test_a_task_without_a_recorded_cause_points_at_its_log(files) -> None:
    """Killed, or marked failed by hand: no failure callback recorded an exception."""
    failure = TaskFailure.load(files, "create_orders")
    assert failure.cause == "no cause was recorded; the task's log has it"
    killed = TaskFailure.of("create_orders", "Task was killed: heartbeat timed out")
    assert (killed.exception, killed.message, killed.advice) == (
        "",
        "Task was killed: heartbeat timed out",
        UNKNOWN_ADVICE,
    )


def test_a_long_message_is_cut_at_a_word_and_says_where_the_rest_is() -> None:
    line = first_line("word " * 200, limit=23)
    assert line == "word word word word … (the task's log has all of it)"
    assert first_line("short. \nmore") == "short."


def test_the_runs_last_exception_names_the_first_failure_and_counts_the_others() -> None:
    failures = [
        TaskFailure.of("create_orders", HubSpotUnavailable("POST orders: no answer from HubSpot.")),
        TaskFailure("create_carts"),
    ]
    assert failures_summary(failures) == (
        "create_orders failed: HubSpotUnavailable: POST orders: no answer from HubSpot. Fix: wait until "
        "HubSpot answers again (it failed or did not answer on every try), then clear create_orders with its "
        "downstream tasks. (1 more failed: see the report)"
    )


def test_a_wrong_param_asks_for_a_new_run_not_a_clear() -> None:
    """A run keeps its Params, so clearing a task that failed on one fails again: the advice is a new run."""
    from hubspot_commerce.sync.report import failure_lines
    from hubspot_commerce.sync.run_options import RunOptions

    with pytest.raises(RunParamsError) as refused:
        RunOptions(window_start="2025-01-01").explicit_window()
    failure = TaskFailure.of("extract", refused.value)
    assert not failure.clearable
    assert failure.summary() == (
        "extract failed: RunParamsError: The run was given window_start '2025-01-01' but no window_end: "
        "trigger it again with both ends of the window (e.g. window_start 2025-03-01 and window_end "
        "2025-03-02) or neither (the run's data interval). Fix: trigger a new run with the Params corrected "
        "(a cleared task keeps this run's Params)."
    )
    lines = failure_lines([failure, TaskFailure.of("setup", refused.value)])
    assert (
        lines[-1]
        == "  fix: trigger a new run with the Params corrected (a cleared task keeps this run's Params)"
    )
    assert not [line for line in lines if line.startswith("Then clear")]
    state = TaskFailure.of("extract", StateTableRefused("cannot create hubspot_sync_state", "GRANT CREATE"))
    assert state.clearable and state.advice.startswith("grant what it names, or set [hubspot_commerce]")
