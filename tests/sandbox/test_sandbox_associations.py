"""Associations on create (checked like HubSpot does), v4 association reads and labels, list/get reads."""

from __future__ import annotations

from sandbox_helpers import assoc, order, product


def test_create_with_associations_links_both_directions(api, sandbox):
    (contact,) = api.create("contacts", {"email": "ann@example.com"})
    (created,) = api.create("orders", order(), associations=[assoc(contact["id"], 507)])
    (line,) = api.create("line_items", {"name": "li"}, associations=[assoc(created["id"], 514)])

    from_order = api.get(api.record_associations("orders", created["id"], "line_items"))
    from_contact = api.get(api.record_associations("0-1", contact["id"], "orders"))

    assert from_order.status_code == 200
    assert from_order.json()["results"] == [
        {
            "toObjectId": int(line["id"]),
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 513, "label": None}],
        }
    ]
    assert from_contact.json()["results"][0]["associationTypes"][0]["typeId"] == 508
    stored = {r["id"]: r for r in sandbox.dump("orders")}
    assert stored[created["id"]]["associations"] == {"contacts": [contact["id"]], "line_items": [line["id"]]}


def test_association_to_a_missing_record_is_refused(api, sandbox):
    response = api.batch(
        "orders", "create", [{"properties": order(), "associations": [assoc("404404", 507)]}]
    )

    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "One or more associations are invalid"
    assert body["context"] == {"INVALID_OBJECT_IDS": ["CONTACT=404404 is not valid"]}
    assert sandbox.dump("orders") == []


def test_unknown_association_type_id_or_category(api, sandbox):
    (contact,) = api.create("contacts", {"email": "ann@example.com"})

    unknown = api.batch(
        "orders", "create", [{"properties": order(), "associations": [assoc(contact["id"], 3)]}]
    )
    user_defined = api.batch(
        "orders",
        "create",
        [{"properties": order(), "associations": [assoc(contact["id"], 507, "USER_DEFINED")]}],
    )

    assert unknown.status_code == 400
    assert unknown.json()["context"]["INVALID_ASSOCIATION_TYPE_ID"] == [
        "HUBSPOT_DEFINED=3 is not a valid association definition id"
    ]
    assert user_defined.status_code == 400
    assert user_defined.json()["context"]["associationSpec"] == ["USER_DEFINED=507"]
    assert sandbox.dump("orders") == []


def test_association_type_of_the_wrong_direction(api, sandbox):
    (created,) = api.create("orders", order())

    # 513 is order -> line item; a line item must use 514.
    response = api.batch(
        "line_items", "create", [{"properties": {"name": "x"}, "associations": [assoc(created["id"], 513)]}]
    )

    assert response.status_code == 400
    assert (
        response.json()["message"]
        == "invalid from object type 0-8 for associations to be created. expected: 0-123"
    )
    assert sandbox.dump("line_items") == []


def test_bad_association_with_trace_ids_is_a_207_item(api, sandbox):
    (created,) = api.create("orders", order())

    response = api.batch(
        "line_items",
        "create",
        [
            {
                "objectWriteTraceId": "ok",
                "properties": {"name": "a"},
                "associations": [assoc(created["id"], 514)],
            },
            {"objectWriteTraceId": "bad", "properties": {"name": "b"}, "associations": [assoc("1", 514)]},
        ],
    )

    assert response.status_code == 207
    (error,) = response.json()["errors"]
    assert error["context"]["objectWriteTraceId"] == ["bad"]
    assert error["context"]["INVALID_OBJECT_IDS"] == ["ORDER=1 is not valid"]
    assert [r["properties"]["name"] for r in sandbox.dump("line_items")] == ["a"]


def test_labels_in_both_directions(api):
    forward = api.get(f"{api.associations('orders', 'line_items')}/labels")
    reverse = api.get(f"{api.associations('0-8', '0-123')}/labels")
    payments = api.get(f"{api.associations('commerce_payments', 'orders')}/labels")
    none = api.get(f"{api.associations('products', 'orders')}/labels")

    assert forward.json()["results"] == [{"category": "HUBSPOT_DEFINED", "typeId": 513, "label": None}]
    assert [r["typeId"] for r in reverse.json()["results"]] == [514]
    assert [r["typeId"] for r in payments.json()["results"]] == [524]
    assert none.json()["results"] == []


def test_list_pages_with_after_and_selects_properties(api):
    created = api.create("products", *[product(f"S{i}", description=f"d{i}") for i in range(5)])

    first = api.get(api.objects("products"), limit=2, properties="hs_sku,description")
    second = api.get(api.objects("products"), limit=2, after=first.json()["paging"]["next"]["after"])
    seen = [r["id"] for r in first.json()["results"] + second.json()["results"]]
    last = api.get(api.objects("products"), limit=2, after=second.json()["paging"]["next"]["after"])

    assert seen == [r["id"] for r in created[:4]]
    assert first.json()["results"][0]["properties"]["description"] == "d0"
    assert "hs_sku" not in second.json()["results"][0]["properties"]  # not requested: the default set
    assert second.json()["results"][0]["properties"]["name"] == "Product S2"
    assert [r["id"] for r in last.json()["results"]] == [created[4]["id"]]
    assert "paging" not in last.json()
    assert api.get(api.objects("products"), limit=101).status_code == 400


def test_get_by_id_with_associations_and_404(api):
    (created,) = api.create("orders", order("o"))
    (line,) = api.create("line_items", {"name": "li"}, associations=[assoc(created["id"], 514)])

    found = api.get(f"{api.objects('orders')}/{created['id']}", associations="line_items")
    missing = api.get(f"{api.objects('orders')}/999")

    assert found.status_code == 200
    assert found.json()["properties"]["hs_order_name"] == "o"
    assert found.json()["associations"]["line items"]["results"] == [
        {"id": line["id"], "type": "order_to_line_item"}
    ]
    assert missing.status_code == 404
    assert missing.json()["message"] == "resource not found"
    assert missing.json()["correlationId"]


def test_v4_batch_create_associates_existing_records(api, sandbox):
    (created,) = api.create("orders", order())
    (payment,) = api.create(
        "commerce_payments", {"hs_initial_amount": "5", "hs_initiated_date": "2026-01-01T00:00:00Z"}
    )
    good = {
        "from": {"id": payment["id"]},
        "to": {"id": created["id"]},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 524}],
    }
    wrong_type = {**good, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 523}]}
    missing = {**good, "to": {"id": "404"}}

    response = api.post(
        f"{api.associations('commerce_payments', 'orders')}/batch/create",
        {"inputs": [good, wrong_type, missing]},
    )

    assert response.status_code == 207
    body = response.json()
    assert body["results"] == [
        {
            "fromObjectTypeId": "0-101",
            "fromObjectId": int(payment["id"]),
            "toObjectTypeId": "0-123",
            "toObjectId": int(created["id"]),
            "labels": [],
        }
    ]
    assert body["numErrors"] == 2
    assert body["errors"][1]["context"]["INVALID_OBJECT_IDS"] == ["ORDER=404 is not valid"]
    assert {r["id"]: r["associations"] for r in sandbox.dump("orders")}[created["id"]] == {
        "commerce_payments": [payment["id"]]
    }


def test_v4_batch_associate_default_and_read(api, sandbox):
    (cart,) = api.create("carts", {"hs_cart_name": "c"})
    lines = api.create("line_items", {"name": "a"}, {"name": "b"})

    associated = api.post(
        f"{api.associations('carts', 'line_items')}/batch/associate/default",
        {"inputs": [{"from": {"id": cart["id"]}, "to": {"id": line["id"]}} for line in lines]},
    )
    read = api.post(
        f"{api.associations('line_items', 'carts')}/batch/read",
        {"inputs": [{"id": lines[0]["id"]}, {"id": "404"}]},
    )

    assert associated.status_code == 200
    assert [r["associationSpec"]["associationTypeId"] for r in associated.json()["results"]] == [590, 590]
    assert read.status_code == 207
    (result,) = read.json()["results"]
    assert result["from"] == {"id": lines[0]["id"]}
    assert result["to"] == [
        {
            "toObjectId": int(cart["id"]),
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 591, "label": None}],
        }
    ]
    assert read.json()["errors"][0]["context"]["ids"] == ["404"]
    assert sandbox.dump("carts")[0]["associations"] == {"line_items": [line["id"] for line in lines]}


def test_v4_batch_endpoints_are_exempt_from_the_ten_secondly_limit(api, sandbox):
    sandbox.set_limits(rate_limit=2)
    (created,) = api.create("orders", order())

    reads = [
        api.post(f"{api.associations('orders', 'contacts')}/batch/read", {"inputs": [{"id": created["id"]}]})
        for _ in range(4)
    ]
    listed = [api.get(api.objects("orders")).status_code for _ in range(2)]

    assert [r.status_code for r in reads] == [200, 200, 200, 200]
    assert listed == [200, 429]


def test_association_types_to_objects_the_sandbox_does_not_hold(api, sandbox):
    labels = api.get(f"{api.associations('orders', 'companies')}/labels")
    reverse = api.get(f"{api.associations('0-2', 'orders')}/labels")
    to_company = api.batch("orders", "create", [{"properties": order(), "associations": [assoc("77", 509)]}])
    companies = api.get(api.objects("companies"))

    assert labels.json()["results"] == [
        {"category": "HUBSPOT_DEFINED", "typeId": 934, "label": None},
        {"category": "HUBSPOT_DEFINED", "typeId": 509, "label": "Primary"},
    ]
    assert [r["typeId"] for r in reverse.json()["results"]] == [935, 510]
    assert to_company.status_code == 400
    assert to_company.json()["context"] == {"INVALID_OBJECT_IDS": ["COMPANY=77 is not valid"]}
    assert companies.status_code == 404
    assert sandbox.dump("orders") == []
