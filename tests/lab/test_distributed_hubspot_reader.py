"""The check's HubSpot reader against the sandbox over HTTP: pages, a 429 retried, association batches, all on
HubSpot's date-versioned paths (records written through the numbered ones: one store behind both)."""

from __future__ import annotations

import time
from typing import Any

import requests

from hubspot_commerce_lab.distributed.hubspot_reader import HubSpotReader

TOKEN = "test-token"


def create(sandbox: Any, object_type: str, inputs: list[dict[str, Any]]) -> list[str]:
    """Create records through the sandbox's batch API; their ids in input order."""
    answer = requests.post(
        f"{sandbox.url}/crm/v3/objects/{object_type}/batch/create",
        json={"inputs": inputs},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    answer.raise_for_status()
    by_name = {
        r["properties"].get("hs_order_name") or r["properties"].get("email"): r["id"]
        for r in answer.json()["results"]
    }
    return [by_name[i["properties"].get("hs_order_name") or i["properties"].get("email")] for i in inputs]


def test_lists_every_page_and_retries_a_429_after_its_retry_after(sandbox: Any) -> None:
    for batch in range(3):
        contacts = [{"properties": {"email": f"c{batch}-{n}@example.com"}} for n in range(100)]
        create(sandbox, "contacts", contacts)
    sandbox.fault(status=429, count=1, path="objects/2026-09/contacts", retry_after=1)
    reader = HubSpotReader(sandbox.url, TOKEN)
    started = time.monotonic()
    records = reader.list_objects("contacts", ["email"])
    assert time.monotonic() - started >= 1, "waited for Retry-After"
    assert len(records) == 300 and len({r["id"] for r in records}) == 300
    assert {r["properties"]["email"] for r in records} >= {"c0-0@example.com", "c2-99@example.com"}
    assert reader.rate_limit_max == 1_000_000
    assert sandbox.stats()["by_status"]["429"] == 1
    assert sandbox.stats()["by_path"]["GET /crm/objects/2026-09/contacts"] == 4, "3 pages and the 429"


def test_reads_association_batches_with_their_type_ids(sandbox: Any) -> None:
    (contact,) = create(sandbox, "contacts", [{"properties": {"email": "buyer@example.com"}}])
    link = {
        "to": {"id": contact},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 507}],
    }
    orders = create(
        sandbox,
        "orders",
        [
            {"properties": {"hs_order_name": "with-contact"}, "associations": [link]},
            {"properties": {"hs_order_name": "guest"}},
        ],
    )
    links = HubSpotReader(sandbox.url, TOKEN).associations("orders", "contacts", [*orders, "987654321"])
    assert links == {orders[0]: {contact: [507]}, orders[1]: {}}
    reads = [path for path in sandbox.stats()["by_path"] if path.endswith("/batch/read")]
    assert reads == ["POST /crm/associations/2026-09/orders/contacts/batch/read"]
