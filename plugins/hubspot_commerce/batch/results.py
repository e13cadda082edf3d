"""Fold HubSpot batch answers into per-record outcomes, matched by trace id or unique value, not position.

HubSpot returns results in arbitrary order, echoes ``objectWriteTraceId`` on results (per its spec) and on
errors (``context.objectWriteTraceId``), and may omit the echo on results: then the unique value the
record was written with (key property, upsert ``idProperty`` value, or record id for updates) decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hubspot_commerce.batch.records import Rejection, WriteSpec
from hubspot_commerce.batch.requests import PlannedInput
from hubspot_commerce.errors import error_message

_EMBEDDED_CODE = re.compile(r'"error"\s*:\s*"([A-Z_]+)"')


T = TypeVar("T")


class ValueIndex(Generic[T]):
    """Finds what a unique value names: exactly, else ignoring case (HubSpot lower-cases emails) when only
    one value matches that way. Keys ``A1`` and ``a1`` stay two records; they are never merged."""

    def __init__(self, items: Iterable[tuple[str, T]]) -> None:
        self.exact: dict[str, T] = {}
        self.folded: dict[str, T | None] = {}
        for value, item in items:
            self.exact[value] = item
            folded = value.casefold()
            self.folded[folded] = item if self.folded.get(folded, item) == item else None

    def get(self, value: Any) -> T | None:
        """The item ``value`` names, or None."""
        if value is None:
            return None
        text = str(value)
        return self.exact[text] if text in self.exact else self.folded.get(text.casefold())


@dataclass
class Landed:
    """A record HubSpot wrote: its id and whether it was created or updated."""

    hubspot_id: str
    created: bool


@dataclass
class FoldedBatch:
    """One batch answer, per source key: what landed, what HubSpot refused, what it did not mention."""

    landed: dict[str, Landed] = field(default_factory=dict)
    refused: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # key -> HubSpot's error item
    unmentioned: list[str] = field(default_factory=list)


def error_code(error: Mapping[str, Any]) -> str:
    """The most specific code in a HubSpot error: ``code``, the first detail's code, the code embedded in
    the message (``"error":"PROPERTY_DOESNT_EXIST"``), ``subCategory``, else the category."""
    if error.get("code"):
        return str(error["code"])
    for detail in error.get("errors") or []:
        if isinstance(detail, Mapping) and detail.get("code"):
            return str(detail["code"])
    match = _EMBEDDED_CODE.search(str(error.get("message", "")))
    if match:
        return match.group(1)
    coded = [name for name in _context(error) if name.isupper()]  # e.g. INVALID_OBJECT_IDS
    if coded:
        return coded[-1]
    return str(error.get("subCategory") or error.get("errorType") or error.get("category") or "UNKNOWN")


def _context(error: Mapping[str, Any]) -> dict[str, list]:
    """The error's context without the trace ids (which only say which input it was)."""
    context = error.get("context") or {}
    return (
        {k: v for k, v in context.items() if k != "objectWriteTraceId"}
        if isinstance(context, Mapping)
        else {}
    )


def rejection(key: str, error: Mapping[str, Any]) -> Rejection:
    """A Rejection carrying HubSpot's category, code and message (with its items' messages, which name a
    write validation rule, and the context's details) for ``key``."""
    message = error_message(error) or "no message"
    details = "; ".join(f"{name}: {', '.join(map(str, values))}" for name, values in _context(error).items())
    return Rejection(
        key=key,
        category=str(error.get("category") or error.get("errorType") or "UNKNOWN"),
        code=error_code(error),
        message=f"{message} ({details})" if details else message,
    )


def is_unique_clash(error: Mapping[str, Any], property_name: str) -> bool:
    """Whether HubSpot refused a write because another record already holds this unique property value.

    HubSpot's text: ``Cannot set PropertyValueCoordinates{..., propertyName=<p>, value=<v>} on <id>.
    <other id> already has that value.`` Some endpoints add ``errorType: UNIQUE_VALUE_CONFLICT`` with
    ``errorTokens.propertyName``.
    """
    message = str(error.get("message", ""))
    if "already has that value" in message and f"propertyName={property_name}," in message:
        return True
    tokens = error.get("errorTokens") or {}
    return error.get("errorType") == "UNIQUE_VALUE_CONFLICT" and property_name in (
        tokens.get("propertyName") or []
    )


def _match_value(planned: PlannedInput, spec: WriteSpec) -> tuple[str, str] | None:
    """(where, value) a result can be matched on when it carries no trace id."""
    body = planned.body
    if spec.is_create:
        return ("property", planned.key) if spec.key_property else None
    if body.get("idProperty"):
        return "property", str(body["id"])
    return "id", str(body["id"])


def fold_write(batch: Sequence[PlannedInput], body: Mapping[str, Any], spec: WriteSpec) -> FoldedBatch:
    """Per-key outcome of one 200/201/207 write answer."""
    by_trace = {p.trace_id: p for p in batch}
    matches = [(p, _match_value(p, spec)) for p in batch]
    by_property = ValueIndex((m[1], p) for p, m in matches if m is not None and m[0] == "property")
    by_id = ValueIndex((m[1], p) for p, m in matches if m is not None and m[0] == "id")
    value_property = spec.key_property if spec.is_create else spec.id_property
    folded = FoldedBatch()

    for result in body.get("results") or []:
        planned = by_trace.get(str(result.get("objectWriteTraceId")))
        if planned is None:
            properties = result.get("properties") or {}
            planned = by_property.get(properties.get(value_property) if value_property else None)
            planned = planned or by_id.get(result.get("id"))
        if planned is not None:
            created = spec.is_create or (spec.action == "upsert" and bool(result.get("new")))
            folded.landed[planned.key] = Landed(hubspot_id=str(result["id"]), created=created)

    for error in body.get("errors") or []:
        context = error.get("context") or {}
        keys = [by_trace[t].key for t in context.get("objectWriteTraceId") or [] if t in by_trace]
        if not keys:
            named = (by_property.get(i) or by_id.get(i) for i in context.get("ids") or [])
            keys = list(dict.fromkeys(p.key for p in named if p is not None))
        for key in keys:
            if key not in folded.landed:
                folded.refused[key] = error

    folded.unmentioned = [p.key for p in batch if p.key not in folded.landed and p.key not in folded.refused]
    return folded


def fold_read(body: Mapping[str, Any], wanted: Sequence[str], id_property: str | None) -> dict[str, dict]:
    """``{key: {"id", "properties", "createdAt"}}`` for the keys one batch/read found (missing keys absent).

    Matched on the ``id_property`` value in each result (exactly, else ignoring case when unambiguous:
    HubSpot lowercases emails), or on the record id when reading by id.
    """
    by_value = ValueIndex((str(k), k) for k in wanted)
    found: dict[str, dict] = {}
    for result in body.get("results") or []:
        properties = result.get("properties") or {}
        key = by_value.get(properties.get(id_property) if id_property else result.get("id"))
        if key is not None:
            found[key] = {
                "id": str(result["id"]),
                "properties": properties,
                "createdAt": result.get("createdAt"),
            }
    return found
