"""How many full batch requests the local HubSpot sandbox serves per second.

Several client threads with keep-alive sessions send ``batch/create`` requests of 100 orders each (and a
share of ``batch/upsert`` of 100 products) to a sandbox started as a real process, and the script prints
requests/s and inputs/s. The sandbox must stay far above HubSpot's own limit (190 requests per 10 s) so it
is never the bottleneck of a client benchmark.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import urlsplit

from hubspot_sandbox.process import SandboxProcess

THREADS = int(os.environ.get("BENCH_SANDBOX_THREADS", "4"))
REQUESTS = int(os.environ.get("BENCH_SANDBOX_REQUESTS", "2000"))
BATCH = 100
TOKEN = "bench-token"


def order_batch(batch_no: int) -> bytes:
    """A batch/create body of 100 orders with trace ids (one JSON encoding per request, done up front)."""
    inputs = [
        {
            "objectWriteTraceId": f"o-{batch_no}-{i}",
            "properties": {
                "hs_order_name": f"Order #{batch_no}-{i}",
                "hs_currency_code": "EUR",
                "hs_total_price": "338.50",
                "hs_external_order_id": f"{batch_no}-{i}",
                "hs_external_created_date": "2026-10-01T12:00:00Z",
                "hs_pipeline": "14a2e10e-5471-408a-906e-c51f3b04369e",
                "hs_pipeline_stage": "4b27b500-f031-4927-9811-68a0b525cbae",
            },
        }
        for i in range(BATCH)
    ]
    return json.dumps({"inputs": inputs}).encode()


def product_batch(batch_no: int) -> bytes:
    """A batch/upsert body of 100 products keyed by hs_sku (half of them repeat earlier SKUs)."""
    inputs = [
        {
            "idProperty": "hs_sku",
            "id": f"SKU-{(batch_no // 2) * BATCH + i}",
            "objectWriteTraceId": f"p-{batch_no}-{i}",
            "properties": {"name": f"Product {i}", "price": "19.90", "description": "benchmark product"},
        }
        for i in range(BATCH)
    ]
    return json.dumps({"inputs": inputs}).encode()


def client(url: str, bodies: list[tuple[str, bytes]], failures: list[str]) -> None:
    """One keep-alive connection (http.client: a light client, so the machine's CPU goes to the sandbox)."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for path, body in bodies:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status not in (200, 201):
            failures.append(f"{path}: {response.status} {payload[:200]!r}")
    connection.close()


def main() -> None:
    per_thread = REQUESTS // THREADS
    work = []
    for t in range(THREADS):
        bodies = []
        for n in range(per_thread):
            batch_no = t * per_thread + n
            if n % 4 == 3:
                bodies.append(("/crm/v3/objects/products/batch/upsert", product_batch(batch_no)))
            else:
                bodies.append(("/crm/v3/objects/orders/batch/create", order_batch(batch_no)))
        work.append(bodies)
    failures: list[str] = []
    with SandboxProcess(tokens=[TOKEN], rate_limit=10**9, daily_limit=10**9) as sandbox:
        threads = [threading.Thread(target=client, args=(sandbox.url, bodies, failures)) for bodies in work]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        stats = sandbox.stats()
    total = per_thread * THREADS
    print(f"threads={THREADS} batch_size={BATCH} requests={total} failures={len(failures)}")
    print(f"inputs served={stats['inputs']} by_status={stats['by_status']}")
    for failure in failures[:5]:
        print("  failure:", failure)
    print(
        f"BENCH_SANDBOX requests={total} seconds={seconds:.2f} requests_per_s={total / seconds:.1f} "
        f"inputs_per_s={total * BATCH / seconds:.0f}"
    )
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
