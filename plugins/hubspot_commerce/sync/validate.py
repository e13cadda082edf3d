"""Check every mapped row before any write: against the portal's property definitions and references.

A row that fails a check is rejected with its source key and every reason found; it is never sent, and rows
that refer to it (a line of a rejected order) are rejected in turn. Checks work on whole columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.sync.mapping import KEY, REF_PREFIX, StreamMapping, SyncMapping
from hubspot_commerce.sync.options import describe, options_of, resolve

NUMBER_PATTERN = r"^-?\d+(\.\d+)?$"
EPOCH_MS_PATTERN = r"^-?\d+$"
DAY_MS = 86_400_000
# Rules HubSpot enforces beyond a property's type, from its object guides: a contact's email must be an
# address, a line item's unit price cannot be negative.
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
EMAIL_PROPERTIES = {("contacts", "email")}
NON_NEGATIVE_PROPERTIES = {("line_items", "price")}


@dataclass(frozen=True)
class RejectedRow:
    """A source row that was not sent, and why."""

    stream: str
    object_type: str
    key: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {
            "stream": self.stream,
            "object_type": self.object_type,
            "key": self.key,
            "reason": self.reason,
        }


@dataclass
class ValidationResult:
    """The rows that may be sent, per stream, and the rows that may not."""

    accepted: dict[str, pd.DataFrame] = field(default_factory=dict)
    rejected: list[RejectedRow] = field(default_factory=list)


def definitions_by_name(definitions: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The properties API's list of definitions, by property name."""
    return {definition["name"]: definition for definition in definitions}


def is_writable(definition: Mapping[str, Any]) -> bool:
    """HubSpot refuses values for read-only and calculated properties."""
    metadata = definition.get("modificationMetadata") or {}
    return not (metadata.get("readOnlyValue") or definition.get("calculated"))


def _problem(mask: pd.Series, message: pd.Series | str, index: pd.Index) -> pd.Series:
    """A reason column: ``message`` where ``mask`` is true, ``<NA>`` elsewhere."""
    reasons = pd.Series(pd.NA, index=index, dtype="string")
    if isinstance(message, str):
        return reasons.mask(mask.fillna(False).astype(bool), message)
    return reasons.mask(mask.fillna(False).astype(bool), message.astype("string"))


def check_value_types(name: str, values: pd.Series, definition: Mapping[str, Any]) -> pd.Series:
    """Reasons for values that HubSpot would refuse for this property's type or options."""
    present = values.notna()
    quoted = "'" + values.fillna("") + "'"
    kind = definition.get("type", "string")
    if kind == "number":
        bad = present & ~values.str.fullmatch(NUMBER_PATTERN).fillna(False)
        return _problem(bad, f"{name}: " + quoted + " is not a number", values.index)
    if kind in ("date", "datetime"):
        invalid = present & values.str.startswith("invalid:").fillna(False)
        shown = "'" + values.fillna("").str.removeprefix("invalid:") + "'"
        reasons = _problem(invalid, f"{name}: " + shown + f" is not a {kind}", values.index)
        not_ms = present & ~invalid & ~values.str.fullmatch(EPOCH_MS_PATTERN).fillna(False)
        reasons = reasons.fillna(_problem(not_ms, f"{name}: " + quoted + f" is not a {kind}", values.index))
        if kind == "date":
            millis = pd.to_numeric(values.where(present & ~invalid & ~not_ms), errors="coerce")
            off_midnight = (millis % DAY_MS != 0) & millis.notna()
            reasons = reasons.fillna(
                _problem(off_midnight, f"{name}: " + quoted + " is not midnight UTC", values.index)
            )
        return reasons
    if kind == "bool":
        bad = present & ~values.isin(["true", "false"])
        return _problem(bad, f"{name}: " + quoted + " is not true or false", values.index)
    return pd.Series(pd.NA, index=values.index, dtype="string")


def mapping_problems(
    mapping: SyncMapping, definitions: Mapping[str, Iterable[Mapping[str, Any]]]
) -> list[str]:
    """What in the mapping the portal cannot take, found before any row is looked at: a property the
    object type does not have, a read-only or calculated one, a ``values`` target that is not one of an
    enumeration's options. Each would reject every row that has a value, and the rows that refer to them."""
    problems: list[str] = []
    for name, stream in mapping.streams.items():
        by_name = definitions_by_name(definitions[stream.object_type])
        where = f"stream {name}: {stream.object_type}"
        for prop in stream.property_names:
            definition = by_name.get(prop)
            if definition is None:
                problems.append(f"{where} has no property {prop} in HubSpot")
            elif not is_writable(definition):
                problems.append(f"{where} property {prop} is read-only in HubSpot")
        for rule in stream.properties:
            definition = by_name.get(rule.name) or {}
            if not rule.values or definition.get("type") != "enumeration":
                continue
            allowed = options_of(definition)
            targets = pd.Series(sorted(set(rule.values.values())), dtype="string")
            unknown = targets[resolve(targets, allowed).isna()].tolist()
            if unknown:
                problems.append(
                    f"{where} property {rule.name}: values {', '.join(unknown)} are not options "
                    f"(allowed: {describe(allowed)})"
                )
    return problems


def resolve_enumerations(
    stream: StreamMapping, frame: pd.DataFrame, definitions: Mapping[str, Mapping[str, Any]]
) -> tuple[pd.DataFrame, list[pd.Series]]:
    """The stream's enumeration values as HubSpot's internal option values (an option's label, in any
    case, becomes its value), and a reason for each value that is neither, naming the allowed options."""
    frame = frame.copy()
    checks = []
    for rule in stream.properties:
        definition = definitions[rule.name]
        if definition.get("type") != "enumeration":
            continue
        values, allowed = frame[rule.name], options_of(definition)
        resolved = resolve(values, allowed)
        shown = f" is not one of its options ({describe(allowed)})"
        checks.append(
            _problem(
                values.notna() & resolved.isna(),
                f"{rule.name}: '" + values.fillna("") + "'" + shown,
                frame.index,
            )
        )
        frame[rule.name] = resolved.where(resolved.notna(), values)
    return frame, checks


def _property_checks(
    stream: StreamMapping, frame: pd.DataFrame, definitions: Mapping[str, Mapping[str, Any]]
) -> list[pd.Series]:
    """Reasons per row from the values themselves (the mapping's properties exist: ``mapping_problems``)."""
    checks = []
    index = frame.index
    for rule in stream.properties:
        values = frame[rule.name]
        checks.append(check_value_types(rule.name, values, definitions[rule.name]))
        if rule.required:
            checks.append(_problem(values.isna(), f"required property {rule.name} is missing", index))
        checks += _hubspot_rules(stream.object_type, rule.name, values)
    return checks


def _hubspot_rules(object_type: str, name: str, values: pd.Series) -> list[pd.Series]:
    """The value rules HubSpot applies to particular properties (see ``EMAIL_PROPERTIES`` and the like)."""
    quoted = "'" + values.fillna("") + "'"
    checks = []
    if (object_type, name) in EMAIL_PROPERTIES:
        bad = values.notna() & ~values.str.fullmatch(EMAIL_PATTERN).fillna(False)
        checks.append(_problem(bad, f"{name}: " + quoted + " is not an email address", values.index))
    if (object_type, name) in NON_NEGATIVE_PROPERTIES:
        negative = pd.to_numeric(values, errors="coerce") < 0
        checks.append(_problem(negative, f"{name}: " + quoted + " cannot be negative", values.index))
    return checks


def _uniqueness_checks(stream: StreamMapping, frame: pd.DataFrame) -> list[pd.Series]:
    """A source key, and an upsert property's value, must each name one row only (HubSpot refuses a batch
    with the same id twice): later rows with the same value are rejected."""
    index = frame.index
    checks = [
        _problem(frame[KEY].isna(), "the row has no source key (a key column is empty)", index),
        _problem(
            frame[KEY].notna() & frame[KEY].duplicated(),
            "duplicate source key: an earlier row has the same key",
            index,
        ),
    ]
    if stream.upsert_by:
        if stream.upsert_by not in frame.columns:
            raise SyncConfigurationError(
                f"stream {stream.name}: upsert_by {stream.upsert_by!r} is not one of its properties"
            )
        values = frame[stream.upsert_by]
        required = any(rule.name == stream.upsert_by and rule.required for rule in stream.properties)
        if not required:  # else the required check names it; without a value the id would be "<NA>"
            checks.append(
                _problem(values.isna(), f"the row has no {stream.upsert_by} (it is upserted by it)", index)
            )
        first = frame.drop_duplicates(stream.upsert_by).set_index(stream.upsert_by)[KEY]
        clash = values.notna() & values.duplicated() & ~frame[KEY].duplicated()
        owners = values.map(first).astype("string")
        checks.append(
            _problem(
                clash,
                f"{stream.upsert_by} '"
                + values.fillna("")
                + "' is also used by source key "
                + owners.fillna(""),
                index,
            )
        )
    return checks


def _reference_checks(
    stream: StreamMapping,
    frame: pd.DataFrame,
    extracted: Mapping[str, set[str]],
    accepted: Mapping[str, set[str]],
) -> list[pd.Series]:
    checks = []
    index = frame.index
    for ref in stream.references:
        keys = frame[REF_PREFIX + ref.name]
        label = f"{ref.name} '" + keys.fillna("") + "'"
        if not ref.optional:
            checks.append(_problem(keys.isna(), f"the row names no {ref.name}", index))
        missing = keys.notna() & ~keys.isin(extracted[ref.stream])
        checks.append(_problem(missing, label + " is missing from the source", index))
        rejected = keys.notna() & ~missing & ~keys.isin(accepted[ref.stream])
        checks.append(_problem(rejected, label + " was rejected", index))
    return checks


def _join_reasons(checks: list[pd.Series], index: pd.Index) -> pd.Series:
    if not checks:
        return pd.Series(pd.NA, index=index, dtype="string")
    table = pd.concat(checks, axis=1)
    failing = table.notna().any(axis=1)
    joined = pd.Series(pd.NA, index=index, dtype="string")
    if failing.any():
        joined[failing] = table[failing].apply(lambda row: "; ".join(row.dropna()), axis=1)
    return joined


def validate_streams(
    mapping: SyncMapping,
    mapped: Mapping[str, pd.DataFrame],
    definitions: Mapping[str, Iterable[Mapping[str, Any]]],
) -> ValidationResult:
    """Validate every stream in sync order (frames from ``map_stream``; definitions per object type).
    A mapping the portal cannot take (``mapping_problems``) fails as ``SyncConfigurationError``."""
    problems = mapping_problems(mapping, definitions)
    if problems:
        raise SyncConfigurationError(
            f"the mapping does not fit the portal ({len(problems)} problems): " + "; ".join(problems)
        )
    result = ValidationResult()
    extracted: dict[str, set[str]] = {}
    accepted: dict[str, set[str]] = {}
    for name, stream in mapping.streams.items():
        frame = mapped[name]
        by_name = definitions_by_name(definitions[stream.object_type])
        frame, option_checks = resolve_enumerations(stream, frame, by_name)
        checks = (
            _uniqueness_checks(stream, frame)
            + option_checks
            + _property_checks(stream, frame, by_name)
            + _reference_checks(stream, frame, extracted, accepted)
        )
        reasons = _join_reasons(checks, frame.index)
        bad = reasons.notna()
        result.rejected.extend(
            RejectedRow(name, stream.object_type, "" if pd.isna(key) else str(key), reason)
            for key, reason in zip(frame.loc[bad, KEY], reasons[bad], strict=True)
        )
        good = frame[~bad].reset_index(drop=True)
        result.accepted[name] = good
        extracted[name] = set(frame[KEY].dropna())
        accepted[name] = set(good[KEY])
    return result
