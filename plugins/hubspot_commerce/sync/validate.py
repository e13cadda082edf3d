"""Check every mapped row before any write: against the portal's property definitions and references.

A row that fails a check is rejected with its source key and every reason found; it is never sent, and rows
that refer to it (a line of a rejected order) are rejected in turn. Checks work on whole columns of a chunk of
rows; what they need of other chunks and streams (duplicate keys, references) is kept as key hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.objects import value_rules
from hubspot_commerce.sync.mapping import KEY, REF_PREFIX, StreamMapping, SyncMapping
from hubspot_commerce.sync.options import describe, options_of, resolve

NUMBER_PATTERN = r"^-?\d+(\.\d+)?$"
EPOCH_MS_PATTERN = r"^-?\d+$"
DAY_MS = 86_400_000
MAX_DIGITS = 15  # see _beyond_number_range
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"  # what an email property's value must look like


@dataclass(frozen=True)
class RejectedRow:
    """A source row that was not sent, and why."""

    stream: str
    object_type: str
    key: str
    reason: str

    def to_json(self) -> dict[str, str]:
        """The rejection as a JSON-ready dict (the rejected-rows file, the report)."""
        return {
            "stream": self.stream,
            "object_type": self.object_type,
            "key": self.key,
            "reason": self.reason,
        }


def definitions_by_name(definitions: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The properties API's list of definitions, by property name."""
    return {definition["name"]: definition for definition in definitions}


def is_writable(definition: Mapping[str, Any]) -> bool:
    """HubSpot refuses values for read-only and calculated properties."""
    metadata = definition.get("modificationMetadata") or {}
    return not (metadata.get("readOnlyValue") or definition.get("calculated"))


def _problem(mask: pd.Series | np.ndarray, message: pd.Series | str, index: pd.Index) -> pd.Series:
    """A reason column: ``message`` where ``mask`` is true, ``<NA>`` elsewhere."""
    reasons = pd.Series(pd.NA, index=index, dtype="string")
    where = pd.Series(mask, index=index).fillna(False).astype(bool)
    if isinstance(message, str):
        return reasons.mask(where, message)
    return reasons.mask(where, message.astype("string"))


def check_value_types(name: str, values: pd.Series, definition: Mapping[str, Any]) -> pd.Series:
    """Reasons for values that HubSpot would refuse for this property's type or options."""
    present = values.notna()
    quoted = "'" + values.fillna("") + "'"
    kind = definition.get("type", "string")
    if kind == "number":
        bad = present & ~values.str.fullmatch(NUMBER_PATTERN).fillna(False)
        reasons = _problem(bad, f"{name}: " + quoted + " is not a number", values.index)
        return reasons.fillna(_beyond_number_range(name, values.where(present & ~bad)))
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


def _beyond_number_range(name: str, numbers: pd.Series) -> pd.Series:
    """Reasons for numbers with more digits than HubSpot keeps. HubSpot documents no range for number
    properties; its reports and calculated properties compute in doubles, which hold 15 significant digits,
    so more than 15 digits before the point, or 15 significant ones, is refused (the stricter choice)."""
    long = numbers[numbers.str.len().gt(MAX_DIGITS).fillna(False)]  # a shorter one cannot be beyond
    if long.empty:
        return pd.Series(pd.NA, index=numbers.index, dtype="string")
    integer = long.str.extract(r"^-?0*(\d*)", expand=False).str.len()
    significant = long.str.replace(r"[-.]", "", regex=True).str.strip("0").str.len()
    beyond = ((integer > MAX_DIGITS) | (significant > MAX_DIGITS)).reindex(numbers.index, fill_value=False)
    shown = long.where(long.str.len() <= 24, long.str.slice(0, 24) + "...")
    message = f"{name}: '" + shown + f"' has more digits than HubSpot keeps (at most {MAX_DIGITS})"
    message = message.reindex(numbers.index)
    return _problem(beyond, message, numbers.index)


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
    """The value rules HubSpot applies to particular properties (the catalog's ``value_rules``)."""
    quoted = "'" + values.fillna("") + "'"
    checks = []
    rules = value_rules(object_type)
    if name in rules.emails:
        bad = values.notna() & ~values.str.fullmatch(EMAIL_PATTERN).fillna(False)
        checks.append(_problem(bad, f"{name}: " + quoted + " is not an email address", values.index))
    if name in rules.non_negative:
        negative = pd.to_numeric(values, errors="coerce") < 0
        checks.append(_problem(negative, f"{name}: " + quoted + " cannot be negative", values.index))
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


def key_hashes(values: pd.Series) -> np.ndarray:
    """64-bit hashes of text values (pandas' ``hash_array``; a NULL hashes as the empty text, which no key
    is): what the checks across chunks keep of a key, 8 bytes whatever its length."""
    return pd.util.hash_array(values.fillna("").to_numpy(dtype=object), categorize=False)


class KeySet:
    """Keys as 64-bit hashes (``key_hashes``), 8 bytes a key, in sorted runs each more than twice as long as
    the next: a key is merged into a longer run a few times, a lookup searches a few runs. Two keys whose
    hashes collide count as one; the odds are about n²/2⁶⁵, one in a million among six million keys."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    def add(self, hashes: np.ndarray) -> None:
        """Add hashes: a new run, merged with the runs not more than twice its length."""
        if not len(hashes):
            return
        run = np.sort(hashes)
        while self.runs and len(self.runs[-1]) <= 2 * len(run):
            run = np.concatenate([self.runs.pop(), run])
            run.sort(kind="stable")  # timsort: two sorted runs merge in linear time, in place
        self.runs.append(run)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Per hash, whether it is in the set."""
        found = np.zeros(len(hashes), dtype=bool)
        for run in self.runs:
            at = np.searchsorted(run, hashes).clip(max=len(run) - 1)
            found |= run[at] == hashes
        return found


class FirstOwners:
    """Per upsert value seen so far (its hash), the source key of the first row that had it, for the message
    naming it: the hashes in a ``KeySet`` and, in the order first seen, beside the owners' keys in Arrow
    string arrays (their bytes, not an object each)."""

    def __init__(self) -> None:
        self.values = KeySet()
        self.hashes: list[np.ndarray] = []
        self.keys: list[pa.Array] = []

    def add(self, hashes: np.ndarray, owners: pd.Series) -> None:
        """The first owners of values not seen before."""
        self.values.add(hashes)
        self.hashes.append(hashes)
        self.keys.append(pa.array(owners, type=pa.large_string(), from_pandas=True))

    def owners(self, hashes: np.ndarray) -> pd.Series:
        """The source keys of the first owners of values seen before (rare: only for clashing rows)."""
        seen = np.concatenate(self.hashes)
        places = np.flatnonzero(np.isin(seen, hashes))
        place = dict(zip(seen[places].tolist(), places.tolist(), strict=True))
        keys = pa.chunked_array(self.keys, type=pa.large_string())
        taken = keys.take(pa.array([place[h] for h in hashes.tolist()], type=pa.int64()))
        return taken.to_pandas(types_mapper={pa.large_string(): pd.StringDtype()}.get)


@dataclass
class StreamKeys:
    """What the checks of later chunks and streams need of a stream's rows, as hashes: every source key, the
    keys whose row was rejected (the first row of a key decides: later ones are its duplicates), and whether
    a row had no key (rows without a key are each other's duplicates, as pandas' ``duplicated`` has it)."""

    extracted: KeySet = field(default_factory=KeySet)
    rejected: KeySet = field(default_factory=KeySet)
    keyless: bool = False


@dataclass
class ChunkResult:
    """A chunk's rows that may be sent, and the rows that may not."""

    accepted: pd.DataFrame
    rejected: list[RejectedRow]


class Validation:
    """Validates a run's streams in sync order, a chunk of rows at a time: each row against the portal's
    property definitions and against the rows of earlier chunks and streams (duplicate keys and upsert
    values, references), of which it keeps only ``StreamKeys`` (of streams referred to), ``FirstOwners``."""

    def __init__(self, mapping: SyncMapping, definitions: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        """A mapping the portal cannot take (``mapping_problems``) fails as ``SyncConfigurationError``."""
        problems = mapping_problems(mapping, definitions)
        if problems:
            count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
            raise SyncConfigurationError(
                f"the mapping does not fit the portal ({count}): {'; '.join(problems)}; change the mapping, "
                "or create or change the property in HubSpot"
            )
        self.mapping = mapping
        self.definitions = {object_type: definitions_by_name(d) for object_type, d in definitions.items()}
        self.referenced = {ref.stream for stream in mapping.streams.values() for ref in stream.references}
        self.keys: dict[str, StreamKeys] = {}

    def stream(self, name: str) -> StreamValidation:
        """Start validating a stream, after the streams it refers to."""
        stream = self.mapping.streams[name]
        keys = StreamKeys()
        if name in self.referenced:
            self.keys[name] = keys
        return StreamValidation(stream, self.definitions[stream.object_type], keys, self.keys)


class StreamValidation:
    """One stream's validation, given its mapped rows (``map_stream``) a chunk at a time, in order: each
    chunk's result is what validating all the rows so far in one frame would give for its rows."""

    def __init__(
        self,
        stream: StreamMapping,
        definitions: Mapping[str, Mapping[str, Any]],
        keys: StreamKeys,
        earlier: Mapping[str, StreamKeys],
    ) -> None:
        self.stream, self.definitions, self.keys, self.earlier = stream, definitions, keys, earlier
        self.owners = FirstOwners()

    def validate(self, frame: pd.DataFrame) -> ChunkResult:
        """The chunk's rows that pass (enumeration values resolved) and those that do not, with every reason
        found. Later rows with the key (or upsert value) of an earlier row are rejected, not the first."""
        frame, option_checks = resolve_enumerations(self.stream, frame, self.definitions)
        keys, index = frame[KEY], frame.index
        hashes, present = key_hashes(keys), keys.notna().to_numpy()
        seen = np.where(present, self.keys.extracted.contains(hashes), self.keys.keyless)
        repeated = keys.duplicated().to_numpy() | seen
        checks = [
            _problem(keys.isna(), "the row has no source key (a key column is empty)", index),
            _problem(present & repeated, "duplicate source key: an earlier row has the same key", index),
        ]
        if self.stream.upsert_by:
            checks += self._upsert_checks(frame, repeated)
        checks += option_checks + _property_checks(self.stream, frame, self.definitions)
        reasons = _join_reasons(checks + self._reference_checks(frame), index)
        bad = reasons.notna().to_numpy()
        first = present & ~repeated
        self.keys.extracted.add(hashes[first])
        self.keys.rejected.add(hashes[first & bad])
        self.keys.keyless |= not present.all()
        rejected = [
            RejectedRow(self.stream.name, self.stream.object_type, "" if pd.isna(key) else str(key), reason)
            for key, reason in zip(keys[bad], reasons[bad], strict=True)
        ]
        return ChunkResult(frame[~bad].reset_index(drop=True), rejected)

    def _upsert_checks(self, frame: pd.DataFrame, repeated_key: np.ndarray) -> list[pd.Series]:
        """An upsert value must name one row only (HubSpot refuses a batch with the same id twice): a later
        row with the value of an earlier one is rejected naming the first one's source key (unless it is
        rejected as a duplicate key already). Remembers the first owner of each new value."""
        name, index = self.stream.upsert_by or "", frame.index
        if name not in frame.columns:
            raise SyncConfigurationError(
                f"stream {self.stream.name}: upsert_by {name!r} is not one of its properties"
            )
        values = frame[name]
        checks = []
        required = any(rule.name == name and rule.required for rule in self.stream.properties)
        if not required:  # else the required check names it; without a value the id would be "<NA>"
            checks.append(_problem(values.isna(), f"the row has no {name} (it is upserted by it)", index))
        hashes, present = key_hashes(values), values.notna().to_numpy()
        earlier = present & self.owners.values.contains(hashes)
        first_here = ~values.duplicated().to_numpy()
        clash = present & (~first_here | earlier) & ~repeated_key
        owners = values.map(frame.drop_duplicates(name).set_index(name)[KEY]).astype("string")
        if earlier.any():
            owners[earlier] = self.owners.owners(hashes[earlier]).to_numpy()
        message = f"{name} '" + values.fillna("") + "' is also used by source key " + owners.fillna("")
        checks.append(_problem(clash, message, index))
        new = present & first_here & ~earlier
        self.owners.add(hashes[new], frame.loc[new, KEY])
        return checks

    def _reference_checks(self, frame: pd.DataFrame) -> list[pd.Series]:
        """A reference must name a row of the referenced stream that was extracted and not rejected."""
        checks = []
        index = frame.index
        for ref in self.stream.references:
            keys = frame[REF_PREFIX + ref.name]
            label = f"{ref.name} '" + keys.fillna("") + "'"
            if not ref.optional:
                checks.append(_problem(keys.isna(), f"the row names no {ref.name}", index))
            target, hashes, present = self.earlier[ref.stream], key_hashes(keys), keys.notna().to_numpy()
            missing = present & ~target.extracted.contains(hashes)
            rejected = present & ~missing & target.rejected.contains(hashes)
            checks.append(_problem(missing, label + " is missing from the source", index))
            checks.append(_problem(rejected, label + " was rejected", index))
        return checks
