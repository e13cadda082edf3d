"""Helpers for the sandbox tests: a small HubSpot API client over ``requests`` (no project client code)."""

from __future__ import annotations

import json
from typing import Any

import requests

TOKEN = "test-token"


class Api:
    """Calls HubSpot paths on a sandbox with a bearer token, returning raw ``requests`` responses."""

    def __init__(self, url: str, token: str | None = TOKEN) -> None:
        self.url = url
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.url + path, json=body, timeout=30)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url + path, params=params, timeout=30)

    def batch(self, object_type: str, action: str, inputs: list[dict], **extra: Any) -> requests.Response:
        return self.post(f"/crm/v3/objects/{object_type}/batch/{action}", {"inputs": inputs, **extra})

    def create(self, object_type: str, *properties: dict, **extra: Any) -> list[dict]:
        """Create records (must succeed) and return the results in input order (matched by trace id)."""
        inputs = [
            {"properties": props, "objectWriteTraceId": f"t{i}", **extra}
            for i, props in enumerate(properties)
        ]
        response = self.batch(object_type, "create", inputs)
        assert response.status_code == 201, response.text
        by_trace = {result["objectWriteTraceId"]: result for result in response.json()["results"]}
        return [by_trace[f"t{i}"] for i in range(len(properties))]


def product(sku: str, **extra: str) -> dict:
    return {"hs_sku": sku, "name": f"Product {sku}", "price": "10.00", **extra}


def order(name: str = "Order #1", **extra: str) -> dict:
    return {"hs_order_name": name, "hs_currency_code": "EUR", **extra}


def assoc(to_id: str, type_id: int, category: str = "HUBSPOT_DEFINED") -> dict:
    return {"to": {"id": to_id}, "types": [{"associationCategory": category, "associationTypeId": type_id}]}


def problems(message: str) -> list[dict]:
    """The JSON list inside HubSpot's 'Property values were not valid: [...]' message."""
    prefix = "Property values were not valid: "
    assert message.startswith(prefix), message
    return json.loads(message[len(prefix) :])
