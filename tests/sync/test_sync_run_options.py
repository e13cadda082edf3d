"""The run's options: parsed once from the DAG's Params, what they decide per stream."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from hubspot_commerce.batch.quota import QuotaRule
from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.sync.mapping import load_mapping
from hubspot_commerce.sync.run_options import RunOptions, window_bound
from hubspot_commerce.sync_dag import build_dag


@pytest.fixture(scope="module")
def defaults() -> dict:
    """The Params' values as a run triggered without changes gets them."""
    return {name: param.value for name, param in build_dag().params.items()}


def test_the_dag_params_parse_into_their_defaults(defaults: dict) -> None:
    options = RunOptions.from_params(defaults)
    streams = tuple(load_mapping().streams)
    assert options == RunOptions(objects=streams, quota_reserve=options.quota_reserve)
    assert options.quota_rule() == QuotaRule("defer", options.quota_reserve)


def test_template_values_become_typed_values(defaults: dict) -> None:
    """A Param the form sent as text (a number, a boolean) is read as its type."""
    params = {**defaults, "max_rejected_fraction": "0.5", "dry_run": 1, "objects": ["orders"]}
    options = RunOptions.from_params(params)
    assert options.max_rejected_fraction == 0.5 and options.dry_run is True and options.objects == ("orders",)


def test_a_stream_is_written_when_selected_and_not_a_dry_run() -> None:
    options = RunOptions(objects=("orders",))
    assert options.writes("orders") and not options.writes("carts")
    assert options.written_streams() == ("orders",)
    dry = dataclasses.replace(options, dry_run=True)
    assert dry.selected("orders") and not dry.writes("orders") and dry.written_streams() == ()
    assert dry.describe("orders") == "dry run: nothing is written"
    assert options.describe("carts") == "not selected: nothing is written"


def test_a_streams_own_rejected_fraction_wins_over_the_param() -> None:
    mapping = load_mapping()
    options = RunOptions(max_rejected_fraction=0.2)
    orders = mapping.streams["orders"]
    assert options.rejected_fraction(orders) == 0.2
    assert options.rejected_fraction(dataclasses.replace(orders, max_rejected_fraction=0.0)) == 0.0


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        pytest.param("2025-01-01", datetime(2025, 1, 1, tzinfo=UTC), id="date-midnight-utc"),
        pytest.param("2025-01-01T06:30:00", datetime(2025, 1, 1, 6, 30, tzinfo=UTC), id="naive-is-utc"),
        pytest.param("2025-01-01T06:30:00Z", datetime(2025, 1, 1, 6, 30, tzinfo=UTC), id="zulu"),
        pytest.param("2025-01-01T08:30:00+02:00", datetime(2025, 1, 1, 6, 30, tzinfo=UTC), id="offset"),
        pytest.param(" 2025-01-01 06:30 ", datetime(2025, 1, 1, 6, 30, tzinfo=UTC), id="space-separated"),
    ],
)
def test_a_window_end_is_a_date_or_a_datetime_in_utc(value: str, moment: datetime) -> None:
    bound = window_bound("window_start", value)
    assert bound == moment and bound.tzinfo == UTC


def test_a_window_end_that_is_no_date_says_which_formats_it_takes() -> None:
    with pytest.raises(SyncConfigurationError) as caught:
        window_bound("window_end", "yesterday")
    assert str(caught.value) == (
        "window_end 'yesterday' is neither a date nor a datetime: trigger the run again with a date such as "
        "2025-03-01 (midnight UTC) or a datetime such as 2025-03-01T06:00:00+00:00."
    )


def test_both_ends_or_neither_make_the_explicit_window() -> None:
    window = RunOptions(window_start="2025-01-01", window_end="2025-01-02T12:00:00+00:00").explicit_window()
    assert window == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, 12, tzinfo=UTC))
    assert RunOptions().explicit_window() is None
    assert RunOptions(window_start="", window_end=None).explicit_window() is None, "an emptied form field"
    assert RunOptions(full_refresh=True, window_start="2025-01-01").explicit_window() is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            RunOptions(window_start="2025-01-01"),
            "The run was given window_start '2025-01-01' but no window_end: trigger it again with both "
            "ends of the window (e.g. window_start 2025-03-01 and window_end 2025-03-02) or neither (the "
            "run's data interval).",
            id="start-only",
        ),
        pytest.param(
            RunOptions(window_end="2025-01-02T00:00:00+00:00"),
            "The run was given window_end '2025-01-02T00:00:00+00:00' but no window_start: trigger it "
            "again with both ends of the window (e.g. window_start 2025-03-01 and window_end 2025-03-02) or "
            "neither (the run's data interval).",
            id="end-only",
        ),
        pytest.param(
            RunOptions(window_start="2025-01-02", window_end="2025-01-02T00:00:00Z"),
            "The window 2025-01-02T00:00:00+00:00 .. 2025-01-02T00:00:00+00:00 is empty: trigger the run "
            "again with a window_start before its window_end (the end is excluded).",
            id="empty",
        ),
    ],
)
def test_a_window_the_run_cannot_use_is_refused_in_one_sentence(options: RunOptions, message: str) -> None:
    with pytest.raises(SyncConfigurationError) as caught:
        options.explicit_window()
    assert str(caught.value) == message


def test_the_window_params_take_a_date_or_a_datetime_and_show_both_formats() -> None:
    """A date was refused by the Param's schema (``'2025-01-01' is not a 'date-time'``) when triggered."""
    params = build_dag().params
    for name, day in (("window_start", "2025-03-01"), ("window_end", "2025-03-02")):
        param = params.get_param(name)
        assert param.resolve("2025-01-01") == "2025-01-01"
        assert param.resolve("2025-01-01T06:00:00+00:00") == "2025-01-01T06:00:00+00:00"
        description = param.description or ""
        assert f"a date such as {day} (midnight UTC)" in description, description
        assert f"a datetime such as {day}T06:00:00+00:00" in description, description
