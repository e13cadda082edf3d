"""Both path families share one portal: what one writes the other reads; the documented differences hold."""

from __future__ import annotations

import itertools

import pytest
import requests
from sandbox_helpers import FAMILIES, Api, assoc, order

NUMBERED_PREFIXES = ("/crm/v3/", "/crm/v4/", "/oauth/v1/")


@pytest.mark.parametrize(("writer", "reader"), list(itertools.permutations(FAMILIES, 2)))
def test_a_record_written_through_one_family_is_read_and_updated_through_another(sandbox, writer, reader):
    write, read = Api(sandbox.url, family=writer), Api(sandbox.url, family=reader)
    (contact,) = write.create("contacts", {"email": "ann@example.com"})
    (created,) = write.create("orders", order("Order #7"), associations=[assoc(contact["id"], 507)])

    got = read.get(f"{read.objects('orders')}/{created['id']}", properties="hs_order_name")
    batch = read.post(f"{read.objects('orders')}/batch/read", {"inputs": [{"id": created["id"]}]})
    listed = read.get(read.objects("orders"))
    links = read.get(read.record_associations("contacts", contact["id"], "orders"))
    updated = read.batch(
        "orders", "update", [{"id": created["id"], "properties": {"hs_order_name": "Order #8"}}]
    )

    assert got.status_code == 200 and got.json()["properties"]["hs_order_name"] == "Order #7"
    assert [r["id"] for r in batch.json()["results"]] == [created["id"]]
    assert [r["id"] for r in listed.json()["results"]] == [created["id"]]
    assert links.json()["results"] == [
        {
            "toObjectId": int(created["id"]),
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 508, "label": None}],
        }
    ]
    assert updated.status_code == 200
    (stored,) = sandbox.dump("orders")
    assert stored["properties"]["hs_order_name"] == "Order #8"
    assert stored["association_types"] == {"contacts": {contact["id"]: [507]}}


def test_stats_name_each_request_by_its_own_family(sandbox):
    dated, numbered = Api(sandbox.url, family="2026-09"), Api(sandbox.url, family="v3")
    (created,) = dated.create("orders", order())
    dated.get(f"{dated.objects('orders')}/{created['id']}")
    dated.get(dated.record_associations("orders", created["id"], "contacts"))
    dated.get(f"{dated.associations('orders', 'contacts')}/labels")
    dated.get(dated.properties("orders"))
    dated.get(dated.pipelines("orders"))

    only_dated = sandbox.stats()["by_path"]
    numbered.get(numbered.objects("orders"))
    numbered.get(f"{numbered.associations('orders', 'contacts')}/labels")

    assert only_dated == {
        "POST /crm/objects/2026-09/orders/batch/create": 1,
        "GET /crm/objects/2026-09/orders/{id}": 1,
        "GET /crm/objects/2026-09/orders/{id}/associations/contacts": 1,
        "GET /crm/associations/2026-09/orders/contacts/labels": 1,
        "GET /crm/properties/2026-09/orders": 1,
        "GET /crm/pipelines/2026-09/orders": 1,
    }
    assert not any(path.split(" ", 1)[1].startswith(NUMBERED_PREFIXES) for path in only_dated)
    by_path = sandbox.stats()["by_path"]
    assert by_path["GET /crm/v3/objects/orders"] == 1
    assert by_path["GET /crm/v4/associations/orders/contacts/labels"] == 1


@pytest.mark.parametrize("family", FAMILIES)
def test_association_category_may_be_left_out_on_date_versioned_paths_only(sandbox, family):
    api = Api(sandbox.url, family=family)
    (contact,) = api.create("contacts", {"email": "ann@example.com"})
    (payment,) = api.create(
        "commerce_payments", {"hs_initial_amount": "5", "hs_initiated_date": "2026-01-01T00:00:00Z"}
    )
    type_only = [{"associationTypeId": 507}]

    created = api.batch(
        "orders",
        "create",
        [{"properties": order(), "associations": [{"to": {"id": contact["id"]}, "types": type_only}]}],
    )
    linked = api.post(
        f"{api.associations('commerce_payments', 'contacts')}/batch/create",
        {
            "inputs": [
                {
                    "from": {"id": payment["id"]},
                    "to": {"id": contact["id"]},
                    "types": [{"associationTypeId": 387}],
                }
            ]
        },
    )

    if family == "v3":
        assert created.status_code == 400
        assert "associationCategory and associationTypeId are required" in created.json()["message"]
        assert linked.status_code == 207
        assert sandbox.dump("orders") == []
        assert sandbox.dump("commerce_payments")[0]["associations"] == {}
    else:
        assert created.status_code == 201
        assert linked.status_code == api.association_created
        (stored,) = sandbox.dump("orders")
        assert stored["association_types"] == {"contacts": {contact["id"]: [507]}}
        assert sandbox.dump("commerce_payments")[0]["association_types"] == {
            "contacts": {contact["id"]: [387]}
        }


@pytest.mark.parametrize("family", FAMILIES)
def test_association_batch_create_answers_200_from_2026_09_on(sandbox, family):
    api = Api(sandbox.url, family=family)
    (created,) = api.create("orders", order())
    (contact,) = api.create("contacts", {"email": "ann@example.com"})

    response = api.post(
        f"{api.associations('orders', 'contacts')}/batch/create",
        {
            "inputs": [
                {"from": {"id": created["id"]}, "to": {"id": contact["id"]}, "types": assoc("", 507)["types"]}
            ]
        },
    )

    assert response.status_code == (200 if family == "2026-09" else 201)
    assert "errors" not in response.json()
    assert sandbox.dump("orders")[0]["association_types"] == {"contacts": {contact["id"]: [507]}}


@pytest.mark.parametrize("family", FAMILIES)
def test_property_create_fields_the_2026_09_schema_dropped_are_refused_there(sandbox, family):
    api = Api(sandbox.url, family=family)
    definition = {
        "name": "net_margin",
        "label": "Net margin",
        "type": "number",
        "fieldType": "number",
        "groupName": "orderinformation",
        "numberDisplayHint": "currency",
        "currencyPropertyName": "hs_currency_code",
    }

    response = api.post(api.properties("orders"), definition)

    if family == "2026-09":
        assert response.status_code == 400
        assert 'Unrecognized field "' in response.json()["message"]
        assert api.get(f"{api.properties('orders')}/net_margin").status_code == 404
    else:
        assert response.status_code == 201
        assert api.get(f"{api.properties('orders')}/net_margin").json()["name"] == "net_margin"


@pytest.mark.parametrize(
    "path",
    [
        "/crm/objects/2025-09/orders",  # a date version the sandbox does not serve
        "/crm/v4/objects/orders",  # records live under v3 in the numbered family
        "/crm/v3/objects/orders/1/associations/contacts",  # the v3 associations API is not served
        "/crm/v3/associations/orders/contacts/labels",
        "/crm/v4/properties/orders",
        "/crm/pipelines/2026-03/orders/x/y/z",
        "/oauth/2026-09/access-tokens/abc",  # token metadata is a v1 endpoint only
    ],
)
def test_paths_outside_both_families_are_404(sandbox, path):
    response = Api(sandbox.url).get(path)

    assert response.status_code == 404
    assert response.json()["category"] == "OBJECT_NOT_FOUND"


@pytest.mark.parametrize("version", ["v1", "v3", "2026-03", "2026-09"])
def test_the_oauth_token_grant_answers_on_every_version(version):
    from hubspot_sandbox.process import SandboxProcess

    with SandboxProcess(oauth_clients=["app:secret:refresh-1"]) as sb:
        granted = requests.post(
            f"{sb.url}/oauth/{version}/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "app",
                "client_secret": "secret",
                "refresh_token": "refresh-1",
            },
            timeout=30,
        )
        listed = Api(sb.url, granted.json()["access_token"], family="2026-09").get(
            "/crm/objects/2026-09/orders"
        )

        assert granted.status_code == 200
        assert granted.json()["token_use"] == "access_token"
        assert listed.status_code == 200
        assert sb.stats()["by_path"][f"POST /oauth/{version}/token"] == 1
