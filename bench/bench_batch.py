"""Benchmark: N new orders through HubSpotBatchOperator vs. a hand-written sequential hubspot-api-client loop.

Both run against a local sandbox with HubSpot's Professional burst limit (190 requests / 10 s) and a
realistic 400 ms batch latency. The last line is machine-readable:

    BENCH records=... seconds=... min_seconds=... fraction_of_limit=... requests=... write_requests=...
          http_429=... batch_fill=... sequential_records_per_s=... speedup_vs_sequential=...

``min_seconds`` is the least time HubSpot's rolling window allows for ceil(records / 100) requests.

    python bench/bench_batch.py [--records 100000] [--sequential-records 10000]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".bench" / "airflow"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from hubspot import HubSpot  # noqa: E402
from hubspot.crm.objects import (  # noqa: E402
    BatchInputSimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputForCreate,
)

from hubspot_commerce.client.crm_properties import key_property_definition  # noqa: E402
from hubspot_commerce.contract import read_ids  # noqa: E402
from hubspot_commerce.hooks.hubspot import HubSpotHook  # noqa: E402
from hubspot_commerce.operators.batch import HubSpotBatchOperator  # noqa: E402
from hubspot_sandbox.process import SandboxProcess  # noqa: E402

TOKEN = "bench-token"
KEY = "bench_order_key"


def order_inputs(n: int, prefix: str) -> list[dict]:
    """N new orders as operator inputs."""
    return [
        {
            "key": f"{prefix}-{i}",
            "properties": {
                "hs_order_name": f"Bench order {i}",
                "hs_currency_code": "USD",
                "hs_total_price": f"{10 + i % 90}.50",
            },
        }
        for i in range(n)
    ]


def min_seconds(records: int, rate_limit: int) -> float:
    """Least wall time HubSpot's rolling 10 s window allows for these records at 100 per request."""
    return (math.ceil(math.ceil(records / 100) / rate_limit) - 1) * 10 + 0.4


def run_operator(sandbox: SandboxProcess, records: int) -> dict:
    """Create ``records`` orders through the operator; return timings, counts and memory."""
    hook = HubSpotHook()
    hook.ensure_properties("orders", [key_property_definition(KEY)])
    time.sleep(10.5)  # let the property calls leave the rolling window: the operator starts on a clean one
    inputs = order_inputs(records, "bench")
    before = sandbox.stats()
    operator = HubSpotBatchOperator(
        task_id="bench_create_orders", object_type="orders", action="create", inputs=inputs, key_property=KEY
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = operator.execute(context={})
    seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    after = sandbox.stats()
    ids = read_ids(result)
    dump = sandbox.dump("orders")
    keys = [r["properties"].get(KEY) for r in dump]
    assert len(keys) == len(set(keys)) == records, "duplicates or missing records"
    assert {r["properties"][KEY]: r["id"] for r in dump} == ids, "ids differ from HubSpot's"
    by_status_before, by_status_after = before["by_status"], after["by_status"]
    return {
        "seconds": seconds,
        "requests": after["requests"] - before["requests"],
        "write_requests": after["write_requests"] - before["write_requests"],
        "http_429": by_status_after.get("429", 0) - by_status_before.get("429", 0),
        "rss_growth_mb": (rss_after - rss_before) / 1024,  # ru_maxrss is in KiB on Linux
        "rss_peak_mb": rss_after / 1024,
        "created": result["created"],
        "rejected": result["rejected"],
        "peak_per_10s": after["peak_requests_per_10s"],
    }


def run_sequential(sandbox: SandboxProcess, records: int) -> float:
    """What a user writes by hand: hubspot-api-client's batch create in a plain loop. Records per second."""
    client = HubSpot(access_token=TOKEN, host=sandbox.url)
    inputs = order_inputs(records, "seq")
    started = time.perf_counter()
    for start in range(0, records, 100):
        batch = BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(properties=item["properties"], associations=[])
                for item in inputs[start : start + 100]
            ]
        )
        client.crm.objects.batch_api.create("orders", batch)
    seconds = time.perf_counter() - started
    assert len(sandbox.dump("orders")) == records
    return records / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=int(os.environ.get("BENCH_RECORDS", 100_000)))
    parser.add_argument("--sequential-records", type=int, default=10_000)
    parser.add_argument("--rate-limit", type=int, default=190)
    parser.add_argument("--latency-ms", type=int, default=400)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    with SandboxProcess(
        tokens=[TOKEN], rate_limit=args.rate_limit, daily_limit=100_000_000, latency_ms=args.latency_ms
    ) as sandbox:
        os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = json.dumps(
            {"conn_type": "hubspot", "host": sandbox.url, "password": TOKEN}
        )
        op = run_operator(sandbox, args.records)
        sandbox.reset()
        sequential_rate = run_sequential(sandbox, min(args.sequential_records, args.records))

    best = min_seconds(args.records, args.rate_limit)
    rate = args.records / op["seconds"]
    print(
        f"operator: {op['created']} created, {op['rejected']} rejected in {op['seconds']:.1f} s "
        f"({rate:.0f} records/s); peak requests in any 10 s: {op['peak_per_10s']} of {args.rate_limit}"
    )
    print(
        f"operator peak memory: process peak RSS {op['rss_peak_mb']:.0f} MB, of which "
        f"{op['rss_growth_mb']:.0f} MB added while the operator ran ({args.records} inputs already in memory)"
    )
    print(f"sequential hubspot-api-client loop: {sequential_rate:.0f} records/s")
    print(
        f"BENCH records={args.records} seconds={op['seconds']:.2f} min_seconds={best:.2f} "
        f"fraction_of_limit={best / op['seconds']:.3f} requests={op['requests']} "
        f"write_requests={op['write_requests']} http_429={op['http_429']} "
        f"batch_fill={args.records / max(op['write_requests'], 1) / 100:.3f} "
        f"sequential_records_per_s={sequential_rate:.1f} speedup_vs_sequential={rate / sequential_rate:.2f}"
    )


if __name__ == "__main__":
    main()
