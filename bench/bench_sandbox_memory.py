"""How much memory the local HubSpot sandbox needs per stored record.

A sandbox process (rate limit out of the way) receives what a first sync of a store sends: products, then
orders and as many order line items (each with ``airflow_source_key``, the line item with ``hs_product_id``
and a link to its order), all through ``batch/create``. The script reads the process's resident memory
(``VmRSS``) before and after, and its peak (``VmHWM``), from ``/proc/<pid>/status``, and prints:

    SANDBOX_MEMORY records=<n> seconds=<s> rss_mb=<n> peak_rss_mb=<n> bytes_per_record=<n>

``bytes_per_record`` is (VmRSS after - VmRSS before) / records: what one more record with its link costs.

    python bench/bench_sandbox_memory.py [--orders 100000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from hubspot_sandbox.process import SandboxProcess

TOKEN = "bench-token"
BATCH = 100
PRODUCTS = 1_000
THREADS = 2
KEY = "airflow_source_key"
ORDER_VALUES = {  # what every order has in common; its keys, name and date are its own
    "hs_currency_code": "USD",
    "hs_subtotal_price": "118.40",
    "hs_order_discount": "0.00",
    "hs_tax": "9.47",
    "hs_shipping_cost": "4.99",
    "hs_total_price": "132.86",
    "hs_external_order_status": "delivered",
    "hs_pipeline": "14a2e10e-5471-408a-906e-c51f3b04369e",
    "hs_pipeline_stage": "3725360f-519b-4b18-a593-494d60a29c9f",
}
LINE_VALUES = {"quantity": "2", "price": "59.20", "hs_line_item_currency_code": "USD"}
TO_ORDER = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 514}]


def process_memory_kb(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of a process, in kB, from ``/proc/<pid>/status``."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


class Client:
    """A keep-alive connection per thread to the sandbox, sending JSON and answering JSON."""

    def __init__(self, url: str) -> None:
        address = urlsplit(url)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        self.headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def post(self, connection: http.client.HTTPConnection, path: str, body: dict) -> dict:
        """One POST; its JSON answer (RuntimeError unless 200/201)."""
        connection.request("POST", path, body=json.dumps(body), headers=self.headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"{path}: {response.status} {payload[:300]!r}")
        return json.loads(payload)

    def send_all(self, path: str, bodies: Iterator[dict]) -> list[dict]:
        """Every body POSTed by ``THREADS`` connections; the answers' results."""

        def work(chunk: list[dict]) -> list[dict]:
            """One connection's share of the bodies, sent in turn."""
            connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                return [result for body in chunk for result in self.post(connection, path, body)["results"]]
            finally:
                connection.close()

        bodies_list = list(bodies)
        chunks = [bodies_list[i::THREADS] for i in range(THREADS)]
        with ThreadPoolExecutor(THREADS) as pool:
            return [result for part in pool.map(work, chunks) for result in part]


def product_properties(n: int) -> dict[str, str]:
    """The properties of product ``n``."""
    return {
        "hs_sku": f"SKU-{n:05d}",
        "name": f"Product {n}",
        "price": "19.90",
        "description": f"Product {n}.",
    }


def products(client: Client) -> list[str]:
    """Create the products; their HubSpot ids."""
    bodies = (
        {
            "inputs": [
                {"properties": product_properties(n)} for n in range(start, min(start + BATCH, PRODUCTS))
            ]
        }
        for start in range(0, PRODUCTS, BATCH)
    )
    return [result["id"] for result in client.send_all("/crm/v3/objects/products/batch/create", bodies)]


def order_inputs(start: int, stop: int) -> dict:
    """A batch/create body of orders ``start`` to ``stop`` as the sync sends them."""
    return {
        "inputs": [
            {
                "objectWriteTraceId": str(n),
                "properties": {
                    **ORDER_VALUES,
                    KEY: str(100_001 + n),
                    "hs_external_order_id": str(100_001 + n),
                    "hs_order_name": f"SO-{100_001 + n}",
                    "hs_external_created_date": str(1_735_700_000_000 + n * 1000),
                },
            }
            for n in range(start, stop)
        ]
    }


def line_inputs(order_ids: list[str], product_ids: list[str], start: int) -> dict:
    """A batch/create body of one line item per order, linked to it (514) and to a product."""
    inputs = []
    for offset, order_id in enumerate(order_ids):
        n = start + offset
        properties = {
            **LINE_VALUES,
            KEY: f"order:{100_001 + n}:1",
            "hs_product_id": product_ids[n % len(product_ids)],
        }
        link = {"to": {"id": order_id}, "types": TO_ORDER}
        inputs.append({"objectWriteTraceId": str(n), "properties": properties, "associations": [link]})
    return {"inputs": inputs}


def create_key_property(sandbox: SandboxProcess, object_type: str) -> None:
    """The unique ``airflow_source_key`` text property the sync creates on its object types."""
    client = Client(sandbox.url)
    connection = http.client.HTTPConnection(client.host, client.port, timeout=60)
    body = {
        "name": KEY,
        "label": "Source key",
        "type": "string",
        "fieldType": "text",
        "groupName": "information",
        "hasUniqueValue": True,
    }
    try:
        client.post(connection, f"/crm/v3/properties/{object_type}", body)
    finally:
        connection.close()


def fill(sandbox: SandboxProcess, orders: int) -> int:
    """Products, orders and one line item per order; the number of records created."""
    for object_type in ("orders", "line_items"):
        create_key_property(sandbox, object_type)
    client = Client(sandbox.url)
    product_ids = products(client)
    created = client.send_all(
        "/crm/v3/objects/orders/batch/create",
        (order_inputs(start, min(start + BATCH, orders)) for start in range(0, orders, BATCH)),
    )
    order_of = {int(r["properties"][KEY]) - 100_001: r["id"] for r in created}
    order_ids = [order_of[n] for n in range(orders)]
    client.send_all(
        "/crm/v3/objects/line_items/batch/create",
        (
            line_inputs(order_ids[start : start + BATCH], product_ids, start)
            for start in range(0, orders, BATCH)
        ),
    )
    return len(product_ids) + 2 * orders


def main(argv: list[str] | None = None) -> None:
    """Fill a fresh sandbox and print its memory per record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args(argv)
    with SandboxProcess(tokens=[TOKEN], rate_limit=10**9, daily_limit=10**9) as sandbox:
        pid = sandbox.pid
        before = process_memory_kb(pid)
        started = time.perf_counter()
        records = fill(sandbox, args.orders)
        seconds = time.perf_counter() - started
        after = process_memory_kb(pid)
    added = (after["VmRSS"] - before["VmRSS"]) * 1024
    print(
        f"SANDBOX_MEMORY records={records} seconds={seconds:.1f} rss_mb={after['VmRSS'] / 1024:.0f} "
        f"peak_rss_mb={after['VmHWM'] / 1024:.0f} bytes_per_record={added / records:.0f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
