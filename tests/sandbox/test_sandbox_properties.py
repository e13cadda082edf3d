"""The properties API: default property sets per object and custom properties."""

from __future__ import annotations

import pytest

from hubspot_sandbox.schema import ORDER_PIPELINE_ID, ORDER_STAGES

REFERENCE_PROPERTIES = {
    "orders": [
        "hs_order_name",
        "hs_currency_code",
        "hs_external_order_id",
        "hs_total_price",
        "hs_subtotal_price",
        "hs_tax",
        "hs_shipping_cost",
        "hs_order_discount",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_external_created_date",
        "hs_fulfillment_status",
        "hs_source_store",
        "hs_createdate",
    ],
    "carts": [
        "hs_cart_name",
        "hs_external_cart_id",
        "hs_external_status",
        "hs_cart_url",
        "hs_total_price",
        "hs_currency_code",
        "hs_cart_discount",
        "hs_tax",
        "hs_shipping_cost",
        "hs_external_created_date",
        "hs_createdate",
    ],
    "line_items": [
        "name",
        "description",
        "hs_sku",
        "quantity",
        "price",
        "amount",
        "hs_line_item_currency_code",
        "hs_product_id",
        "discount",
        "hs_total_discount",
        "createdate",
    ],
    "commerce_payments": [
        "hs_initial_amount",
        "hs_initiated_date",
        "hs_currency_code",
        "hs_latest_status",
        "hs_payment_method_type",
        "hs_reference_number",
        "hs_customer_email",
        "hs_processor_type",
        "hs_payment_method",
        "hs_createdate",
    ],
    "products": [
        "name",
        "description",
        "price",
        "hs_sku",
        "hs_cost_of_goods_sold",
        "hs_product_type",
        "hs_recurring_billing_period",
        "createdate",
    ],
    "contacts": ["email", "firstname", "lastname", "phone", "createdate", "lastmodifieddate"],
}


@pytest.mark.parametrize("object_type", sorted(REFERENCE_PROPERTIES))
def test_default_property_sets(api, object_type):
    response = api.get(api.properties(object_type))

    assert response.status_code == 200
    by_name = {p["name"]: p for p in response.json()["results"]}
    assert set(REFERENCE_PROPERTIES[object_type]) <= set(by_name)
    for name in ("hs_object_id", "hs_object_source", "hs_lastmodifieddate"):
        assert by_name[name]["modificationMetadata"]["readOnlyValue"] is True
    for prop in by_name.values():
        assert {"name", "label", "type", "fieldType", "groupName", "options", "hasUniqueValue"} <= set(prop)
        assert prop["type"] in {"string", "number", "date", "datetime", "enumeration", "bool"}


def test_flags_and_options_that_matter(api):
    def prop(object_type: str, name: str) -> dict:
        response = api.get(f"{api.properties(object_type)}/{name}")
        assert response.status_code == 200
        return response.json()

    assert prop("products", "hs_sku")["hasUniqueValue"] is True
    assert prop("contacts", "email")["hasUniqueValue"] is True
    assert prop("orders", "hs_external_order_id")["hasUniqueValue"] is False
    amount = prop("line_items", "amount")
    assert amount["calculated"] is True and amount["modificationMetadata"]["readOnlyValue"] is True
    assert prop("commerce_payments", "hs_payment_method")["modificationMetadata"]["readOnlyValue"] is True
    assert [o["value"] for o in prop("orders", "hs_pipeline")["options"]] == [ORDER_PIPELINE_ID]
    assert {o["value"] for o in prop("orders", "hs_pipeline_stage")["options"]} == set(ORDER_STAGES)
    assert {"processing", "succeeded", "failed"} <= {
        o["value"] for o in prop("commerce_payments", "hs_latest_status")["options"]
    }
    assert prop("commerce_payments", "hs_initiated_date")["type"] == "datetime"
    assert {o["value"] for o in prop("products", "hs_product_type")["options"]} == {
        "inventory",
        "non_inventory",
        "service",
    }
    assert "USD" in {o["value"] for o in prop("orders", "hs_currency_code")["options"]}
    missing = api.get(f"{api.properties('products')}/nope")
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_create_custom_property_and_use_it(api, sandbox):
    definition = {
        "name": "loyalty_tier",
        "label": "Loyalty tier",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "contactinformation",
        "options": [{"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}],
    }

    created = api.post(api.properties("contacts"), definition)
    again = api.post(api.properties("contacts"), definition)
    good = api.batch(
        "contacts", "create", [{"properties": {"email": "a@example.com", "loyalty_tier": "gold"}}]
    )
    bad = api.batch(
        "contacts", "create", [{"properties": {"email": "b@example.com", "loyalty_tier": "bronze"}}]
    )

    assert created.status_code == 201
    assert created.json()["name"] == "loyalty_tier" and created.json()["hubspotDefined"] is False
    assert api.get(f"{api.properties('contacts')}/loyalty_tier").json()["options"][0]["value"] == "gold"
    assert again.status_code == 409
    assert good.status_code == 201 and bad.status_code == 400
    sandbox.reset()
    assert api.get(f"{api.properties('contacts')}/loyalty_tier").status_code == 404


def test_invalid_property_definitions(api):
    base = {"name": "x_id", "label": "X", "type": "string", "fieldType": "text", "groupName": "g"}

    assert api.post(api.properties("orders"), {**base, "name": "Bad Name"}).status_code == 400
    assert api.post(api.properties("orders"), {**base, "fieldType": "select"}).status_code == 400
    assert (
        api.post(api.properties("orders"), {**base, "type": "enumeration", "fieldType": "select"}).status_code
        == 400
    )
    assert (
        api.post(api.properties("orders"), {k: v for k, v in base.items() if k != "label"}).status_code == 400
    )
    assert (
        api.post(
            api.properties("orders"),
            {**base, "type": "bool", "fieldType": "booleancheckbox", "hasUniqueValue": True},
        ).status_code
        == 400
    )
    assert api.post(api.properties("orders"), base).status_code == 201
