"""Enumeration options as HubSpot defines them, and source values resolved against them.

HubSpot accepts an enumeration's internal option values. A source that already uses them, or their labels in
any case (``Shipped`` for a stage id), needs no ``values:`` entry in the mapping: a value passes as it is, a
label becomes its internal value, and only a value that is neither is rejected, naming what is allowed.
Pipeline stages come from the portal's pipelines (``hs_pipeline`` and ``hs_pipeline_stage``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from hubspot_commerce.sync.mapping import SyncMapping

Option = tuple[str, str]  # (internal value, label)
PIPELINE = "hs_pipeline"
PIPELINE_STAGE = "hs_pipeline_stage"
SHOWN_OPTIONS = 12


def options_of(definition: Mapping[str, Any]) -> list[Option]:
    """A property definition's options, in HubSpot's order."""
    return [(str(o["value"]), str(o.get("label") or o["value"])) for o in definition.get("options") or []]


def describe(options: Sequence[Option]) -> str:
    """The allowed values for a message: internal values, with the label where it differs; shortened."""
    shown = [value if value.lower() == label.lower() else f"{value} ({label})" for value, label in options]
    more = len(shown) - SHOWN_OPTIONS
    return ", ".join(shown[:SHOWN_OPTIONS]) + (f", ... and {more} more" if more > 0 else "")


def resolve(values: pd.Series, options: Sequence[Option]) -> pd.Series:
    """Each value as an internal option value: itself when it is one, else the value of the first option
    whose label it is (ignoring case); ``<NA>`` where it is neither (and where there was no value)."""
    internal = {value: value for value, _ in options}
    by_label: dict[str, str] = {}
    for value, label in options:
        by_label.setdefault(label.lower(), value)
    text = values.astype("string")
    return text.map(internal).astype("string").fillna(text.str.lower().map(by_label).astype("string"))


def pipeline_options(
    pipelines: Iterable[Mapping[str, Any]], pipeline: str | None = None
) -> dict[str, list[Option]]:
    """``hs_pipeline`` and ``hs_pipeline_stage`` options from the portal's pipelines; the stages of the one
    pipeline the mapping names (by id or label, any case) when it names one, else of every pipeline."""
    pipelines = list(pipelines)
    named = [p for p in pipelines if pipeline and pipeline.lower() in (p["id"].lower(), p["label"].lower())]
    chosen = named or pipelines
    stages = [(str(s["id"]), str(s.get("label") or s["id"])) for p in chosen for s in p.get("stages") or []]
    return {
        PIPELINE: [(str(p["id"]), str(p.get("label") or p["id"])) for p in pipelines],
        PIPELINE_STAGE: list(dict.fromkeys(stages)),
    }


def with_pipelines(
    definitions: Sequence[Mapping[str, Any]], pipelines: Iterable[Mapping[str, Any]], pipeline: str | None
) -> list[dict[str, Any]]:
    """Property definitions whose pipeline and stage options are the portal's pipelines (what HubSpot
    accepts for them), so validation resolves stage labels like any other option label."""
    options = pipeline_options(pipelines, pipeline)
    return [
        {**d, "options": [{"value": v, "label": label} for v, label in options[d["name"]]]}
        if d["name"] in options and options[d["name"]]
        else dict(d)
        for d in definitions
    ]


def pipelined_object_types(mapping: SyncMapping) -> dict[str, str | None]:
    """Object types whose streams map a pipeline or a stage, with the pipeline the mapping names as a
    constant (its ``value``), if any: their options come from the portal's pipelines."""
    pipelined: dict[str, str | None] = {}
    for stream in mapping.streams.values():
        rules = {rule.name: rule for rule in stream.properties}
        if PIPELINE in rules or PIPELINE_STAGE in rules:
            pipeline = rules[PIPELINE].value if PIPELINE in rules else None
            pipelined[stream.object_type] = pipelined.get(stream.object_type) or pipeline
    return pipelined
