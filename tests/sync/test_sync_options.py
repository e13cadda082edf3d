"""Enumeration options: HubSpot's internal values pass, labels become values, the rest is named as unknown."""

from __future__ import annotations

import pandas as pd

from hubspot_commerce.sync.mapping import load_mapping
from hubspot_commerce.sync.options import (
    describe,
    pipeline_options,
    pipelined_object_types,
    resolve,
    with_pipelines,
)

STATUS = [("processing", "Processing"), ("partially_refunded", "Partially refunded"), ("won", "processing")]
ORDER_STAGES = [{"id": "s-1", "label": "Open"}, {"id": "s-2", "label": "Shipped"}]
PIPELINES = [
    {"id": "p-1", "label": "Order Pipeline", "stages": ORDER_STAGES},
    {"id": "p-2", "label": "Returns", "stages": [{"id": "s-9", "label": "Received"}]},
]


def test_values_pass_labels_become_values_in_any_case_and_the_rest_is_missing() -> None:
    sent = ["processing", "PARTIALLY REFUNDED", "partially_refunded", "lost", None]
    values = pd.Series(sent, dtype="string")
    assert resolve(values, STATUS).tolist() == [
        "processing",
        "partially_refunded",
        "partially_refunded",
        pd.NA,
        pd.NA,
    ]


def test_an_internal_value_wins_over_another_options_label() -> None:
    """``processing`` is an internal value and also the label of ``won``: HubSpot reads it as the value."""
    assert resolve(pd.Series(["processing"], dtype="string"), STATUS).tolist() == ["processing"]


def test_allowed_options_are_named_with_their_labels_and_shortened() -> None:
    assert describe(STATUS) == "processing, partially_refunded (Partially refunded), won (processing)"
    many = [(f"v{i}", f"v{i}") for i in range(20)]
    assert describe(many) == ", ".join(f"v{i}" for i in range(12)) + ", ... and 8 more"


def test_stages_come_from_the_pipeline_the_mapping_names_by_id_or_label() -> None:
    assert pipeline_options(PIPELINES, "order pipeline") == {
        "hs_pipeline": [("p-1", "Order Pipeline"), ("p-2", "Returns")],
        "hs_pipeline_stage": [("s-1", "Open"), ("s-2", "Shipped")],
    }
    assert pipeline_options(PIPELINES, "p-2")["hs_pipeline_stage"] == [("s-9", "Received")]
    every_stage = [("s-1", "Open"), ("s-2", "Shipped"), ("s-9", "Received")]
    assert pipeline_options(PIPELINES, None)["hs_pipeline_stage"] == every_stage


def test_pipeline_definitions_take_the_portals_pipelines_and_leave_the_rest_alone() -> None:
    definitions = [
        {"name": "hs_pipeline_stage", "type": "enumeration", "options": [{"value": "old", "label": "Old"}]},
        {"name": "hs_currency_code", "type": "enumeration", "options": [{"value": "USD", "label": "USD"}]},
    ]
    merged = with_pipelines(definitions, PIPELINES, "p-1")
    assert merged[0]["options"] == [{"value": "s-1", "label": "Open"}, {"value": "s-2", "label": "Shipped"}]
    assert merged[1] == definitions[1]


def test_the_default_mapping_reads_the_order_pipeline() -> None:
    assert pipelined_object_types(load_mapping()) == {"orders": "14a2e10e-5471-408a-906e-c51f3b04369e"}
