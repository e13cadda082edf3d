"""The object catalog: its lookups, the scopes a run needs, and its facts against the sandbox's own copy."""

from __future__ import annotations

import pytest

from hubspot_commerce.objects import (
    ASSOCIATION_TYPES,
    NO_RULES,
    OBJECT_TYPES,
    OBJECTS,
    ORDER_PIPELINE,
    association_type_id,
    describe_scopes,
    missing_scopes,
    value_rules,
)
from hubspot_commerce.sync.mapping import load_mapping
from hubspot_sandbox import schema as sandbox
from hubspot_sandbox.pipelines_api import PIPELINES as SANDBOX_PIPELINES
from hubspot_sandbox.router import LEGACY_SCOPES as SANDBOX_LEGACY_SCOPES

SANDBOX_TYPES = (*sandbox.OBJECT_TYPES, *sandbox.UNSERVED_TYPES)

ALL_MISSING = [
    "crm.objects.line_items.read",
    "crm.objects.orders.read",
    "crm.objects.products.read",
    "crm.objects.line_items.write",
    "crm.objects.orders.write",
    "crm.objects.products.write",
    "crm.schemas.orders.write",
]


@pytest.mark.parametrize(
    ("granted", "missing"),
    [
        pytest.param(set(), ALL_MISSING, id="none"),
        pytest.param(
            {"e-commerce", "crm.objects.orders.read"},
            ["crm.objects.orders.write", "crm.schemas.orders.write"],
            id="legacy-e-commerce",
        ),
        pytest.param(
            {"e-commerce", "crm.objects.orders.read", "crm.objects.orders.write", "crm.schemas.orders.write"},
            [],
            id="all",
        ),
    ],
)
def test_missing_scopes_of_a_run(granted, missing):
    """Read and write of each object type, schema write where a property is created; the legacy
    ``e-commerce`` scope covers products and line items, nothing else."""
    object_types = ["products", "orders", "line_items"]
    assert missing_scopes(granted, object_types, object_types, ["orders"]) == missing


def test_payments_scopes_use_hubspots_name_and_an_unknown_type_its_own():
    assert missing_scopes({"e-commerce"}, ["commerce_payments", "p_custom"], [], ["commerce_payments"]) == [
        "crm.objects.commercepayments.read",
        "crm.objects.p_custom.read",
        "crm.schemas.commercepayments.write",
    ]


def test_e_commerce_never_covers_a_schema_write():
    assert missing_scopes({"e-commerce"}, [], [], ["products"]) == ["crm.schemas.products.write"]


def test_scopes_are_described_once_grouped_and_counted():
    """Records first, then schemas, then any other scope, each group sorted; a scope twice counts once."""
    missing = ["crm.schemas.orders.write", "crm.objects.orders.write", "e-commerce", "crm.objects.carts.read"]
    assert describe_scopes([*missing, "crm.objects.orders.write"]) == (
        "4 scopes: records crm.objects.carts.read, crm.objects.orders.write; "
        "schemas crm.schemas.orders.write; other e-commerce"
    )
    assert describe_scopes(["crm.schemas.carts.write"]) == "1 scope: schemas crm.schemas.carts.write"


def test_the_unlabelled_association_type_is_the_default_one():
    assert association_type_id("orders", "contacts") == 507
    assert association_type_id("contacts", "orders") == 508
    assert association_type_id("orders", "companies") == 934  # not 509, the "Primary" label
    with pytest.raises(KeyError):
        association_type_id("line_items", "products")  # a line item names its product in hs_product_id


def test_every_association_type_knows_its_reverse():
    by_id = {association.type_id: association for association in ASSOCIATION_TYPES}
    assert len(by_id) == len(ASSOCIATION_TYPES)
    for association in ASSOCIATION_TYPES:
        reverse = by_id[association.reverse_id]
        assert (reverse.from_type, reverse.to_type) == (association.to_type, association.from_type)
        assert reverse.reverse_id == association.type_id
        assert {association.from_type, association.to_type} <= OBJECTS.keys()


def test_the_order_pipeline_stages_by_label():
    stages = ORDER_PIPELINE.stage_ids()
    assert list(stages) == ["open", "processed", "shipped", "delivered", "cancelled"]
    assert stages["shipped"] == "aa99e8d0-c1d5-4071-b915-d240bbb1aed9"
    assert OBJECTS["orders"].pipelines == (ORDER_PIPELINE,)


def test_value_rules_of_known_and_unknown_types():
    assert value_rules("contacts").emails == {"email"}
    assert value_rules("line_items").non_negative == {"price"}
    assert value_rules("orders") == value_rules("2-123456") == NO_RULES


def test_the_shipped_mapping_uses_the_catalogs_association_types_and_pipeline():
    mapping = load_mapping()
    for stream in mapping.streams.values():
        for ref in stream.references:
            if ref.association is not None:
                target = mapping.streams[ref.stream].object_type
                assert ref.association == association_type_id(stream.object_type, target), ref
    pipeline = {rule.name: rule for rule in mapping.streams["orders"].properties}["hs_pipeline"]
    assert pipeline.value == ORDER_PIPELINE.id


# The catalog against the sandbox's independent copy: both are read from HubSpot's documentation, so a
# difference is a typo in one of them.


def test_the_same_object_types_and_type_ids_as_the_sandbox():
    assert {obj.name: obj.type_id for obj in OBJECT_TYPES} == {obj.name: obj.type_id for obj in SANDBOX_TYPES}


def test_the_same_scopes_as_the_sandbox():
    assert {obj.name: obj.scope for obj in OBJECT_TYPES} == {obj.name: obj.scope for obj in SANDBOX_TYPES}
    legacy = {obj.name for obj in OBJECT_TYPES if obj.legacy_ecommerce}
    assert legacy == {name for name, scopes in SANDBOX_LEGACY_SCOPES.items() if "e-commerce" in scopes}
    for obj in sandbox.OBJECT_TYPES:
        needed = missing_scopes(set(), [obj.name], [obj.name], [obj.name])
        assert needed == [obj.read_scope, obj.write_scope, obj.schema_write_scope]


def test_the_same_association_types_as_the_sandbox():
    catalog = {a.type_id: (a.from_type, a.to_type, a.reverse_id, a.label) for a in ASSOCIATION_TYPES}
    assert catalog == {
        type_id: (a.from_type, a.to_type, a.reverse_id, a.label)
        for type_id, a in sandbox.ASSOCIATION_TYPES.items()
    }


def test_the_same_pipelines_as_the_sandbox():
    catalog = {
        obj.name: [(p.id, p.label, dict(p.stages)) for p in obj.pipelines]
        for obj in OBJECT_TYPES
        if obj.pipelines
    }
    assert catalog == {name: [tuple(row) for row in rows] for name, rows in SANDBOX_PIPELINES.items()}
    assert (ORDER_PIPELINE.id, dict(ORDER_PIPELINE.stages)) == (
        sandbox.ORDER_PIPELINE_ID,
        sandbox.ORDER_STAGES,
    )


def test_the_same_value_rules_as_the_sandbox():
    non_negative = {(obj.name, name) for obj in OBJECT_TYPES for name in obj.rules.non_negative}
    assert non_negative == {
        (obj.name, prop.name)
        for obj in sandbox.OBJECT_TYPES
        for prop in obj.properties.values()
        if prop.non_negative
    }
    emails = {(obj.name, name) for obj in OBJECT_TYPES for name in obj.rules.emails}
    assert emails == {(obj.name, "email") for obj in sandbox.OBJECT_TYPES if "email" in obj.properties}
