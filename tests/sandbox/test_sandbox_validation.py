"""Property validation: each error code HubSpot returns, required properties, value normalisation."""

from __future__ import annotations

import pytest
from sandbox_helpers import order, problems, product


def refused(api, object_type: str, properties: dict) -> dict:
    """The single property problem of a refused one-input create."""
    response = api.batch(object_type, "create", [{"properties": properties}])
    assert response.status_code == 400, response.text
    assert response.json()["category"] == "VALIDATION_ERROR"
    (problem,) = problems(response.json()["message"])
    assert problem["isValid"] is False and problem["portalId"]
    return problem


def test_unknown_property(api):
    problem = refused(api, "products", {"name": "a", "colour": "red"})
    assert (problem["error"], problem["name"]) == ("PROPERTY_DOESNT_EXIST", "colour")


@pytest.mark.parametrize(
    ("object_type", "name", "fragment"),
    [
        ("line_items", "amount", "calculated"),
        ("commerce_payments", "hs_payment_method", "read only"),
        ("orders", "hs_object_id", "read only"),
    ],
)
def test_read_only_and_calculated_properties(api, object_type, name, fragment):
    base = {
        "orders": order(),
        "line_items": {},
        "commerce_payments": {"hs_initial_amount": "1", "hs_initiated_date": "2026-01-01T00:00:00Z"},
    }[object_type]
    problem = refused(api, object_type, {**base, name: "5"})
    assert problem["error"] == "READ_ONLY_VALUE"
    assert problem["message"] == f'"{name}" is a {fragment} property; its value cannot be set.'


def test_invalid_enumeration_option(api):
    problem = refused(api, "orders", order(hs_currency_code="EURO"))
    assert (problem["error"], problem["name"]) == ("INVALID_OPTION", "hs_currency_code")
    assert refused(api, "products", {"hs_product_type": "physical"})["error"] == "INVALID_OPTION"
    assert refused(api, "orders", order(hs_pipeline_stage="open"))["error"] == "INVALID_OPTION"


def test_invalid_number(api):
    problem = refused(api, "products", {"name": "a", "price": "12,50"})
    assert problem["error"] == "INVALID_INTEGER"
    assert problem["message"] == "12,50 was not a valid number"


def test_date_must_be_midnight_utc(api, sandbox):
    problem = refused(api, "line_items", {"hs_recurring_billing_start_date": "1727784000123"})
    assert problem["error"] == "INVALID_DATE"
    assert (
        refused(api, "line_items", {"hs_recurring_billing_start_date": "2026-13-01"})["error"]
        == "INVALID_DATE"
    )

    midnight = api.create("line_items", {"hs_recurring_billing_start_date": "1727740800000"})[0]
    iso = api.create("line_items", {"hs_recurring_billing_start_date": "2026-02-03"})[0]

    assert midnight["properties"]["hs_recurring_billing_start_date"] == "2024-10-01"
    assert iso["properties"]["hs_recurring_billing_start_date"] == "2026-02-03"


def test_datetime_accepts_epoch_ms_and_iso(api):
    epoch, iso, offset = api.create(
        "orders",
        order(hs_external_created_date="1727784000120"),
        order(hs_external_created_date="2024-10-01T12:00:00Z"),
        order(hs_external_created_date="2024-10-01T14:00:00.5+02:00"),
    )

    assert epoch["properties"]["hs_external_created_date"] == "2024-10-01T12:00:00.120Z"
    assert iso["properties"]["hs_external_created_date"] == "2024-10-01T12:00:00.000Z"
    assert offset["properties"]["hs_external_created_date"] == "2024-10-01T12:00:00.500Z"
    assert refused(api, "orders", order(hs_external_created_date="yesterday"))["error"] == "INVALID_DATE"
    assert refused(api, "orders", order(hs_external_created_date="2026-02-30T00:00:00.000Z"))["error"] == (
        "INVALID_DATE"
    )


def test_invalid_email(api):
    problem = refused(api, "contacts", {"email": "not-an-email"})
    assert (problem["error"], problem["name"]) == ("INVALID_EMAIL", "email")


def test_every_bad_property_of_an_input_is_listed(api):
    response = api.batch(
        "products", "create", [{"properties": {"price": "x", "nope": "1", "hs_product_type": "z"}}]
    )
    codes = sorted(p["error"] for p in problems(response.json()["message"]))
    assert codes == ["INVALID_INTEGER", "INVALID_OPTION", "PROPERTY_DOESNT_EXIST"]
    assert len(response.json()["errors"]) == 3


def test_required_properties(api, sandbox):
    missing_name = refused(api, "orders", {"hs_currency_code": "EUR"})
    assert (missing_name["error"], missing_name["name"]) == ("REQUIRED_PROPERTY", "hs_order_name")
    payment = api.batch("commerce_payments", "create", [{"properties": {"hs_currency_code": "EUR"}}])
    assert payment.status_code == 400
    assert sorted(p["name"] for p in problems(payment.json()["message"])) == [
        "hs_initial_amount",
        "hs_initiated_date",
    ]
    assert sandbox.dump("orders") == [] and sandbox.dump("commerce_payments") == []

    created = api.create("orders", order("keep"))[0]
    cleared = api.batch("orders", "update", [{"id": created["id"], "properties": {"hs_order_name": ""}}])
    assert cleared.status_code == 400
    assert sandbox.dump("orders")[0]["properties"]["hs_order_name"] == "keep"


def test_values_come_back_as_strings_as_sent(api):
    (result,) = api.create(
        "products", {"name": "a", "price": 249.5, "hs_cost_of_goods_sold": 100, "hs_sku": 42}
    )
    props = result["properties"]
    assert (props["price"], props["hs_cost_of_goods_sold"], props["hs_sku"]) == ("249.5", "100", "42")
    (kept,) = api.create("products", product("K", price="249.00"))
    assert kept["properties"]["price"] == "249.00"


def test_line_item_product_must_exist_and_is_inherited(api, sandbox):
    (prod,) = api.create("products", product("TENT", name="Trail Tent", price="249.00"))

    problem = refused(api, "line_items", {"hs_product_id": "999", "quantity": "1"})
    (line,) = api.create("line_items", {"hs_product_id": prod["id"], "quantity": "2", "discount": "9.00"})

    assert (problem["error"], problem["name"]) == ("INVALID_OBJECT_ID", "hs_product_id")
    props = line["properties"]
    assert (props["name"], props["price"], props["hs_sku"]) == ("Trail Tent", "249.00", "TENT")
    assert props["amount"] == "480.00"  # 2 x 249.00 - 2 x 9.00
    assert props["hs_total_discount"] == "18.00"
    assert len(sandbox.dump("line_items")) == 1


def test_empty_string_clears_a_value(api, sandbox):
    (created,) = api.create("products", product("A", description="long"))

    response = api.batch("products", "update", [{"id": created["id"], "properties": {"description": ""}}])

    assert response.status_code == 200
    assert "description" not in sandbox.dump("products")[0]["properties"]


def test_line_item_price_cannot_be_negative(api, sandbox):
    problem = refused(api, "line_items", {"name": "refund", "price": "-5.00"})

    assert (problem["name"], problem["message"]) == ("price", "price cannot be negative")
    assert sandbox.dump("line_items") == []
    assert api.batch("line_items", "create", [{"properties": {"price": "0"}}]).status_code == 201


def test_calculated_values_follow_updates(api, sandbox):
    (line,) = api.create("line_items", {"name": "li", "quantity": "2", "price": "10.00"})
    (cart,) = api.create("carts", {"hs_cart_name": "c", "hs_total_price": "500"})

    api.batch("line_items", "update", [{"id": line["id"], "properties": {"quantity": "3"}}])
    api.batch("carts", "update", [{"id": cart["id"], "properties": {"hs_total_price": "338.50"}}])

    assert line["properties"]["amount"] == "20.00"
    assert cart["properties"]["hs_homecurrency_amount"] == "500.0"
    assert cart["properties"]["hs_exchange_rate"] == "1.0"
    assert sandbox.dump("line_items")[0]["properties"]["amount"] == "30.00"
    assert sandbox.dump("carts")[0]["properties"]["hs_homecurrency_amount"] == "338.5"
