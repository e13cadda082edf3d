"""Unique values, upsert by idProperty, update, and batch read."""

from __future__ import annotations

import re

from sandbox_helpers import order, product

CONFLICT = re.compile(
    r"^Cannot set PropertyValueCoordinates\{portalId=\d+, "
    r"objectTypeId=ObjectTypeId\{legacyObjectType=PRODUCT\}, "
    r"propertyName=hs_sku, value=SKU-1\} on (\d+)\. (\d+) already has that value\.$"
)


def upsert(sku: str, trace: str | None = None, **props: str) -> dict:
    item = {"idProperty": "hs_sku", "id": sku, "properties": props}
    if trace:
        item["objectWriteTraceId"] = trace
    return item


def test_unique_value_already_in_the_store(api, sandbox):
    (first,) = api.create("products", product("SKU-1"))

    response = api.batch("products", "create", [{"properties": product("SKU-1")}])

    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    match = CONFLICT.match(body["message"])
    assert match, body["message"]
    assert match.group(2) == first["id"]
    assert len(sandbox.dump("products")) == 1


def test_unique_value_twice_in_one_batch(api, sandbox):
    response = api.batch(
        "products",
        "create",
        [
            {"properties": product("SKU-1"), "objectWriteTraceId": "a"},
            {"properties": product("SKU-1"), "objectWriteTraceId": "b"},
        ],
    )

    assert response.status_code == 207
    (result,) = response.json()["results"]
    (error,) = response.json()["errors"]
    assert error["context"]["objectWriteTraceId"] == ["ab".replace(result["objectWriteTraceId"], "")]
    match = CONFLICT.match(error["message"])
    assert match and match.group(2) == result["id"]
    assert [r["properties"]["hs_sku"] for r in sandbox.dump("products")] == ["SKU-1"]


def test_contact_email_clash_on_create_is_409(api, sandbox):
    (first,) = api.create("contacts", {"email": "Ann@Example.com"})

    response = api.batch("contacts", "create", [{"properties": {"email": "ann@example.com"}}])

    assert first["properties"]["email"] == "ann@example.com"  # HubSpot lower-cases emails
    assert response.status_code == 409
    assert response.json()["category"] == "CONFLICT"
    assert response.json()["message"] == f"Contact already exists. Existing ID: {first['id']}"
    assert len(sandbox.dump("contacts")) == 1


def test_upsert_creates_then_updates_with_the_new_flag(api, sandbox):
    created = api.batch("products", "upsert", [upsert("SKU-1", "p1", name="Tent", price="249.00")])
    updated = api.batch("products", "upsert", [upsert("SKU-1", "p1", price="199.00"), upsert("SKU-2", "p2")])

    assert created.status_code == 200 and updated.status_code == 200
    (first,) = created.json()["results"]
    assert first["new"] is True and first["objectWriteTraceId"] == "p1"
    assert first["properties"]["hs_sku"] == "SKU-1"
    results = {r["objectWriteTraceId"]: r for r in updated.json()["results"]}
    assert results["p1"]["new"] is False and results["p1"]["id"] == first["id"]
    assert results["p2"]["new"] is True
    stored = {r["properties"]["hs_sku"]: r["properties"] for r in sandbox.dump("products")}
    assert stored["SKU-1"]["price"] == "199.00" and stored["SKU-1"]["name"] == "Tent"
    assert set(stored) == {"SKU-1", "SKU-2"}


def test_upsert_by_a_non_unique_property_is_400(api, sandbox):
    response = api.batch("products", "upsert", [{"idProperty": "name", "id": "Tent", "properties": {}}])
    no_id_property = api.batch("products", "upsert", [{"id": "1", "properties": {}}])

    assert response.status_code == 400
    assert re.match(
        r"^Unable to perform update/upsert by non-unique 0-7 property name in portal ID \d+$",
        response.json()["message"],
    )
    assert no_id_property.status_code == 400
    assert sandbox.dump("products") == []


def test_duplicate_ids_in_one_upsert_are_400_even_with_trace_ids(api, sandbox):
    response = api.batch("products", "upsert", [upsert("SKU-1", "a"), upsert("SKU-1", "b")])

    assert response.status_code == 400
    assert response.json()["message"] == "Duplicate IDs found in batch input: [SKU-1]. IDs must be unique"
    assert response.json()["context"] == {"ids": ["SKU-1"]}
    assert sandbox.dump("products") == []


def test_upsert_partial_results_with_trace_ids(api, sandbox):
    response = api.batch(
        "products", "upsert", [upsert("SKU-1", "good"), upsert("SKU-2", "bad", price="cheap")]
    )

    assert response.status_code == 207
    assert [r["objectWriteTraceId"] for r in response.json()["results"]] == ["good"]
    assert response.json()["errors"][0]["context"]["objectWriteTraceId"] == ["bad"]
    assert [r["properties"]["hs_sku"] for r in sandbox.dump("products")] == ["SKU-1"]


def test_update_by_id_and_by_id_property_with_missing_records(api, sandbox):
    a, b = api.create("products", product("SKU-A"), product("SKU-B"))

    by_id = api.batch(
        "products",
        "update",
        [{"id": a["id"], "properties": {"name": "A2"}}, {"id": "123", "properties": {"name": "ghost"}}],
    )
    by_sku = api.batch(
        "products", "update", [{"id": "SKU-B", "idProperty": "hs_sku", "properties": {"price": "3"}}]
    )

    assert by_id.status_code == 207
    (error,) = by_id.json()["errors"]
    assert error["category"] == "OBJECT_NOT_FOUND" and error["context"]["ids"] == ["123"]
    assert [r["id"] for r in by_id.json()["results"]] == [a["id"]]
    assert by_sku.status_code == 200
    stored = {r["id"]: r["properties"] for r in sandbox.dump("products")}
    assert stored[a["id"]]["name"] == "A2"
    assert stored[b["id"]]["price"] == "3"
    assert len(stored) == 2
    assert by_id.json()["results"][0]["updatedAt"] >= by_id.json()["results"][0]["createdAt"]


def test_duplicate_ids_in_one_update_are_400(api, sandbox):
    (a,) = api.create("orders", order("x"))

    response = api.batch(
        "orders",
        "update",
        [
            {"id": a["id"], "properties": {"hs_order_name": "y"}},
            {"id": a["id"], "properties": {"hs_order_name": "z"}},
        ],
    )

    assert response.status_code == 400
    assert sandbox.dump("orders")[0]["properties"]["hs_order_name"] == "x"


def test_batch_read_by_id_property_reports_missing_keys(api):
    api.create("products", product("SKU-1", description="d"))

    response = api.post(
        f"{api.objects('products')}/batch/read",
        {
            "idProperty": "hs_sku",
            "inputs": [{"id": "SKU-1"}, {"id": "SKU-9"}, {"id": "SKU-8"}],
            "properties": ["hs_sku", "price", "hs_cost_of_goods_sold"],
            "propertiesWithHistory": [],
        },
    )

    assert response.status_code == 207
    body = response.json()
    (result,) = body["results"]
    assert result["properties"]["hs_sku"] == "SKU-1" and result["properties"]["price"] == "10.00"
    assert result["properties"]["hs_cost_of_goods_sold"] is None
    assert "description" not in result["properties"]
    assert body["numErrors"] == 1
    (error,) = body["errors"]
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert sorted(error["context"]["ids"]) == ["SKU-8", "SKU-9"]
    assert error["message"].startswith("Could not get some PRODUCT objects")


def test_batch_read_by_record_id_answers_200(api):
    a, b = api.create("orders", order("a"), order("b"))

    response = api.post(f"{api.objects('orders')}/batch/read", {"inputs": [{"id": a["id"]}, {"id": b["id"]}]})

    assert response.status_code == 200
    assert sorted(r["properties"]["hs_order_name"] for r in response.json()["results"]) == ["a", "b"]
    non_unique = api.post(
        f"{api.objects('orders')}/batch/read", {"idProperty": "hs_order_name", "inputs": [{"id": "a"}]}
    )
    assert non_unique.status_code == 400


def test_custom_unique_property_for_exactly_once_creates(api, sandbox):
    definition = {
        "name": "shop_order_id",
        "label": "Shop order id",
        "type": "string",
        "fieldType": "text",
        "groupName": "orderinformation",
        "hasUniqueValue": True,
    }
    assert api.post(api.properties("orders"), definition).status_code == 201

    first = api.batch("orders", "create", [{"properties": order(shop_order_id="1001")}])
    again = api.batch("orders", "create", [{"properties": order(shop_order_id="1001")}])
    upserted = api.batch(
        "orders",
        "upsert",
        [{"idProperty": "shop_order_id", "id": "1001", "properties": {"hs_order_name": "renamed"}}],
    )

    assert first.status_code == 201
    assert again.status_code == 400 and "propertyName=shop_order_id" in again.json()["message"]
    assert upserted.status_code == 200 and upserted.json()["results"][0]["new"] is False
    (stored,) = sandbox.dump("orders")
    assert stored["properties"]["hs_order_name"] == "renamed"


def test_batch_read_with_properties_with_history(api):
    (created,) = api.create("products", product("SKU-1"))

    response = api.post(
        f"{api.objects('products')}/batch/read",
        {"inputs": [{"id": created["id"]}], "properties": [], "propertiesWithHistory": ["price"]},
    )

    (result,) = response.json()["results"]
    assert result["propertiesWithHistory"] == {
        "price": [{"value": "10.00", "timestamp": created["updatedAt"], "sourceType": "API"}]
    }
    assert result["properties"]["name"] == "Product SKU-1"  # no properties named: the default set


def test_upsert_and_update_without_trace_ids_are_atomic(api, sandbox):
    (existing,) = api.create("products", product("SKU-1"))

    upserted = api.batch("products", "upsert", [upsert("SKU-2"), upsert("SKU-1", price="nope")])
    updated = api.batch(
        "products",
        "update",
        [
            {"id": existing["id"], "properties": {"name": "new"}},
            {"id": existing["id"] + "0", "properties": {"x": "1"}},
        ],
    )

    (other,) = api.create("products", product("SKU-3"))
    refused = api.batch(
        "products",
        "update",
        [
            {"id": other["id"], "properties": {"name": "changed"}},
            {"id": existing["id"], "properties": {"x": "1"}},
        ],
    )

    assert upserted.status_code == 400
    assert updated.status_code == 207  # an unknown id is reported, not a refusal: the good update lands
    assert refused.status_code == 400
    stored = {r["properties"]["hs_sku"]: r["properties"] for r in sandbox.dump("products")}
    assert set(stored) == {"SKU-1", "SKU-3"}
    assert stored["SKU-1"]["name"] == "new"
    assert stored["SKU-3"]["name"] == "Product SKU-3"


def test_single_record_create_update_get_delete(api, sandbox):
    created = api.post(api.objects("orders"), {"properties": {"hs_order_name": "one"}})
    record_id = created.json()["id"]
    patched = api.session.patch(
        f"{api.url}{api.objects('orders')}/{record_id}", json={"properties": {"hs_order_name": "two"}}
    )
    missing = api.session.patch(
        f"{api.url}{api.objects('orders')}/1", json={"properties": {"hs_order_name": "x"}}
    )
    invalid = api.post(api.objects("orders"), {"properties": {"hs_order_name": "x", "nope": "1"}})
    fetched = api.get(f"{api.objects('orders')}/{record_id}")
    deleted = api.session.delete(f"{api.url}{api.objects('orders')}/{record_id}")

    assert created.status_code == 201 and created.json()["properties"]["hs_order_name"] == "one"
    assert patched.status_code == 200 and patched.json()["properties"]["hs_order_name"] == "two"
    assert missing.status_code == 404
    assert invalid.status_code == 400 and invalid.json()["category"] == "VALIDATION_ERROR"
    assert fetched.json()["properties"]["hs_order_name"] == "two"
    assert deleted.status_code == 204
    assert sandbox.dump("orders") == []
