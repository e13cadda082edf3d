"""Helpers for the sandbox tests: a small HubSpot API client over ``requests`` (no project client code)."""

from __future__ import annotations

import json
from typing import Any

import requests

TOKEN = "test-token"
# HubSpot's path families: the numbered paths and the two date versions.
FAMILIES = ("v3", "2026-03", "2026-09")


class Api:
    """Calls HubSpot paths of one family on a sandbox with a bearer token, returning raw responses."""

    def __init__(self, url: str, token: str | None = TOKEN, family: str = "v3") -> None:
        self.url = url
        self.family = family
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _crm(self, api: str, numbered: str) -> str:
        """``/crm/{numbered}/{api}`` in the numbered family, ``/crm/{api}/{date}`` in a dated one."""
        return f"/crm/{numbered}/{api}" if self.family == "v3" else f"/crm/{api}/{self.family}"

    def objects(self, object_type: str) -> str:
        """The object API path of a type: ``/crm/v3/objects/orders`` or ``/crm/objects/2026-09/orders``."""
        return f"{self._crm('objects', 'v3')}/{object_type}"

    def record_associations(self, object_type: str, record_id: str, to_type: str) -> str:
        """A record's associations: ``/crm/v4/objects/...`` or ``/crm/objects/{date}/...``."""
        return f"{self._crm('objects', 'v4')}/{object_type}/{record_id}/associations/{to_type}"

    def associations(self, from_type: str, to_type: str) -> str:
        """A pair's association API path: ``/crm/v4/associations/...`` or ``/crm/associations/{date}/...``."""
        return f"{self._crm('associations', 'v4')}/{from_type}/{to_type}"

    def properties(self, object_type: str) -> str:
        """The properties API path of a type."""
        return f"{self._crm('properties', 'v3')}/{object_type}"

    @property
    def association_created(self) -> int:
        """Status of a fully successful association batch/create: 200 from 2026-09 on (its spec), else 201."""
        return 200 if self.family == "2026-09" else 201

    def pipelines(self, object_type: str) -> str:
        """The pipelines API path of a type."""
        return f"{self._crm('pipelines', 'v3')}/{object_type}"

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.url + path, json=body, timeout=30)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url + path, params=params, timeout=30)

    def batch(self, object_type: str, action: str, inputs: list[dict], **extra: Any) -> requests.Response:
        return self.post(f"{self.objects(object_type)}/batch/{action}", {"inputs": inputs, **extra})

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
