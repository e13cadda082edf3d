"""FAULT=kill-worker's decisions: which worker to kill, when creates are in flight, whether its task
recovered."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hubspot_commerce_lab.distributed.worker_fault import Victim, choose_victim, creates_in_flight, recovered


def ti(task: str, state: str, host: str | None, run: str = "full", try_number: int = 1) -> dict[str, Any]:
    return {"dag_run_id": run, "task_id": task, "state": state, "hostname": host, "try_number": try_number}


TYPES = {
    "create_orders": "orders",
    "create_order_line_items": "line_items",
    "create_payments": "commerce_payments",
}


def test_the_victim_is_a_running_create_task_on_a_lab_worker_with_creates_in_flight() -> None:
    instances = [
        ti("update_orders", "running", "worker-a"),
        ti("create_payments", "success", "worker-a"),
        ti("create_orders", "running", "elsewhere"),
        ti("create_order_line_items", "running", "worker-b", try_number=2),
    ]
    workers = ["worker-a", "worker-b"]
    in_flight = Counter({"line_items": 3, "orders": 5})
    assert choose_victim(instances, workers, TYPES, in_flight) == Victim(
        "worker-b", "full", "create_order_line_items", 2
    )
    assert choose_victim(instances, workers, TYPES, Counter({"orders": 5})) is None, "nothing of its type"
    assert choose_victim(instances[:3], workers, TYPES, in_flight) is None


def test_the_busiest_create_task_is_chosen() -> None:
    instances = [ti("create_orders", "running", "worker-a"), ti("create_payments", "running", "worker-b")]
    in_flight = Counter({"orders": 1, "commerce_payments": 4})
    victim = choose_victim(instances, ["worker-a", "worker-b"], TYPES, in_flight)
    assert victim is not None and victim.task_id == "create_payments"


def test_creates_in_flight_counts_recent_object_creates_by_type() -> None:
    dated = "/crm/objects/2026-09/line_items/batch/create"
    numbered = "/crm/v3/objects/orders/batch/create"
    association = "/crm/associations/2026-09/orders/contacts/batch/create"
    arrivals = [(99.0, dated), (99.5, numbered), (99.6, dated), (90.0, numbered), (99.9, association)]
    assert creates_in_flight(arrivals, now=100.0) == Counter({"line_items": 2, "orders": 1})
    assert creates_in_flight([(99.9, "/crm/objects/2026-09/orders/batch/read")], 100.0) == Counter()


def test_the_task_recovered_when_a_later_try_succeeded_on_another_worker() -> None:
    victim = Victim("worker-a", "full", "create_orders", 1)
    assert recovered([ti("create_orders", "success", "worker-b", try_number=2)], victim)
    assert recovered([ti("create_orders", "skipped", "worker-b", try_number=2)], victim), "all existed"
    assert not recovered([ti("create_orders", "success", "worker-a", try_number=2)], victim)
    assert not recovered([ti("create_orders", "failed", "worker-b", try_number=2)], victim)
    assert not recovered([ti("create_orders", "success", "worker-b", try_number=1)], victim)
    assert not recovered([], victim)
