"""A portal's admin-configured write validation rules, enforced on API writes from version ``2026-09`` on.

HubSpot's changelog "CRM API Write Validation Enforcement Starting with the 2026-09 API Version" names three
kinds: properties the Create Record form requires, conditionally required properties, and association
permissions (the Edit Associations permission of the user behind a user-level OAuth token). The create form
can also require associations. The control API sets them per object type (``PUT /_sandbox/rules/{type}``).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from hubspot_sandbox.error_bodies import ApiError, validation_error
from hubspot_sandbox.schema import ASSOCIATION_TYPES, OBJECTS_BY_KEY, ObjectType, PropertyDef

RULES_FROM = "2026-09"  # the first API version that enforces the rules
RULE_FIELDS = {"required_properties", "conditional_required", "required_associations", "denied_associations"}
CONDITION_FIELDS = {"when", "equals", "require"}


@dataclass(frozen=True)
class Conditional:
    """``require`` must have a value whenever property ``when`` equals ``equals``."""

    when: str
    equals: str
    require: str


@dataclass(frozen=True)
class ObjectRules:
    """The rules of one object type."""

    required_properties: tuple[str, ...] = ()  # the Create Record form's required fields
    conditional_required: tuple[Conditional, ...] = ()
    required_associations: tuple[str, ...] = ()  # object types a new record must be associated with
    denied_associations: tuple[str, ...] = ()  # object types the connecting user may not associate it with

    def to_json(self) -> dict:
        """The rules as the control API shows them (the same shape it accepts)."""
        return {
            "required_properties": list(self.required_properties),
            "conditional_required": [
                {"when": c.when, "equals": c.equals, "require": c.require} for c in self.conditional_required
            ],
            "required_associations": list(self.required_associations),
            "denied_associations": list(self.denied_associations),
        }


def parse_rules(obj: ObjectType, body: Any, definitions: Mapping[str, PropertyDef]) -> ObjectRules:
    """Rules from a control API body; ValueError names the first thing wrong with it."""
    if not isinstance(body, dict) or not body.keys() <= RULE_FIELDS:
        raise ValueError(f"rules are an object with any of {sorted(RULE_FIELDS)}")
    conditions = []
    for item in _strings_or_objects(body, "conditional_required"):
        if not isinstance(item, dict) or item.keys() != CONDITION_FIELDS:
            raise ValueError(f"each conditional_required entry needs exactly {sorted(CONDITION_FIELDS)}")
        _known(definitions, obj, [item["when"], item["require"]])
        conditions.append(Conditional(item["when"], str(item["equals"]), item["require"]))
    required = _strings_or_objects(body, "required_properties")
    _known(definitions, obj, required)
    return ObjectRules(
        tuple(required),
        tuple(conditions),
        _targets(obj, _strings_or_objects(body, "required_associations")),
        _targets(obj, _strings_or_objects(body, "denied_associations")),
    )


def _strings_or_objects(body: dict, name: str) -> list:
    """A list field of a rules body (empty when absent)."""
    value = body.get(name, [])
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list")
    return value


def _known(definitions: Mapping[str, PropertyDef], obj: ObjectType, names: list) -> None:
    """ValueError unless every name is a property of the object type."""
    for name in names:
        if not isinstance(name, str) or name not in definitions:
            raise ValueError(f"{name!r} is not a property of {obj.name}")


def _targets(obj: ObjectType, keys: list) -> tuple[str, ...]:
    """Object type names (``contacts``, ``0-1``...) that ``obj`` has association types with."""
    names = []
    for key in keys:
        other = OBJECTS_BY_KEY.get(key) if isinstance(key, str) else None
        if other is None or not any(
            {d.from_type, d.to_type} == {obj.name, other.name} for d in ASSOCIATION_TYPES.values()
        ):
            raise ValueError(f"{key!r} is not an object type {obj.name} can be associated with")
        names.append(other.name)
    return tuple(names)


class ValidationRules:
    """The portal's rules per object type; ``check`` gives the view one 2026-09 write enforces."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, ObjectRules] = {}

    def set(self, obj: ObjectType, rules: ObjectRules) -> None:
        """Replace the rules of one object type."""
        with self._lock:
            self._rules = {**self._rules, obj.name: rules}

    def clear(self) -> None:
        """Drop every rule."""
        with self._lock:
            self._rules = {}

    def snapshot(self) -> dict[str, dict]:
        """The rules per object type, as the control API shows them."""
        with self._lock:
            return {name: rules.to_json() for name, rules in self._rules.items()}

    def check(self, *, user_level: bool) -> RuleCheck:
        """The rules for one write; association permissions bind user-level OAuth tokens only."""
        with self._lock:
            return RuleCheck(self._rules, user_level=user_level)


class RuleCheck:
    """Checks one write against the rules; each failure is HubSpot's 400 ``VALIDATION_ERROR`` for it."""

    def __init__(self, rules: Mapping[str, ObjectRules], *, user_level: bool) -> None:
        self._rules = rules
        self._user_level = user_level

    def on_create(self, obj: ObjectType, values: Mapping[str, str], linked_types: Collection[str]) -> None:
        """A new record: the create form's properties and associations, and the conditional rules."""
        rules = self._rules.get(obj.name)
        if rules is None:
            return
        problems = [
            _problem("MISSING_REQUIRED_PROPERTY", name, f"A value for {name} must be provided")
            for name in rules.required_properties
            if not values.get(name)
        ]
        problems += _conditional_problems(rules, values)
        if problems:
            raise validation_error("The property values provided are invalid", errors=problems)
        absent = [name for name in rules.required_associations if name not in linked_types]
        if absent:
            # HubSpot documents that the create form's requirements apply, not this error's shape.
            raise validation_error(
                "One or more required associations are missing",
                errors=[
                    {
                        "code": "MISSING_REQUIRED_ASSOCIATION",
                        "message": f"An association to {OBJECTS_BY_KEY[name].legacy_name} must be provided",
                        "context": {"toObjectTypeId": [OBJECTS_BY_KEY[name].type_id]},
                    }
                    for name in absent
                ],
            )

    def on_update(self, obj: ObjectType, values: Mapping[str, str]) -> None:
        """An update: the conditional rules, checked on the record as it would be after the write."""
        rules = self._rules.get(obj.name)
        problems = _conditional_problems(rules, values) if rules is not None else []
        if problems:
            raise validation_error("The property values provided are invalid", errors=problems)

    def on_association(self, from_type: str, to_type: str) -> None:
        """A new link: refused, in either direction, when the connecting user may not edit it."""
        if not self._user_level:
            return
        for one, other in ((from_type, to_type), (to_type, from_type)):
            rules = self._rules.get(one)
            if rules is not None and other in rules.denied_associations:
                raise ApiError(400, "VALIDATION_ERROR", "Missing 'Edit Associations' permission.")


def _conditional_problems(rules: ObjectRules, values: Mapping[str, str]) -> list[dict]:
    """The conditional rules whose trigger value is set while the required property is not."""
    return [
        _problem(
            "MISSING_CONDITIONAL_REQUIRED_PROPERTY",
            rule.require,
            f"{rule.require} is required because of a conditional property rule based on [{rule.when}]",
        )
        for rule in rules.conditional_required
        if values.get(rule.when) == rule.equals and not values.get(rule.require)
    ]


def _problem(code: str, name: str, message: str) -> dict:
    """One ``errors`` entry, as HubSpot's changelog shows them."""
    return {"code": code, "message": message, "context": {"propertyName": [name]}}
