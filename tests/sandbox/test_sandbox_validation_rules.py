"""The portal's write validation rules: enforced on writes through 2026-09 paths, per input under 207."""

from __future__ import annotations

import pytest
import requests
from sandbox_helpers import Api, assoc, order

from hubspot_sandbox.process import SandboxProcess


def _errors_by_trace(body: dict) -> dict[str, dict]:
    """A 207's error entries keyed by their input's trace id."""
    return {error["context"]["objectWriteTraceId"][0]: error for error in body["errors"]}


def _traced(*inputs: dict) -> list[dict]:
    """Inputs with trace ids t0, t1, ... (which turn on 207 partial results)."""
    return [{**item, "objectWriteTraceId": f"t{i}"} for i, item in enumerate(inputs)]


def test_a_property_the_create_form_requires(sandbox):
    sandbox.set_rules("orders", required_properties=["hs_source_store"])
    api = Api(sandbox.url, family="2026-09")

    response = api.batch(
        "orders",
        "create",
        _traced(
            {"properties": order("no store")}, {"properties": order("with store", hs_source_store="web")}
        ),
    )

    assert response.status_code == 207
    body = response.json()
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["t1"]
    assert _errors_by_trace(body) == {
        "t0": {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": "The property values provided are invalid",
            "context": {"objectWriteTraceId": ["t0"]},
            "errors": [
                {
                    "code": "MISSING_REQUIRED_PROPERTY",
                    "message": "A value for hs_source_store must be provided",
                    "context": {"propertyName": ["hs_source_store"]},
                }
            ],
            "links": {},
        }
    }
    (stored,) = sandbox.dump("orders")
    assert stored["properties"]["hs_order_name"] == "with store"


def test_a_conditionally_required_property_on_create_and_update(sandbox):
    rule = {"when": "hs_currency_code", "equals": "USD", "require": "hs_total_price"}
    sandbox.set_rules("orders", conditional_required=[rule])
    api, old = Api(sandbox.url, family="2026-09"), Api(sandbox.url, family="v3")
    first, second = old.create(
        "orders", order("old one", hs_currency_code="USD"), order("old two", hs_currency_code="USD")
    )

    created = api.batch(
        "orders",
        "create",
        _traced(
            {"properties": order("usd, no total", hs_currency_code="USD")},
            {"properties": order("usd with total", hs_currency_code="USD", hs_total_price="10")},
            {"properties": order("eur, no total")},
        ),
    )
    updated = api.batch(
        "orders",
        "update",
        _traced(
            {"id": first["id"], "properties": {"hs_order_name": "renamed"}},
            {"id": second["id"], "properties": {"hs_order_name": "priced", "hs_total_price": "5"}},
        ),
    )

    assert created.status_code == 207
    assert sorted(r["objectWriteTraceId"] for r in created.json()["results"]) == ["t1", "t2"]
    (problem,) = _errors_by_trace(created.json())["t0"]["errors"]
    assert problem == {
        "code": "MISSING_CONDITIONAL_REQUIRED_PROPERTY",
        "message": (
            "hs_total_price is required because of a conditional property rule based on [hs_currency_code]"
        ),
        "context": {"propertyName": ["hs_total_price"]},
    }
    # Checked on the record as the write would leave it: a record written before the rule must be fixed.
    assert updated.status_code == 207
    assert [r["objectWriteTraceId"] for r in updated.json()["results"]] == ["t1"]
    assert set(_errors_by_trace(updated.json())) == {"t0"}
    names = sorted(r["properties"]["hs_order_name"] for r in sandbox.dump("orders"))
    assert names == ["eur, no total", "old one", "priced", "usd with total"]


def test_an_association_the_create_form_requires(sandbox):
    sandbox.set_rules("orders", required_associations=["0-1"])
    api = Api(sandbox.url, family="2026-09")
    (contact,) = api.create("contacts", {"email": "ann@example.com"})

    response = api.batch(
        "orders",
        "create",
        _traced(
            {"properties": order("alone")},
            {"properties": order("linked"), "associations": [assoc(contact["id"], 507)]},
        ),
    )
    upserted = api.batch(
        "orders",
        "upsert",
        [{"id": "x", "idProperty": "hs_order_name", "properties": {}, "objectWriteTraceId": "u"}],
    )

    assert response.status_code == 207
    error = _errors_by_trace(response.json())["t0"]
    assert error["category"] == "VALIDATION_ERROR"
    assert error["errors"] == [
        {
            "code": "MISSING_REQUIRED_ASSOCIATION",
            "message": "An association to CONTACT must be provided",
            "context": {"toObjectTypeId": ["0-1"]},
        }
    ]
    assert upserted.status_code == 400  # hs_order_name is not unique: refused before any rule
    (stored,) = sandbox.dump("orders")
    assert stored["properties"]["hs_order_name"] == "linked"
    assert stored["associations"] == {"contacts": [contact["id"]]}


def test_an_association_the_connecting_user_may_not_edit():
    """HubSpot: the Edit Associations permission binds user-level OAuth tokens, not portal-level ones."""
    with SandboxProcess(tokens=["portal"], oauth_clients=["app:secret:refresh-1"]) as sb:
        token = requests.post(
            f"{sb.url}/oauth/2026-09/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "app",
                "client_secret": "secret",
                "refresh_token": "refresh-1",
            },
            timeout=30,
        ).json()["access_token"]
        user, portal = Api(sb.url, token, family="2026-09"), Api(sb.url, "portal", family="2026-09")
        sb.set_rules("orders", denied_associations=["contacts"])
        (contact,) = portal.create("contacts", {"email": "ann@example.com"})
        (unlinked,) = portal.create("orders", order("unlinked"))

        created = user.batch(
            "orders",
            "create",
            _traced(
                {"properties": order("linked"), "associations": [assoc(contact["id"], 507)]},
                {"properties": order("plain")},
            ),
        )
        reverse = user.post(
            "/crm/associations/2026-09/contacts/orders/batch/associate/default",
            {"inputs": [{"from": {"id": contact["id"]}, "to": {"id": unlinked["id"]}}]},
        )
        by_portal = portal.batch(
            "orders",
            "create",
            [{"properties": order("by portal"), "associations": [assoc(contact["id"], 507)]}],
        )
        orders = {r["properties"]["hs_order_name"]: r for r in sb.dump("orders")}

    assert created.status_code == 207
    error = _errors_by_trace(created.json())["t0"]
    assert (error["category"], error["message"]) == (
        "VALIDATION_ERROR",
        "Missing 'Edit Associations' permission.",
    )
    assert reverse.status_code == 207
    assert reverse.json()["errors"][0]["message"] == "Missing 'Edit Associations' permission."
    assert by_portal.status_code == 201
    assert set(orders) == {"unlinked", "plain", "by portal"}
    assert orders["unlinked"]["associations"] == {}
    assert orders["by portal"]["associations"] == {"contacts": [contact["id"]]}


def test_without_trace_ids_a_broken_rule_refuses_the_whole_batch(sandbox):
    sandbox.set_rules("orders", required_properties=["hs_source_store"])
    api = Api(sandbox.url, family="2026-09")

    batch = api.batch(
        "orders", "create", [{"properties": order(hs_source_store="web")}, {"properties": order()}]
    )
    single = api.post(api.objects("orders"), {"properties": order()})

    assert batch.status_code == 400
    assert batch.json()["errors"][0]["code"] == "MISSING_REQUIRED_PROPERTY"
    assert batch.json()["correlationId"]
    assert single.status_code == 400
    assert sandbox.dump("orders") == []


@pytest.mark.parametrize("family", ["v3", "2026-03"])
def test_the_rules_are_not_enforced_before_2026_09(sandbox, family):
    sandbox.set_rules(
        "orders",
        required_properties=["hs_source_store"],
        conditional_required=[{"when": "hs_currency_code", "equals": "EUR", "require": "hs_total_price"}],
        required_associations=["contacts"],
        denied_associations=["line_items"],
    )
    api = Api(sandbox.url, family=family)

    created = api.batch("orders", "create", [{"properties": order()}])

    assert created.status_code == 201
    assert len(sandbox.dump("orders")) == 1


def test_rules_are_listed_checked_and_cleared_by_reset(sandbox):
    rules = sandbox.set_rules(
        "0-123",
        required_properties=["hs_source_store"],
        conditional_required=[{"when": "hs_currency_code", "equals": "EUR", "require": "hs_total_price"}],
        required_associations=["contacts"],
    )
    listed = sandbox.rules()
    control = f"{sandbox.url}/_sandbox/rules"
    bad = [
        requests.put(f"{control}/orders", json={"required_properties": ["nope"]}, timeout=30),
        requests.put(f"{control}/orders", json={"required_associations": ["products"]}, timeout=30),
        requests.put(
            f"{control}/orders", json={"conditional_required": [{"when": "hs_currency_code"}]}, timeout=30
        ),
        requests.put(f"{control}/orders", json={"unknown": []}, timeout=30),
        requests.put(f"{control}/nope", json={}, timeout=30),
    ]
    sandbox.reset()

    assert (
        listed
        == rules
        == {
            "orders": {
                "required_properties": ["hs_source_store"],
                "conditional_required": [
                    {"when": "hs_currency_code", "equals": "EUR", "require": "hs_total_price"}
                ],
                "required_associations": ["contacts"],
                "denied_associations": [],
            }
        }
    )
    assert [response.status_code for response in bad] == [400, 400, 400, 400, 400]
    assert sandbox.rules() == {}
    assert (
        Api(sandbox.url, family="2026-09").batch("orders", "create", [{"properties": order()}]).status_code
        == 201
    )
