"""Batch create semantics: status codes, limits, atomic batches vs 207 partial results, order, ids."""

from __future__ import annotations

import re

from sandbox_helpers import order, problems, product

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_create_answers_201_with_every_required_field(api, sandbox):
    response = api.batch("orders", "create", [{"properties": order("Order #1001", hs_total_price="338.50")}])

    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert ISO_MS.match(body["startedAt"]) and ISO_MS.match(body["completedAt"])
    assert "errors" not in body and "numErrors" not in body
    (result,) = body["results"]
    assert set(result) >= {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert result["id"].isdigit()
    assert ISO_MS.match(result["createdAt"])
    assert result["properties"]["hs_order_name"] == "Order #1001"
    assert result["properties"]["hs_total_price"] == "338.50"
    assert result["properties"]["hs_object_id"] == result["id"]
    assert ISO_MS.match(result["properties"]["hs_createdate"])
    assert "objectWriteTraceId" not in result
    (stored,) = sandbox.dump("orders")
    assert stored["id"] == result["id"]
    assert stored["properties"]["hs_order_name"] == "Order #1001"


def test_100_inputs_are_accepted_and_101_refused(api, sandbox):
    ok = api.batch("products", "create", [{"properties": product(f"S{i}")} for i in range(100)])
    too_many = api.batch("products", "create", [{"properties": product(f"T{i}")} for i in range(101)])

    assert ok.status_code == 201
    assert len(ok.json()["results"]) == 100
    assert too_many.status_code == 400
    assert too_many.json()["category"] == "VALIDATION_ERROR"
    assert len(sandbox.dump("products")) == 100


def test_one_bad_input_without_trace_ids_rejects_the_whole_batch(api, sandbox):
    response = api.batch(
        "line_items",
        "create",
        [{"properties": {"name": "ok", "quantity": "1"}}, {"properties": {"quantity": "1", "missing": "1"}}],
    )

    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]
    assert response.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]
    (problem,) = problems(body["message"])
    assert problem["error"] == "PROPERTY_DOESNT_EXIST" and problem["name"] == "missing"
    assert problem["message"] == 'Property "missing" does not exist'
    assert body["errors"] == [
        {
            "message": 'Property "missing" does not exist',
            "code": "PROPERTY_DOESNT_EXIST",
            "context": {"propertyName": ["missing"]},
        }
    ]
    assert sandbox.dump("line_items") == []


def test_unique_trace_ids_turn_on_207_partial_results(api, sandbox):
    response = api.batch(
        "line_items",
        "create",
        [
            {"objectWriteTraceId": "li-1", "properties": {"name": "ok", "quantity": "1"}},
            {"objectWriteTraceId": "li-2", "properties": {"quantity": "1", "missing": "1"}},
        ],
    )

    assert response.status_code == 207
    body = response.json()
    assert body["numErrors"] == 1
    (error,) = body["errors"]
    assert error["status"] == "error"
    assert error["category"] == "VALIDATION_ERROR"
    assert error["context"]["objectWriteTraceId"] == ["li-2"]
    assert problems(error["message"])[0]["error"] == "PROPERTY_DOESNT_EXIST"
    (result,) = body["results"]
    assert result["objectWriteTraceId"] == "li-1"
    (stored,) = sandbox.dump("line_items")
    assert stored["id"] == result["id"] and stored["properties"]["name"] == "ok"


def test_duplicate_trace_ids_do_not_turn_on_partial_results(api, sandbox):
    response = api.batch(
        "products",
        "create",
        [
            {"objectWriteTraceId": "same", "properties": product("A")},
            {"objectWriteTraceId": "same", "properties": {"nope": "1"}},
        ],
    )

    assert response.status_code == 400
    assert sandbox.dump("products") == []


def test_results_come_back_in_arbitrary_order(api):
    orders = []
    for _ in range(3):
        response = api.batch(
            "products",
            "create",
            [{"properties": {"name": f"p{i}"}, "objectWriteTraceId": f"{i}"} for i in range(100)],
        )
        orders.append([r["objectWriteTraceId"] for r in response.json()["results"]])

    in_order = [str(i) for i in range(100)]
    assert any(traces != in_order for traces in orders)
    assert all(sorted(traces, key=int) == in_order for traces in orders)


def test_ids_are_numeric_increasing_and_unique_across_object_types(api):
    first = api.create("products", {"name": "a"}, {"name": "b"})
    second = api.create("orders", order("x"))
    third = api.create("contacts", {"email": "a@example.com"})

    ids = [int(r["id"]) for r in (*first, *second, *third)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_object_type_ids_are_accepted_in_paths(api, sandbox):
    for type_id, name in [
        ("0-7", "products"),
        ("0-123", "orders"),
        ("0-8", "line_items"),
        ("0-142", "carts"),
        ("0-1", "contacts"),
    ]:
        props = {
            "0-7": {"name": "p"},
            "0-123": order(),
            "0-8": {"name": "li"},
            "0-142": {"hs_cart_name": "c"},
            "0-1": {"email": "x@example.com"},
        }[type_id]
        assert api.batch(type_id, "create", [{"properties": props}]).status_code == 201
        assert len(sandbox.dump(name)) == 1
    payment = {"hs_initial_amount": "10", "hs_initiated_date": "2026-10-01T12:00:00.000Z"}
    assert api.batch("0-101", "create", [{"properties": payment}]).status_code == 201
    assert len(sandbox.dump("commerce_payments")) == 1
    unknown = api.batch("deals_and_more", "create", [{"properties": {}}])
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "Unable to infer object type from: deals_and_more"


def test_malformed_bodies_are_refused_whole(api, sandbox):
    unknown_field = api.batch("products", "create", [{"properties": {"name": "a"}, "bogus": 1}])
    no_properties = api.batch("products", "create", [{"objectWriteTraceId": "x"}])
    not_json = api.session.post(
        f"{api.url}{api.objects('products')}/batch/create",
        data=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    wrong_type = api.session.post(
        f"{api.url}{api.objects('products')}/batch/create", data=b"{}", headers={"Content-Type": "text/plain"}
    )

    assert unknown_field.status_code == 400 and "bogus" in unknown_field.json()["message"]
    assert no_properties.status_code == 400
    assert not_json.status_code == 400 and not_json.json()["message"].startswith("Invalid input JSON")
    assert wrong_type.status_code == 415
    assert sandbox.dump("products") == []


def test_archive_answers_204_and_removes_records(api, sandbox):
    a, b = api.create("products", product("A"), product("B"))

    response = api.batch("products", "archive", [{"id": a["id"]}])

    assert response.status_code == 204
    assert response.content == b""
    assert [r["id"] for r in sandbox.dump("products")] == [b["id"]]
    again = api.batch("products", "create", [{"properties": product("A")}])
    assert again.status_code == 201  # the archived record no longer holds its unique SKU
