"""HubSpot's CRM object types as this package knows them, in one catalog: names, type ids, scopes,
association types, pipelines and value rules. Supporting another object type (quotes, invoices) starts here.

The facts are HubSpot's (its object guides, its association type table, the default pipelines every portal
has). The sandbox keeps its own copy on purpose; ``tests/test_objects.py`` compares the two.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LEGACY_ECOMMERCE_SCOPE = "e-commerce"  # the scope HubSpot granted before the per-object ones


@dataclass(frozen=True)
class Pipeline:
    """A pipeline HubSpot creates in every portal: its id, label, and its stages as (stage id, label)."""

    id: str
    label: str
    stages: tuple[tuple[str, str], ...]

    def stage_ids(self) -> dict[str, str]:
        """The stage ids by lower-cased label (``shipped`` -> its id)."""
        return {label.lower(): stage_id for stage_id, label in self.stages}


@dataclass(frozen=True)
class ValueRules:
    """Rules HubSpot applies to an object's values beyond each property's type (from its object guides)."""

    emails: frozenset[str] = frozenset()  # properties whose value must be an email address
    non_negative: frozenset[str] = frozenset()  # number properties that cannot be negative


NO_RULES = ValueRules()


@dataclass(frozen=True)
class ObjectType:
    """A CRM object type: path name, type id, scope name (``crm.objects.<scope>.read``, ``.write``,
    ``crm.schemas.<scope>.write``), whether ``e-commerce`` covers its records, pipelines and value rules."""

    name: str
    type_id: str
    scope: str
    legacy_ecommerce: bool = False
    pipelines: tuple[Pipeline, ...] = ()
    rules: ValueRules = NO_RULES


@dataclass(frozen=True)
class AssociationType:
    """A HUBSPOT_DEFINED association type in one direction, and the type of the other direction."""

    type_id: int
    from_type: str
    to_type: str
    reverse_id: int
    label: str | None = None


# The default Order Pipeline: include/mappings/commerce.yaml names it and sends an order's status as one of
# its stage labels, which the sync turns into the stage's id.
ORDER_PIPELINE = Pipeline(
    "14a2e10e-5471-408a-906e-c51f3b04369e",
    "Order Pipeline",
    (
        ("4b27b500-f031-4927-9811-68a0b525cbae", "Open"),
        ("937ea84d-0a4f-4dcf-9028-3f9c2aafbf03", "Processed"),
        ("aa99e8d0-c1d5-4071-b915-d240bbb1aed9", "Shipped"),
        ("3725360f-519b-4b18-a593-494d60a29c9f", "Delivered"),
        ("3c85a297-e9ce-400b-b42e-9f16853d69d6", "Cancelled"),
    ),
)

OBJECT_TYPES: tuple[ObjectType, ...] = (
    ObjectType("products", "0-7", "products", legacy_ecommerce=True),
    ObjectType("contacts", "0-1", "contacts", rules=ValueRules(emails=frozenset({"email"}))),
    ObjectType("orders", "0-123", "orders", pipelines=(ORDER_PIPELINE,)),
    ObjectType(
        "line_items",
        "0-8",
        "line_items",
        legacy_ecommerce=True,
        rules=ValueRules(non_negative=frozenset({"price"})),
    ),
    ObjectType("carts", "0-142", "carts"),
    ObjectType("commerce_payments", "0-101", "commercepayments"),
    # Types commerce records are associated with; the sync writes none of them.
    ObjectType("companies", "0-2", "companies"),
    ObjectType("deals", "0-3", "deals"),
    ObjectType("quotes", "0-14", "quotes"),
    ObjectType("invoices", "0-53", "invoices"),
)
OBJECTS: dict[str, ObjectType] = {object_type.name: object_type for object_type in OBJECT_TYPES}


def _both_directions(rows: Iterable[tuple]) -> tuple[AssociationType, ...]:
    """Both directions of each (from, to, forward id, reverse id[, label]) row."""
    return tuple(
        association
        for from_type, to_type, forward, reverse, *label in rows
        for association in (
            AssociationType(forward, from_type, to_type, reverse, *label),
            AssociationType(reverse, to_type, from_type, forward, *label),
        )
    )


# HubSpot's association types between the commerce objects and towards the types they are linked to (rows
# whose reverse id is documented). Products have none: a line item names its product in hs_product_id.
ASSOCIATION_TYPES: tuple[AssociationType, ...] = _both_directions(
    (
        ("orders", "line_items", 513, 514),
        ("orders", "contacts", 507, 508),
        ("orders", "carts", 593, 592),
        ("orders", "commerce_payments", 523, 524),
        ("orders", "companies", 934, 935),
        ("orders", "companies", 509, 510, "Primary"),
        ("orders", "deals", 512, 511),
        ("orders", "invoices", 518, 517),
        ("carts", "line_items", 590, 591),
        ("carts", "contacts", 586, 587),
        ("carts", "deals", 1347, 1346),
        ("commerce_payments", "contacts", 387, 388),
        ("commerce_payments", "line_items", 395, 396),
        ("commerce_payments", "companies", 389, 390),
        ("commerce_payments", "deals", 391, 392),
        ("commerce_payments", "invoices", 542, 541),
        ("line_items", "deals", 20, 19),
        ("line_items", "quotes", 68, 67),
        ("line_items", "invoices", 410, 409),
    )
)
_UNLABELLED = {(a.from_type, a.to_type): a.type_id for a in ASSOCIATION_TYPES if a.label is None}


def association_type_id(from_type: str, to_type: str) -> int:
    """The unlabelled HUBSPOT_DEFINED association type from one object type to another (KeyError if none)."""
    return _UNLABELLED[(from_type, to_type)]


def value_rules(object_type: str) -> ValueRules:
    """The value rules of an object type; none for a type the catalog does not know (a custom object)."""
    known = OBJECTS.get(object_type)
    return known.rules if known else NO_RULES


def missing_scopes(
    granted: set[str], read: Iterable[str], write: Iterable[str], new_properties: Iterable[str]
) -> list[str]:
    """The scopes a run needs and the token lacks: read of every object type it reads, write of every
    one it writes, schema write where it creates a property (``e-commerce`` covers products and line
    items)."""
    needed = [
        *((object_type, "objects", "read") for object_type in sorted(set(read))),
        *((object_type, "objects", "write") for object_type in sorted(set(write))),
        *((object_type, "schemas", "write") for object_type in sorted(set(new_properties))),
    ]
    missing: list[str] = []
    for object_type, kind, access in needed:
        known = OBJECTS.get(object_type)
        scope = f"crm.{kind}.{known.scope if known else object_type}.{access}"
        covered = kind == "objects" and known is not None and known.legacy_ecommerce
        legacy = covered and LEGACY_ECOMMERCE_SCOPE in granted
        if scope not in granted and not legacy and scope not in missing:
            missing.append(scope)
    return missing


# How a message groups scopes, by prefix: a record scope reads or writes records, a schema scope creates
# properties; another scope (``e-commerce``) goes under its own name.
SCOPE_GROUPS = (("records", "crm.objects."), ("schemas", "crm.schemas."))


def describe_scopes(scopes: Iterable[str]) -> str:
    """Scopes counted once and grouped for one line of a message, e.g. ``3 scopes: records
    crm.objects.orders.read, crm.objects.orders.write; schemas crm.schemas.orders.write``."""
    unique = sorted(set(scopes))
    groups: dict[str, list[str]] = {}
    for scope in unique:
        group = next((name for name, prefix in SCOPE_GROUPS if scope.startswith(prefix)), "other")
        groups.setdefault(group, []).append(scope)
    order = [name for name, _ in SCOPE_GROUPS] + ["other"]
    listed = "; ".join(f"{name} {', '.join(groups[name])}" for name in order if name in groups)
    return f"{len(unique)} scope{'' if len(unique) == 1 else 's'}: {listed}"
