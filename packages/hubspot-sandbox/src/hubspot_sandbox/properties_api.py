"""HubSpot's properties API (``/crm/v3/properties/{objectType}`` and its date-versioned twins): definitions
and custom properties."""

from __future__ import annotations

import re
from typing import Any

from hubspot_sandbox.api_versions import Dialect
from hubspot_sandbox.error_bodies import ApiError, iso_now, malformed, validation_error
from hubspot_sandbox.schema import BOOL_OPTIONS, VALID_FIELD_TYPES, ObjectType, PropertyDef
from hubspot_sandbox.store import Store

NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
REQUIRED_FIELDS = ("name", "label", "type", "fieldType", "groupName")
OPTIONAL_FIELDS = {
    "description",
    "options",
    "displayOrder",
    "hasUniqueValue",
    "hidden",
    "formField",
    "calculationFormula",
    "externalOptions",
    "referencedObjectType",
    "dataSensitivity",
    "currencyPropertyName",
    "showCurrencySymbol",
    "numberDisplayHint",
}
MAX_UNIQUE = 10  # "You can have up to ten unique ID properties per object"
# Fields the 2026-09 PropertyCreate schema no longer has (HubSpot's 2026-09 properties spec).
DROPPED_IN_2026_09 = {"currencyPropertyName", "showCurrencySymbol", "numberDisplayHint"}
NUMBERED = Dialect()


class PropertiesApi:
    """Property definitions per object type: the defaults plus the portal's custom properties."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self, obj: ObjectType) -> tuple[int, dict]:
        """Every property of an object type."""
        return 200, {"results": [d.to_json() for d in self.store.definitions(obj).values()]}

    def get(self, obj: ObjectType, name: str) -> tuple[int, dict]:
        """One property, or 404."""
        definition = self.store.definitions(obj).get(name)
        if definition is None:
            raise ApiError(
                404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for object type {obj.type_id}"
            )
        return 200, definition.to_json()

    def create(self, obj: ObjectType, body: Any, dialect: Dialect = NUMBERED) -> tuple[int, dict]:
        """``POST .../properties/{obj}``: 201 with the new definition."""
        allowed = OPTIONAL_FIELDS - DROPPED_IN_2026_09 if dialect.at_least("2026-09") else OPTIONAL_FIELDS
        definition = self._definition(obj, body, allowed)
        with self.store.lock:
            if definition.name in self.store.definitions(obj):
                raise ApiError(
                    409, "OBJECT_ALREADY_EXISTS", f"Property named '{definition.name}' already exists."
                )
            if definition.unique:
                unique = [d for d in self.store.custom[obj.name].values() if d.unique]
                if len(unique) >= MAX_UNIQUE:
                    raise validation_error(
                        f"Object type {obj.type_id} already has {MAX_UNIQUE} unique value properties"
                    )
            self.store.add_property(obj, definition)
        return 201, definition.to_json()

    @staticmethod
    def _definition(obj: ObjectType, body: Any, allowed: set[str]) -> PropertyDef:
        """A custom property definition from a create body (whole-request 400s for what HubSpot refuses)."""
        if not isinstance(body, dict):
            raise malformed("the body must be a JSON object")
        for key in body:
            if key not in REQUIRED_FIELDS and key not in allowed:
                raise malformed(f'Unrecognized field "{key}"')
        absent = [key for key in REQUIRED_FIELDS if not isinstance(body.get(key), str) or not body[key]]
        if absent:
            raise malformed(f"Cannot build PropertyCreate, some of required attributes are not set {absent}")
        name, type_, field_type = body["name"], body["type"], body["fieldType"]
        if not NAME.match(name):
            raise validation_error(
                f"Property name {name!r} is invalid: use lower-case letters, digits and underscores, "
                f"starting with a letter"
            )
        if type_ not in VALID_FIELD_TYPES:
            raise validation_error(
                f"{type_} is not a valid property type. Valid: {sorted(VALID_FIELD_TYPES)}"
            )
        if field_type not in VALID_FIELD_TYPES[type_]:
            raise validation_error(
                f"fieldType {field_type} is not valid for type {type_}. "
                f"Valid: {sorted(VALID_FIELD_TYPES[type_])}"
            )
        options = PropertiesApi._options(type_, body.get("options"))
        unique = body.get("hasUniqueValue", False)
        if not isinstance(unique, bool):
            raise malformed('"hasUniqueValue" must be a boolean')
        if unique and type_ not in ("string", "number"):
            raise validation_error(
                f"hasUniqueValue is only allowed on string and number properties, not {type_}"
            )
        return PropertyDef(
            name=name,
            type=type_,
            label=body["label"],
            group=body["groupName"],
            options=options,
            unique=unique,
            hubspot_defined=False,
            field_type=field_type,
            description=str(body.get("description") or ""),
            created_at=iso_now(),
        )

    @staticmethod
    def _options(type_: str, raw: Any) -> tuple[tuple[str, str], ...]:
        """The options of a new property: required for enumerations, Yes/No for bools, none otherwise."""
        if type_ == "bool":
            return BOOL_OPTIONS
        if type_ != "enumeration":
            if raw:
                raise validation_error(f"options are only allowed on enumeration properties, not {type_}")
            return ()
        if not isinstance(raw, list) or not raw:
            raise validation_error("An enumeration property needs at least one option")
        options = []
        for option in raw:
            if (
                not isinstance(option, dict)
                or not isinstance(option.get("value"), str)
                or not isinstance(option.get("label"), str)
            ):
                raise validation_error("Each option needs a string label and value")
            options.append((option["value"], option["label"]))
        if len({value for value, _ in options}) != len(options):
            raise validation_error("Option values must be unique")
        return tuple(options)
