"""Benchmark (issue 13): the write path's memory against the number of records it writes.

N line items (each with ``airflow_source_key``, ``hs_product_id`` and a link to one of 1,000 orders, as the
DAG's ``create_order_line_items`` sends them) are written from a JSON-lines file through
``HubSpotBatchOperator`` (``create`` with the key property, a task state store, ids and rejections to an
output directory) into a sandbox whose rate and daily limits are out of the way and which answers without
latency, so the client's own cost shows. The operator runs alone in a child process, so that the process's
peak memory is the write's. HubSpot's state is then checked record by record: every key once, with the id
the operator reported, its name, its product and its order link. For each size it prints:

    WRITE_MEMORY records=<n> peak_rss_mb=<n> seconds=<s> cpu_us_per_record=<n> start_rss_mb=<n>
                 checkpoint_kb=<n>

* ``peak_rss_mb``: the child's peak resident memory (``VmHWM``), its imports included; ``start_rss_mb``:
  its resident memory just before ``execute`` (``VmRSS``). Not ``ru_maxrss``: Linux carries that over
  ``exec`` from the forking parent, whose check of the previous size holds every record.
* ``seconds`` and ``cpu_us_per_record``: wall time, and user + system CPU time per record, of ``execute``.
* ``checkpoint_kb``: what the task left in its ``task_state_store`` (as JSON text).

    python bench/bench_write_memory.py [--records 200000 1000000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".bench" / "write-memory"
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".bench" / "airflow"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from hubspot_commerce.batch.records import WriteRecord, WriteSpec  # noqa: E402
from hubspot_commerce.client.crm_properties import key_property_definition  # noqa: E402
from hubspot_commerce.contract import read_ids  # noqa: E402
from hubspot_commerce.hooks.hubspot import HubSpotHook  # noqa: E402
from hubspot_commerce.operators.batch import HubSpotBatchOperator  # noqa: E402
from hubspot_sandbox.process import SandboxProcess  # noqa: E402

TOKEN = "bench-token"
KEY = "airflow_source_key"
OUT_OF_THE_WAY = 10**9
ORDERS = 1_000
TO_ORDER = 514  # line item -> order


class StateStore:
    """Stands in for ``context["task_state_store"]``: each value kept as JSON text, as Airflow keeps it."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str, default: Any = None) -> Any:
        text = self.values.get(key)
        return default if text is None else json.loads(text)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        self.values[key] = json.dumps(value)

    def size_kb(self) -> float:
        return sum(len(key) + len(text) for key, text in self.values.items()) / 1024


def line_input(n: int, product_id: str, order_ids: Sequence[str]) -> dict[str, Any]:
    """The operator input of line item ``n``: four lines an order, every one of the same product."""
    return {
        "key": f"order:{100_000 + n // 4}:{n % 4 + 1}",
        "properties": {
            "name": f"Line {n}",
            "quantity": "2",
            "price": "59.20",
            "hs_line_item_currency_code": "USD",
            "hs_product_id": product_id,
        },
        "associations": [{"to_id": order_ids[n % len(order_ids)], "type_id": TO_ORDER}],
    }


def prepare_portal() -> tuple[str, list[str]]:
    """The key property on line items, one product and ``ORDERS`` orders; their ids."""
    hook = HubSpotHook()
    hook.ensure_properties("line_items", [key_property_definition(KEY)])
    product = WriteRecord("p", {"name": "Bench product", "price": "59.20"}, id="SKU-BENCH")
    products = hook.batch_write(WriteSpec("products", "upsert", id_property="hs_sku"), [product])
    orders = [WriteRecord(f"o{i}", {"hs_order_name": f"Order {i}"}) for i in range(ORDERS)]
    order_ids = hook.batch_write(WriteSpec("orders", "create"), orders).ids
    return products.ids["p"], [order_ids[f"o{i}"] for i in range(ORDERS)]


def write_inputs(path: Path, records: int, product_id: str, order_ids: Sequence[str]) -> None:
    """The JSON-lines input file, written line by line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for n in range(records):
            out.write(json.dumps(line_input(n, product_id, order_ids)) + "\n")


def memory_kb() -> dict[str, int]:
    """This process's ``VmRSS`` and ``VmHWM`` (peak), in kB, from ``/proc/self/status``."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def child(inputs: str, output_dir: str) -> None:
    """In the child process: run the operator once; print what it returned and what it cost."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    store = StateStore()
    operator = HubSpotBatchOperator(
        task_id="create_order_line_items",
        object_type="line_items",
        action="create",
        inputs=inputs,
        key_property=KEY,
        output_dir=output_dir,
    )
    start_rss_kb = memory_kb()["VmRSS"]
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = operator.execute(context={"task_state_store": store})
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    cost = {
        "seconds": seconds,
        "cpu_s": cpu,
        "peak_rss_kb": memory_kb()["VmHWM"],
        "start_rss_kb": start_rss_kb,
        "checkpoint_kb": store.size_kb(),
    }
    print("CHILD " + json.dumps({"result": result, "cost": cost}), flush=True)


def run_child(inputs: Path, output_dir: Path, log: Path) -> dict[str, Any]:
    """The operator in a child process (this script with ``--child``); what it printed."""
    command = [sys.executable, __file__, "--child", str(inputs), str(output_dir)]
    with log.open("w") as err:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=err, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("CHILD ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the write failed (exit {done.returncode}); its log: {log}")
    return json.loads(lines[-1].removeprefix("CHILD "))


def check_hubspot(
    sandbox: SandboxProcess, records: int, ids: dict[str, str], product_id: str, order_ids: Sequence[str]
) -> None:
    """Every line item once, with the id the operator reported, its name, product and order link."""
    import requests

    dump = requests.get(f"{sandbox.url}/_sandbox/dump/line_items", timeout=1800).json()
    assert len(dump) == records == len(ids), (len(dump), records, len(ids))
    by_key = {record["properties"][KEY]: record for record in dump}
    assert len(by_key) == records, "a key is there twice"
    for n in range(records):
        expected = line_input(n, product_id, order_ids)
        record = by_key[expected["key"]]
        assert record["id"] == ids[expected["key"]], expected["key"]
        assert record["properties"]["name"] == expected["properties"]["name"], expected["key"]
        assert record["properties"]["hs_product_id"] == product_id, expected["key"]
        assert record["associations"]["orders"] == [order_ids[n % ORDERS]], expected["key"]


def measure(sandbox: SandboxProcess, records: int) -> str:
    """One size: a fresh portal, the input file, the write in a child, the check; the WRITE_MEMORY line."""
    sandbox.reset()
    product_id, order_ids = prepare_portal()
    inputs = WORK / f"line_items-{records}.jsonl"
    write_inputs(inputs, records, product_id, order_ids)
    output_dir = WORK / f"out-{records}"
    child_out = run_child(inputs, output_dir, WORK / f"write-{records}.log")
    result, cost = child_out["result"], child_out["cost"]
    assert (result["created"], result["rejected"]) == (records, 0), result
    check_hubspot(sandbox, records, read_ids(result), product_id, order_ids)
    inputs.unlink()
    return (
        f"WRITE_MEMORY records={records} peak_rss_mb={cost['peak_rss_kb'] / 1024:.0f} "
        f"seconds={cost['seconds']:.1f} cpu_us_per_record={cost['cpu_s'] * 1e6 / records:.0f} "
        f"start_rss_mb={cost['start_rss_kb'] / 1024:.0f} checkpoint_kb={cost['checkpoint_kb']:.0f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--child", nargs=2, metavar=("INPUTS", "OUTPUT_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return
    with SandboxProcess(tokens=[TOKEN], rate_limit=OUT_OF_THE_WAY, daily_limit=OUT_OF_THE_WAY) as sandbox:
        os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = json.dumps(
            {"conn_type": "hubspot", "host": sandbox.url, "password": TOKEN}
        )
        for records in args.records:
            print(measure(sandbox, records), flush=True)


if __name__ == "__main__":
    main()
