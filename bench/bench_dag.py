"""Benchmark: the whole ``hubspot_commerce_sync`` DAG (``airflow dags test``) against the sandbox at HubSpot's
Professional burst limit (190 requests / 10 s) and a 400 ms latency, in three phases of one run:

    DAG_BENCH phase=first_load records= floor_seconds= fraction= seconds= requests= writes= reads=
    DAG_BENCH phase=incremental records= changed= new= seconds= requests= writes= reads=
    DAG_BENCH phase=rerun records= seconds= requests= writes= reads=

``floor_seconds`` is the least time HubSpot's rolling window allows for the writes alone:
``(ceil(writes / 190) - 1) * 10 + 0.4``; ``fraction`` is floor_seconds / seconds. ``seconds`` runs from the
first task's start to the run's end; ``harness_seconds`` is what ``airflow dags test`` spends before that (it
starts an in-process API server for its first task), which a scheduler does not. The incremental run follows
1% of the records changing and 0.1% being added; the rerun is the same window again.

    python bench/bench_dag.py [--orders 15000]
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hubspot_commerce_lab.demo import DAG_ID, airflow, prepare_airflow, sync_environment
from hubspot_commerce_lab.sample_store import StoreSize, generate_store
from hubspot_sandbox.process import SandboxProcess

RATE_LIMIT = 190
WINDOW = {"window_start": "2030-01-01T00:00:00+00:00", "window_end": "2030-01-02T00:00:00+00:00"}
IN_WINDOW = "2030-01-01 01:00:00"


def floor_seconds(writes: int) -> float:
    """Least wall time HubSpot's rolling 10 s window allows for ``writes`` requests."""
    return (math.ceil(writes / RATE_LIMIT) - 1) * 10 + 0.4 if writes else 0.0


def run_dag(env: dict[str, str], conf: dict, sandbox: SandboxProcess, log: Path) -> dict[str, float]:
    """One ``airflow dags test`` run; its duration (from the run's own start and end) and its requests."""
    before = sandbox.stats()
    airflow("dags", "test", DAG_ID, "-c", json.dumps(conf), env=env, log=log)
    after = sandbox.stats()
    requests = after["requests"] - before["requests"]
    writes = after["write_requests"] - before["write_requests"]
    seconds, harness = run_seconds(log)
    figures = {"seconds": seconds, "harness_seconds": harness}
    return {**figures, "requests": requests, "writes": writes, "reads": requests - writes}


def run_seconds(log: Path) -> tuple[float, float]:
    """From the first task's start to the run's end, and the harness's time before the first task, as
    Airflow logged them (``Task started``; ``run_duration=`` of ``DagRun Finished``)."""
    lines = log.read_text().splitlines()
    started = next(datetime.fromisoformat(line[:27]) for line in lines if "Task started" in line)
    finished = next(line for line in reversed(lines) if "run_duration=" in line)
    duration = float(finished.split("run_duration=", 1)[1].split(",", 1)[0])
    end = datetime.fromisoformat(finished.split("run_end_date=", 1)[1].split(",", 1)[0])
    seconds = (end - started.replace(tzinfo=UTC)).total_seconds()
    return seconds, duration - seconds


def change_store(store: Path, records: int) -> tuple[int, int]:
    """1% of the records change (orders' totals) and 0.1% are new (orders with one line each), all in the
    incremental window. Returns (changed, new) in records."""
    changed, new_orders = records // 100, max(1, records // 1000 // 2)
    with sqlite3.connect(store) as db:
        db.execute(
            "UPDATE orders SET total = total + 1, tax = tax + 1, updated_at = ? WHERE order_id IN "
            "(SELECT order_id FROM orders ORDER BY order_id LIMIT ?)",
            (IN_WINDOW, changed),
        )
        sku = db.execute("SELECT sku FROM products LIMIT 1").fetchone()[0]
        for i in range(new_orders):
            order_id = 9_000_000 + i
            db.execute(
                "INSERT INTO orders VALUES (?, NULL, ?, 'open', 'USD', 5, 0, 0, 0, 5, ?, ?)",
                (order_id, f"SO-{order_id}", IN_WINDOW, IN_WINDOW),
            )
            db.execute("INSERT INTO order_lines VALUES (?, 1, ?, 1, 5, NULL)", (order_id, sku))
    return changed, 2 * new_orders


def line(phase: str, figures: dict[str, float], **extra: float) -> str:
    fields = {**extra, **figures}
    return f"DAG_BENCH phase={phase} " + " ".join(
        f"{name}={value:.2f}" if isinstance(value, float) else f"{name}={value}"
        for name, value in fields.items()
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=15_000)
    args = parser.parse_args(argv)
    work = Path.cwd() / ".bench"
    work.mkdir(exist_ok=True)
    store = work / "dag-store.sqlite"
    size = StoreSize(products=args.orders * 3 // 10, customers=args.orders * 37 // 100, orders=args.orders,
                     carts=args.orders // 4)  # fmt: skip
    records = sum(generate_store(store, size).values())
    with SandboxProcess(
        tokens=["bench-token"], rate_limit=RATE_LIMIT, latency_ms=400, daily_limit=10**8
    ) as sandbox:
        env = sync_environment(store, sandbox.url, sandbox.token)
        prepare_airflow(env)
        first = run_dag(env, {"full_refresh": True}, sandbox, work / "dag-first.log")
        fraction = floor_seconds(int(first["writes"])) / first["seconds"]
        print(line("first_load", first, records=records, floor_seconds=floor_seconds(int(first["writes"])),
                   fraction=fraction), flush=True)  # fmt: skip
        changed, new = change_store(store, records)
        incremental = run_dag(env, WINDOW, sandbox, work / "dag-incremental.log")
        print(line("incremental", incremental, records=records, changed=changed, new=new), flush=True)
        rerun = run_dag(env, WINDOW, sandbox, work / "dag-rerun.log")
        print(line("rerun", rerun, records=records), flush=True)
        target = math.ceil(changed / 100) + math.ceil(new / 100) + 10
        print(
            f"targets: first_load fraction {fraction:.2f} >= 0.6, "
            f"reads {first['reads'] / first['requests']:.1%} "
            f"<= 2%; incremental requests {incremental['requests']:.0f} <= {target}; rerun requests "
            f"{rerun['requests']:.0f} <= 10 with {rerun['writes']:.0f} writes",
            flush=True,
        )


if __name__ == "__main__":
    main()
