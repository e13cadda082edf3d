"""Property value rules: which values a property accepts and the string HubSpot stores for them.

Stored values are what HubSpot returns: strings. Numbers keep the exact string the client sent ("249.00" stays
"249.00"); JSON numbers become their shortest decimal form. Dates are stored as ``YYYY-MM-DD``, datetimes as
ISO-8601 UTC with milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from hubspot_sandbox.error_bodies import iso_from_ms, property_error
from hubspot_sandbox.schema import PropertyDef

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
EPOCH_MS = re.compile(r"^-?\d{1,15}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CANONICAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DAY_MS = 86_400_000


class PropertyProblem(Exception):
    """A value the property refuses; ``entry`` is HubSpot's per-property error object."""

    def __init__(self, name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.entry = property_error(name, code, message)


def check_writable(definition: PropertyDef) -> None:
    """Read-only and calculated properties refuse every write (HubSpot: READ_ONLY_VALUE)."""
    if definition.calculated:
        raise PropertyProblem(
            definition.name,
            "READ_ONLY_VALUE",
            f'"{definition.name}" is a calculated property; its value cannot be set.',
        )
    if definition.read_only:
        raise PropertyProblem(
            definition.name,
            "READ_ONLY_VALUE",
            f'"{definition.name}" is a read only property; its value cannot be set.',
        )


def normalize(definition: PropertyDef, raw: object) -> str:
    """The stored string for ``raw``, or PropertyProblem. An empty string (or null) clears the value."""
    if raw.__class__ is str:
        if raw == "" or definition.plain_text or raw in definition.option_values:
            return raw  # type: ignore[return-value]  # the common cases, kept fast
    elif raw is None:
        return ""
    elif isinstance(raw, dict | list):
        raise PropertyProblem(
            definition.name,
            "INVALID_PROPERTY_VALUE",
            f"{definition.name} must be a single value, not {type(raw).__name__}",
        )
    return NORMALIZERS[definition.type](definition, raw)


def _text(raw: object) -> str:
    """A JSON scalar as HubSpot writes it as a string."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw)) if abs(raw) < 1e15 else repr(raw)
    return str(raw)


def _string(definition: PropertyDef, raw: object) -> str:
    """A string value; emails are lower-cased and checked."""
    value = raw if raw.__class__ is str else _text(raw)
    if definition.name == "email":
        value = value.strip().lower()  # HubSpot lower-cases emails
        if not EMAIL.match(value):
            raise PropertyProblem(definition.name, "INVALID_EMAIL", f"Email address {value} is invalid")
    return value


def _number(definition: PropertyDef, raw: object) -> str:
    """A number value as the string sent (INVALID_INTEGER otherwise)."""
    if isinstance(raw, bool):
        raise PropertyProblem(definition.name, "INVALID_INTEGER", f"{_text(raw)} was not a valid number")
    if isinstance(raw, int | float):
        value = repr(raw) if isinstance(raw, float) else str(raw)
        if isinstance(raw, float) and (raw != raw or raw in (float("inf"), float("-inf"))):
            raise PropertyProblem(definition.name, "INVALID_INTEGER", f"{value} was not a valid number")
    else:
        value = str(raw)
        if not NUMBER.match(value):
            raise PropertyProblem(definition.name, "INVALID_INTEGER", f"{value} was not a valid number")
    if definition.non_negative and value.startswith("-") and float(value) != 0:
        # HubSpot documents the rule (a line item's price cannot be negative), not its error code.
        raise PropertyProblem(
            definition.name, "INVALID_PROPERTY_VALUE", f"{definition.name} cannot be negative"
        )
    return value


def _epoch_ms(raw: object) -> int | None:
    """Epoch milliseconds from an int or digit string, else None."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and EPOCH_MS.match(raw):
        return int(raw)
    return None


def _date(definition: PropertyDef, raw: object) -> str:
    """A date as YYYY-MM-DD (epoch ms at midnight UTC or YYYY-MM-DD in)."""
    epoch = _epoch_ms(raw)
    if epoch is not None:
        if epoch % DAY_MS:
            raise PropertyProblem(
                definition.name,
                "INVALID_DATE",
                f"{raw} is at {iso_from_ms(epoch)}, not midnight UTC; "
                f"a date property needs midnight UTC in epoch milliseconds",
            )
        return datetime.fromtimestamp(epoch / 1000, UTC).date().isoformat()
    text = str(raw)
    if ISO_DATE.match(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise PropertyProblem(
        definition.name,
        "INVALID_DATE",
        f"{text} is not a valid date (epoch milliseconds at midnight UTC or YYYY-MM-DD)",
    )


def _datetime(definition: PropertyDef, raw: object) -> str:
    """A datetime as ISO-8601 UTC with milliseconds (epoch ms or ISO-8601 in)."""
    epoch = _epoch_ms(raw)
    if epoch is not None:
        return iso_from_ms(epoch)
    text = str(raw)
    if len(text) >= 10 and text[:4].isdigit():
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and CANONICAL_DATETIME.match(text):
            return text  # already HubSpot's form (and a real moment)
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return iso_from_ms(moment.timestamp() * 1000)
    raise PropertyProblem(
        definition.name, "INVALID_DATE", f"{text} is not a valid datetime (epoch milliseconds or ISO-8601)"
    )


def _option(definition: PropertyDef, raw: object) -> str:
    """An enumeration or bool value that must be among the options (checkbox: each part)."""
    allowed = definition.option_values
    if raw in allowed:
        return raw  # type: ignore[return-value]
    value = _text(raw)
    values = value.split(";") if definition.field_type == "checkbox" else [value]
    for item in values:
        if item not in allowed:
            shown = ", ".join(sorted(allowed)) if len(allowed) <= 20 else f"{len(allowed)} options"
            raise PropertyProblem(
                definition.name, "INVALID_OPTION", f"{item} was not one of the allowed options: [{shown}]"
            )
    return value


NORMALIZERS: dict[str, Callable[[PropertyDef, object], str]] = {
    "string": _string,
    "number": _number,
    "date": _date,
    "datetime": _datetime,
    "enumeration": _option,
    "bool": _option,
}


def decimal_or_none(value: str | None) -> Decimal | None:
    """A stored number property as Decimal (for calculated properties), None when empty."""
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None
