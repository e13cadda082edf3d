"""The dump's ``association_types``: each link's type id on both sides, as HubSpot's v4 read reports them."""

from __future__ import annotations

from sandbox_helpers import assoc, order


def _v4_types(api, from_type: str, record_id: str, to_type: str) -> dict[str, list[int]]:
    """{to id: [type ids]} from ``GET /crm/v4/objects/{from}/{id}/associations/{to}``."""
    response = api.get(api.record_associations(from_type, record_id, to_type))
    assert response.status_code == 200
    return {
        str(result["toObjectId"]): [t["typeId"] for t in result["associationTypes"]]
        for result in response.json()["results"]
    }


def test_dump_reports_each_links_type_id_in_both_directions(api, sandbox):
    (contact,) = api.create("contacts", {"email": "ann@example.com"})
    (created,) = api.create("orders", order(), associations=[assoc(contact["id"], 507)])
    (line,) = api.create("line_items", {"name": "li"}, associations=[assoc(created["id"], 514)])
    (payment,) = api.create(
        "commerce_payments", {"hs_initial_amount": "5", "hs_initiated_date": "2026-01-01T00:00:00Z"}
    )
    linked = api.post(
        f"{api.associations('commerce_payments', 'orders')}/batch/create",
        {
            "inputs": [
                {
                    "from": {"id": payment["id"]},
                    "to": {"id": created["id"]},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 524}],
                }
            ]
        },
    )
    assert linked.status_code == api.association_created

    (stored_order,) = sandbox.dump("orders")
    (stored_contact,) = sandbox.dump("contacts")
    (stored_line,) = sandbox.dump("line_items")
    (stored_payment,) = sandbox.dump("commerce_payments")

    assert stored_order["association_types"] == {
        "contacts": {contact["id"]: [507]},
        "line_items": {line["id"]: [513]},
        "commerce_payments": {payment["id"]: [523]},
    }
    assert stored_contact["association_types"] == {"orders": {created["id"]: [508]}}
    assert stored_line["association_types"] == {"orders": {created["id"]: [514]}}
    assert stored_payment["association_types"] == {"orders": {created["id"]: [524]}}
    # The older field is unchanged, and both fields name the same records.
    assert stored_order["associations"] == {
        "contacts": [contact["id"]],
        "line_items": [line["id"]],
        "commerce_payments": [payment["id"]],
    }
    # Same type ids as HubSpot's own v4 read, in each direction.
    for stored, from_type in (
        (stored_order, "orders"),
        (stored_contact, "contacts"),
        (stored_line, "line_items"),
        (stored_payment, "commerce_payments"),
    ):
        for to_type, types in stored["association_types"].items():
            assert _v4_types(api, from_type, stored["id"], to_type) == types, (from_type, to_type)


def test_dump_has_empty_association_types_for_an_unlinked_record(api, sandbox):
    api.create("orders", order())

    (stored,) = sandbox.dump("orders")

    assert stored["associations"] == {}
    assert stored["association_types"] == {}
