"""The mapping YAML (``include/mappings/commerce.yaml``) and the vectorised conversion of rows to values.

``map_stream`` turns one DataFrame of source rows into a DataFrame of HubSpot property values as strings
(pandas ``string`` dtype, ``<NA>`` where the value is missing and must not be sent), plus the row's source key
and the source keys of the records it refers to. Conversions work on whole columns, never row by row, and each
value's text depends on that value alone, so a stream mapped a chunk at a time maps as it would at once.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from hubspot_commerce.client.crm_properties import key_property_definition
from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.sync.resources import include_path

KEY = "key"
REF_PREFIX = "ref:"
PROPERTY_TYPES = ("string", "number", "date", "datetime", "bool")
STREAM_KEYS = {
    "object_type", "sql", "key", "properties", "references", "upsert_by", "max_rejected_fraction", "mirror",
    "deleted_column",
}  # fmt: skip
TRUE_TEXT = {"true", "t", "yes", "y", "1", "1.0"}
FALSE_TEXT = {"false", "f", "no", "n", "0", "0.0"}


@dataclass(frozen=True)
class PropertyRule:
    """How one HubSpot property gets its value from a source row."""

    name: str
    column: str | None = None
    value: str | None = None
    template: str | None = None
    type: str = "string"
    values: dict[str, str] | None = None
    lowercase: bool = False
    required: bool = False


@dataclass(frozen=True)
class Reference:
    """A link from a row to a record of an earlier stream: an association, or a property holding its id."""

    name: str
    stream: str
    key: str
    association: int | None = None
    property: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class StreamMapping:
    """One source query written to one HubSpot object type."""

    name: str
    object_type: str
    sql: str
    key: str
    properties: tuple[PropertyRule, ...]
    references: tuple[Reference, ...] = ()
    upsert_by: str | None = None
    max_rejected_fraction: float | None = None  # None: the run's ``max_rejected_fraction`` Param
    mirror: bool = False  # archive what the source deleted, unlink what it no longer links
    deleted_column: str | None = None  # a soft-delete column: a row with a value in it is deleted

    @property
    def property_names(self) -> list[str]:
        """Every HubSpot property this stream writes, including ids set from references."""
        return [rule.name for rule in self.properties] + [
            ref.property for ref in self.references if ref.property
        ]


@dataclass(frozen=True)
class KeyProperty:
    """The unique custom property that holds the source key of every record the sync creates."""

    name: str
    label: str
    description: str = ""

    def definition(self) -> dict[str, Any]:
        """The properties-API body that creates it (unique, so HubSpot itself refuses a duplicate create)."""
        return key_property_definition(self.name, self.label, self.description)


@dataclass(frozen=True)
class SyncMapping:
    """The whole mapping: the key property, the streams in sync order, and the folder of their SQL files."""

    key_property: KeyProperty
    streams: dict[str, StreamMapping] = field(default_factory=dict)
    sql_dir: Path = field(default_factory=lambda: include_path("sql"))

    @property
    def object_types(self) -> set[str]:
        """Every object type the streams write."""
        return {stream.object_type for stream in self.streams.values()}

    @property
    def keyed_object_types(self) -> list[str]:
        """Object types the sync creates (not upserts): they need the unique source-key property."""
        return sorted({stream.object_type for stream in self.streams.values() if not stream.upsert_by})


def default_mapping_path() -> Path:
    return include_path("mappings", "commerce.yaml")


def load_mapping(path: str | Path | None = None, sql_dir: str | Path | None = None) -> SyncMapping:
    """Read and check a mapping file and the SQL files it names (``sql_dir``, default ``include/sql``); a
    mistake raises ``SyncConfigurationError`` naming the stream, property or file."""
    raw = yaml.safe_load(Path(path or default_mapping_path()).read_text())
    sql_folder = Path(sql_dir) if sql_dir else include_path("sql")
    key_property = KeyProperty(**raw["key_property"])
    streams: dict[str, StreamMapping] = {}
    for name, spec in raw["streams"].items():
        streams[name] = _stream_mapping(name, spec, streams, sql_folder)
    check_mirror(streams)
    return SyncMapping(key_property=key_property, streams=streams, sql_dir=sql_folder)


def _references(
    name: str, spec: Mapping[str, Any], earlier: Mapping[str, StreamMapping]
) -> tuple[Reference, ...]:
    """A stream's references, each to an earlier stream, by exactly one of association and property."""
    references = tuple(
        Reference(name=ref, **_check_keys(f"stream {name}: reference {ref}", rule, _fields(Reference)))
        for ref, rule in (spec.get("references") or {}).items()
    )
    for ref in references:
        if ref.stream not in earlier:
            raise SyncConfigurationError(
                f"stream {name}: reference {ref.name} names {ref.stream!r}, not an earlier stream"
            )
        if (ref.association is None) == (ref.property is None):
            raise SyncConfigurationError(
                f"stream {name}: reference {ref.name} needs exactly one of association, property"
            )
    return references


def _stream_mapping(
    name: str, spec: Mapping[str, Any], earlier: Mapping[str, StreamMapping], sql_folder: Path
) -> StreamMapping:
    """One stream of the mapping file, checked against the streams before it and the SQL folder."""
    _check_keys(f"stream {name}", spec, STREAM_KEYS)
    properties = tuple(
        _property_rule(name, prop, rule) for prop, rule in (spec.get("properties") or {}).items()
    )
    references = _references(name, spec, earlier)
    upsert_by = spec.get("upsert_by")
    if upsert_by and upsert_by not in {rule.name for rule in properties}:
        raise SyncConfigurationError(f"stream {name}: upsert_by {upsert_by!r} is not one of its properties")
    if upsert_by and any(ref.association is not None for ref in references):
        raise SyncConfigurationError(
            f"stream {name}: an upsert_by stream cannot have association references "
            "(HubSpot's batch/upsert takes no associations)"
        )
    if not (sql_folder / f"{spec['sql']}.sql").is_file():
        raise SyncConfigurationError(f"stream {name}: SQL file {sql_folder / spec['sql']}.sql does not exist")
    return StreamMapping(
        name=name,
        object_type=spec["object_type"],
        sql=spec["sql"],
        key=spec["key"],
        properties=properties,
        references=references,
        upsert_by=upsert_by,
        max_rejected_fraction=spec.get("max_rejected_fraction"),
        mirror=bool(spec.get("mirror", False)),
        deleted_column=spec.get("deleted_column"),
    )


def check_mirror(streams: Mapping[str, StreamMapping]) -> None:
    """Mirror mode archives records by their source key, so it needs records the sync created (not
    upserted: an upserted contact may belong to others) whose keys tell the stream apart from the other
    streams of its object type (``order:{...}`` and ``cart:{...}``)."""
    for name, stream in streams.items():
        if stream.deleted_column and not stream.mirror:
            raise SyncConfigurationError(f"stream {name}: deleted_column needs mirror: true")
        if not stream.mirror:
            continue
        if stream.upsert_by:
            raise SyncConfigurationError(
                f"stream {name}: mirror needs records the sync created; an upsert_by stream writes records "
                "others may own, so it cannot mirror"
            )
        ours = key_prefix(stream.key)
        for other in streams.values():
            if other.name == name or other.object_type != stream.object_type:
                continue
            theirs = key_prefix(other.key)
            if not ours or not theirs or ours.startswith(theirs) or theirs.startswith(ours):
                raise SyncConfigurationError(
                    f"stream {name}: mirror needs keys that tell it apart from stream {other.name} (both "
                    f"write {stream.object_type}): start each key with its own text (order:{{order_id}})"
                )


def key_prefix(template: str) -> str:
    """The literal text a key template starts with (``order:`` of ``order:{order_id}:{line_number}``)."""
    return next(string.Formatter().parse(template), ("",))[0]


def key_pattern(template: str) -> re.Pattern[str]:
    """A pattern whose full match is exactly the keys a key template can make (a field: any text)."""
    parsed = string.Formatter().parse(template)
    return re.compile("".join(re.escape(text) + (".+" if field else "") for text, field, *_ in parsed))


def _fields(cls: type) -> set[str]:
    """The keys a mapping entry of this kind may have: the dataclass's fields but its name."""
    return {item.name for item in fields(cls)} - {"name"}


def _check_keys(where: str, entry: Any, allowed: set[str]) -> dict[str, Any]:
    """The entry itself, if it is a mapping of allowed keys only; else a ``ValueError`` naming the place, the
    unknown keys and the allowed ones (a typo would otherwise be a bare ``TypeError``)."""
    if not isinstance(entry, dict):
        raise SyncConfigurationError(
            f"{where}: expected a mapping of {', '.join(sorted(allowed))}, got {entry!r}"
        )
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise SyncConfigurationError(
            f"{where}: unknown key {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return entry


def _property_rule(stream: str, name: str, rule: dict[str, Any]) -> PropertyRule:
    _check_keys(f"stream {stream}: property {name}", rule, _fields(PropertyRule))
    sources = [source for source in ("column", "value", "template") if source in rule]
    if len(sources) != 1:
        raise SyncConfigurationError(
            f"stream {stream}: property {name} needs exactly one of column, value, template"
        )
    if rule.get("type", "string") not in PROPERTY_TYPES:
        raise SyncConfigurationError(
            f"stream {stream}: property {name} has type {rule['type']!r}; use one of {PROPERTY_TYPES}"
        )
    values = rule.get("values")
    return PropertyRule(
        name=name,
        **{
            **rule,
            "values": {str(k): str(v) for k, v in values.items()} if values else None,
            "value": None if rule.get("value") is None else str(rule["value"]),
        },
    )


def as_text(series: pd.Series) -> pd.Series:
    """Source values as text, each by itself (a chunk of rows reads as it would among all the rows):
    integers and whole floats without a decimal point, other floats in their shortest exact form."""
    if pd.api.types.is_float_dtype(series):
        numbers = series.astype("Float64")
        whole = ((numbers % 1 == 0) & (numbers.abs() < 2**63)).fillna(False)
        return series.astype("string").mask(whole, numbers.where(whole).astype("Int64").astype("string"))
    if pd.api.types.is_bool_dtype(series):
        return series.astype("string").str.lower()
    return series.astype("string")


def format_template(frame: pd.DataFrame, template: str) -> pd.Series:
    """Fill ``{column}`` fields from each row (vectorised); ``<NA>`` where any field is missing or blank."""
    result = pd.Series("", index=frame.index, dtype="string")
    for literal, column, _, _ in string.Formatter().parse(template):
        result = result + literal
        if column is not None:
            if column not in frame.columns:
                raise SyncConfigurationError(
                    f"template {template!r} names column {column!r}, which the query does not return"
                )
            text = as_text(frame[column]).str.strip()
            result = result + text.mask(text == "")
    return result


def template_columns(template: str) -> set[str]:
    """The ``{column}`` names a template uses."""
    return {column for _, column, _, _ in string.Formatter().parse(template) if column}


def to_number_text(series: pd.Series) -> pd.Series:
    """Exact decimal strings, as HubSpot shows numbers: no float artefacts, no exponent, no trailing zeros.

    Text that is not a number is passed through unchanged so that validation can reject its row by name.
    """
    text = as_text(series).str.strip()
    exponent = text.str.contains(r"[eE]", na=False)
    if exponent.any():
        text = text.mask(exponent, text[exponent].map(_expand_exponent))
    text = text.str.replace(r"^(-?\d+)\.0*$", r"\1", regex=True)
    text = text.str.replace(r"^(-?\d+\.\d*?)0+$", r"\1", regex=True)
    return text.str.replace(r"^-0$", "0", regex=True)


def _expand_exponent(value: str) -> str:
    try:
        return format(Decimal(value), "f")
    except InvalidOperation:
        return value


def to_epoch_ms(series: pd.Series, date_only: bool) -> pd.Series:
    """Timestamps (UTC unless they say otherwise) as epoch milliseconds; dates are truncated to midnight UTC.

    Unparseable values become the text ``invalid:<value>`` so that validation rejects their row by name.
    Numbers are parsed as text, so they are invalid too: pandas would read them as nanoseconds since 1970,
    and whether a source meant seconds or milliseconds cannot be known.
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        series = as_text(series)
    parsed = pd.to_datetime(series, utc=True, errors="coerce", format="mixed")
    if date_only:
        parsed = parsed.dt.normalize()
    millis = parsed.dt.as_unit("ms").astype("int64").astype("string").mask(parsed.isna())
    bad = parsed.isna() & series.notna()
    return millis.mask(bad, "invalid:" + as_text(series[bad]))


def to_bool_text(series: pd.Series) -> pd.Series:
    """``true``/``false`` from booleans, 0/1 and yes/no; anything else is left for validation."""
    text = as_text(series).str.strip().str.lower()
    text = text.mask(text.isin(TRUE_TEXT), "true")
    return text.mask(text.isin(FALSE_TEXT), "false")


def convert_property(frame: pd.DataFrame, rule: PropertyRule) -> pd.Series:
    """One property's HubSpot values for every row of ``frame``."""
    if rule.value is not None:
        raw = pd.Series(rule.value, index=frame.index, dtype="string")
    elif rule.template is not None:
        raw = format_template(frame, rule.template)
    else:
        if rule.column not in frame.columns:
            raise SyncConfigurationError(
                f"property {rule.name} maps column {rule.column!r}, which the query does not return"
            )
        raw = frame[rule.column]
    if rule.type == "number":
        text = to_number_text(raw)
    elif rule.type in ("date", "datetime"):
        text = to_epoch_ms(raw, date_only=rule.type == "date")
    elif rule.type == "bool":
        text = to_bool_text(raw)
    else:
        text = as_text(raw)
        text = text.mask(text.str.strip() == "")
    if rule.lowercase:
        text = text.str.lower()
    if rule.values is not None:  # listed values are translated; the rest pass on, checked against the options
        text = text.map(rule.values).astype("string").fillna(text)
    return text


def map_stream(frame: pd.DataFrame, stream: StreamMapping) -> pd.DataFrame:
    """Source rows -> one row per record: ``key``, one column per property, ``ref:<name>`` per reference."""
    columns = {KEY: format_template(frame, stream.key)}
    for rule in stream.properties:
        columns[rule.name] = convert_property(frame, rule)
    for ref in stream.references:
        columns[REF_PREFIX + ref.name] = format_template(frame, ref.key)
    return pd.DataFrame(columns, index=frame.index).reset_index(drop=True)
