"""Decide what to write for one stream: create what HubSpot lacks, update what changed, skip the rest.

Pure functions: the caller reads the existing records (``hook.batch_read`` by source key or upsert property)
and passes them in. Values are compared the way HubSpot returns them (numbers as decimals, dates and
datetimes as instants), so a re-run with the same source data plans no write at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hubspot_commerce.batch.records import Link
from hubspot_commerce.sync.id_index import IdIndex
from hubspot_commerce.sync.mapping import (
    KEY,
    REF_PREFIX,
    Reference,
    StreamMapping,
    template_columns,
    to_bool_text,
    to_epoch_ms,
    to_number_text,
)
from hubspot_commerce.sync.state import Known
from hubspot_commerce.sync.validate import RejectedRow, definitions_by_name

ASSOC_PREFIX = "assoc:"


@dataclass
class StreamPlan:
    """The writes one stream needs, as operator input dicts, and what needs none.

    ``relinked`` counts existing records whose values are unchanged but which lacked an association the
    source now gives them (an anonymous cart whose customer logged in); they move from unchanged to updated.
    """

    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    relinked: int = 0
    existing_ids: dict[str, str] = field(default_factory=dict)
    rejected: list[RejectedRow] = field(default_factory=list)
    links_changed: set[str] = field(default_factory=set)  # planned from the state: rows whose links moved

    def planned_state(self, keys: pd.Series, hashes: pd.Series) -> pd.DataFrame:
        """Per row: its key, the HubSpot id known before writing, its hash and what the plan does with it
        (``create``, ``update``, ``unchanged``), for the state the report records once the writes are done."""
        planned = pd.Series("unchanged", index=keys.index, dtype="string")
        planned[keys.isin([r["key"] for r in self.update])] = "update"
        planned[keys.isin([r["key"] for r in self.create])] = "create"
        ids = keys.map(dict(self.existing_ids)).astype("string")
        return pd.DataFrame({"key": keys, "hubspot_id": ids, "row_hash": hashes, "planned": planned})

    def counts(self) -> dict[str, int]:
        return {
            "create": len(self.create),
            "update": len(self.update) + self.relinked,
            "unchanged": self.unchanged - self.relinked,
            "relinked": self.relinked,
            "rejected": len(self.rejected),
        }


def lookup_value(stream: StreamMapping, frame: pd.DataFrame) -> pd.Series:
    """The value that finds a row's record in HubSpot: the upsert property's value, else the source key."""
    return frame[stream.upsert_by] if stream.upsert_by else frame[KEY]


def resolve_references(
    stream: StreamMapping, frame: pd.DataFrame, ids: Mapping[str, IdIndex], strict: bool = True
) -> tuple[pd.DataFrame, list[RejectedRow]]:
    """Replace referenced source keys by HubSpot ids: into the reference's property (``hs_product_id``) or an
    ``assoc:<name>`` column. With ``strict``, a row whose referenced record has no HubSpot id is rejected
    (it was rejected by HubSpot, or its stream was not synced); a dry run passes ``strict=False``."""
    frame = frame.copy()
    reasons = pd.Series(pd.NA, index=frame.index, dtype="string")
    for ref in stream.references:
        keys = frame[REF_PREFIX + ref.name]
        index = ids.get(ref.stream)
        resolved = index.lookup(keys) if index is not None else pd.Series(pd.NA, keys.index, "string")
        unresolved = keys.notna() & resolved.isna()
        message = (
            f"{ref.name} '" + keys.fillna("") + "' has no HubSpot record (rejected by HubSpot, or "
            f"{ref.stream} not synced)"
        )
        reasons = reasons.mask(unresolved & reasons.isna(), message)
        frame[ref.property or ASSOC_PREFIX + ref.name] = resolved
    bad = reasons.notna() if strict else pd.Series(False, index=frame.index)
    rejected = [
        RejectedRow(stream.name, stream.object_type, key, reason)
        for key, reason in zip(frame.loc[bad, KEY], reasons[bad], strict=True)
    ]
    return frame[~bad].reset_index(drop=True), rejected


def normalise(values: pd.Series, kind: str) -> pd.Series:
    """Values in one canonical text form per HubSpot property type, for comparing ours with HubSpot's."""
    text = values.astype("string")
    text = text.mask(text == "")
    if kind == "number":
        return to_number_text(text)
    if kind in ("date", "datetime"):
        digits = text.str.fullmatch(r"-?\d+").fillna(False)
        as_ms = to_epoch_ms(text.mask(digits), date_only=kind == "date")
        return as_ms.mask(digits, text)
    if kind == "bool":
        return to_bool_text(text)
    return text


def plan_stream(
    stream: StreamMapping,
    frame: pd.DataFrame,
    existing: Mapping[str, Mapping[str, Any]],
    definitions: Iterable[Mapping[str, Any]],
    key_property: str,
) -> StreamPlan:
    """Compare resolved rows with the existing records (by lookup value) and sort them into writes.

    ``existing`` maps a lookup value to ``{"id", "properties"}`` as ``hook.batch_read`` returns it.
    """
    plan = StreamPlan()
    if frame.empty:
        return plan
    lookup = lookup_value(stream, frame)
    found = lookup.isin(list(existing))
    hubspot_ids = lookup.map({value: str(record["id"]) for value, record in existing.items()}).astype(
        "string"
    )
    properties = [name for name in stream.property_names if name in frame.columns]
    kinds = {
        name: definition.get("type", "string")
        for name, definition in definitions_by_name(definitions).items()
    }
    theirs = pd.DataFrame(
        [dict(existing[value].get("properties") or {}) for value in lookup[found]],
        index=frame.index[found],
        columns=properties,
    )
    changed = pd.DataFrame(False, index=frame.index[found], columns=properties)
    for name in properties:
        ours = normalise(frame.loc[found, name], kinds.get(name, "string"))
        current = normalise(theirs[name], kinds.get(name, "string"))
        changed[name] = (ours.notna() & (ours != current).fillna(True)).astype(bool)
    any_change = changed.any(axis=1)
    plan.existing_ids = dict(zip(frame.loc[found, KEY], hubspot_ids[found], strict=True))
    plan.unchanged = int((~any_change).sum())
    plan.create = _creates(stream, frame[~found], properties, key_property)
    changed_rows = frame.loc[any_change[any_change].index]
    for index, row in zip(changed_rows.index, changed_rows.to_dict("records"), strict=True):
        if stream.upsert_by:
            record = _record(row, properties, {}, {})
            record["id"] = row[stream.upsert_by]
        else:
            names = [name for name in properties if changed.at[index, name]]
            record = _record(row, names, {}, {})
            record["id"] = hubspot_ids[index]
        plan.update.append(record)
    return plan


def row_hashes(
    stream: StreamMapping, frame: pd.DataFrame, definitions: Iterable[Mapping[str, Any]]
) -> pd.Series:
    """Per row, a hash of what the sync writes for it: 16 hex digits for its property values in HubSpot's
    canonical form (a number's ``2.50`` and ``2.5`` hash alike), 16 for the records its links point to.
    Equal hashes: nothing to write; equal link halves: no link to add."""
    kinds = {name: d.get("type", "string") for name, d in definitions_by_name(definitions).items()}
    properties = [name for name in stream.property_names if name in frame.columns]
    links = [ASSOC_PREFIX + ref.name for ref in stream.references if ref.association]
    return _digest(frame, properties, kinds) + _digest(frame, links, kinds)


def _digest(frame: pd.DataFrame, columns: list[str], kinds: Mapping[str, str]) -> pd.Series:
    """16 hex digits of SHA-256 per row over the named columns' canonical values."""
    text = pd.Series("", index=frame.index, dtype="string")
    for name in columns:
        value = normalise(frame[name], kinds.get(name, "string")).fillna("\x00")
        text = text + name + "=" + value + "\x1f"
    return text.map(lambda row: hashlib.sha256(row.encode()).hexdigest()[:16]).astype("string")


def plan_from_state(
    stream: StreamMapping,
    frame: pd.DataFrame,
    known: Mapping[str, Known],
    hashes: pd.Series,
    key_property: str,
) -> StreamPlan:
    """Sort rows into writes by the sync state alone, with no request: a row whose hash the state holds is
    unchanged, a known row with another hash is updated by its known id (every property: which ones changed
    is not known), and a key the state never saw is created (the unique key property keeps that exactly
    once: a create HubSpot answers "already exists" is read back by the write task)."""
    plan = StreamPlan()
    keys = frame[KEY]
    known_ids = keys.map({key: k.hubspot_id for key, k in known.items()}).astype("string")
    in_state = known_ids.notna()
    known_hashes = keys.map({key: k.row_hash for key, k in known.items()}).astype("string")
    same = in_state & (known_hashes == hashes).fillna(False)
    moved = in_state & ~same & (known_hashes.str[16:] != hashes.str[16:]).fillna(True)
    plan.links_changed = set(keys[moved])
    plan.existing_ids = dict(zip(keys[in_state], known_ids[in_state], strict=True))
    plan.unchanged = int(same.sum())
    properties = [name for name in stream.property_names if name in frame.columns]
    plan.create = _creates(stream, frame[~in_state], properties, key_property)
    assoc_columns, associations = _association_columns(stream)
    for row, hubspot_id in zip(
        frame[in_state & ~same].to_dict("records"), known_ids[in_state & ~same], strict=True
    ):
        record = _record(row, properties, assoc_columns, associations)  # to recreate it if HubSpot lost it
        record["id"] = row[stream.upsert_by] if stream.upsert_by else hubspot_id
        plan.update.append(record)
    return plan


def _association_columns(stream: StreamMapping) -> tuple[dict[str, str], dict[str, int]]:
    """Per association reference: the frame column holding its target id, and its association type id."""
    references = [ref for ref in stream.references if ref.association]
    return {ref.name: ASSOC_PREFIX + ref.name for ref in references}, {
        ref.name: int(ref.association or 0) for ref in references
    }


def _creates(
    stream: StreamMapping, rows: pd.DataFrame, properties: list[str], key_property: str
) -> list[dict[str, Any]]:
    """Operator inputs creating ``rows``: their properties, links and identity."""
    assoc_columns, associations = _association_columns(stream)
    creates = []
    for row in rows.to_dict("records"):
        record = _record(row, properties, assoc_columns, associations)
        _identify(record, row, stream, key_property)
        creates.append(record)
    return creates


def _identify(
    record: dict[str, Any], row: Mapping[str, Any], stream: StreamMapping, key_property: str
) -> None:
    """A new record's identity: its upsert value (upsert streams), else its source key in the key property."""
    if stream.upsert_by:
        record["id"] = row[stream.upsert_by]
    else:
        record["properties"][key_property] = row[KEY]


def _record(
    row: Mapping[str, Any],
    properties: list[str],
    assoc_columns: Mapping[str, str],
    associations: Mapping[str, int],
) -> dict[str, Any]:
    """One operator input: the row's key, its present property values and its associations."""
    record: dict[str, Any] = {
        "key": row[KEY],
        "properties": {name: row[name] for name in properties if not pd.isna(row[name])},
    }
    links = [
        {"to_id": row[column], "type_id": associations[name]}
        for name, column in assoc_columns.items()
        if not pd.isna(row[column])
    ]
    if links:
        record["associations"] = links
    return record


def desired_links(
    stream: StreamMapping, frame: pd.DataFrame, existing_ids: Mapping[str, str], every_link: bool = False
) -> dict[str, list[Link]]:
    """Per association reference, the links the stream's existing records should have (creates carry
    theirs in the create request). A link named by the record's own key (a line's order) cannot change,
    so it is not checked, unless ``every_link``: the record it points to may have been recreated."""
    links: dict[str, list[Link]] = {}
    for ref in association_references(stream, every_link):
        targets = frame[ASSOC_PREFIX + ref.name]
        keep = frame[KEY].isin(list(existing_ids)) & targets.notna()
        links[ref.name] = [
            Link(key, existing_ids[key], to_id, ref.association)
            for key, to_id in zip(frame.loc[keep, KEY], targets[keep], strict=True)
        ]
    return links


def association_references(stream: StreamMapping, every_link: bool) -> list[Reference]:
    """The stream's association references: all of them, or only those whose target can change."""
    if every_link:
        return [ref for ref in stream.references if ref.association is not None]
    return changeable_references(stream)


def changeable_references(stream: StreamMapping) -> list[Reference]:
    """The stream's association references whose target can change: not one named by the record's own key
    (a line's order)."""
    return [
        ref
        for ref in stream.references
        if ref.association is not None and not template_columns(ref.key) <= template_columns(stream.key)
    ]


def missing_links(links: Iterable[Link], current: Mapping[str, set[str]]) -> list[Link]:
    """The links HubSpot does not have yet (``current``: from id -> associated ids)."""
    return [link for link in links if link.to_id not in current.get(link.from_id, set())]
