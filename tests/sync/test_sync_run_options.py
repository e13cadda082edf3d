"""The run's options: parsed once from the DAG's Params, what they decide per stream."""

from __future__ import annotations

import dataclasses

import pytest

from hubspot_commerce.batch.quota import QuotaRule
from hubspot_commerce.sync.mapping import load_mapping
from hubspot_commerce.sync.run_options import RunOptions
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
