"""FAULT=kill-worker's decisions: which worker to kill, when creates are in flight, whether its task
recovered."""

from __future__ import annotations

from typing import Any

from hubspot_commerce_lab.distributed.worker_fault import Victim, choose_victim, creates_in_flight, recovered


def ti(task: str, state: str, host: str | None, run: str = "full", try_number: int = 1) -> dict[str, Any]:
    return {"dag_run_id": run, "task_id": task, "state": state, "hostname": host, "try_number": try_number}


def test_the_victim_is_a_running_create_task_on_a_lab_worker() -> None:
    instances = [
        ti("update_orders", "running", "worker-a"),
        ti("create_payments", "success", "worker-a"),
        ti("create_orders", "running", "elsewhere"),
        ti("create_order_line_items", "running", "worker-b", try_number=2),
    ]
    assert choose_victim(instances, ["worker-a", "worker-b"]) == Victim(
        "worker-b", "full", "create_order_line_items", 2
    )
    assert choose_victim(instances[:3], ["worker-a", "worker-b"]) is None


def test_creates_are_in_flight_only_for_recent_object_creates() -> None:
    dated = "/crm/objects/2026-09/line_items/batch/create"
    numbered = "/crm/v3/objects/orders/batch/create"
    association = "/crm/associations/2026-09/orders/contacts/batch/create"
    assert creates_in_flight([(99.0, dated)], now=100.0)
    assert creates_in_flight([(99.5, numbered)], now=100.0)
    assert not creates_in_flight([(90.0, dated)], now=100.0)
    assert not creates_in_flight(
        [(99.9, association), (99.9, "/crm/objects/2026-09/orders/batch/read")], 100.0
    )


def test_the_task_recovered_when_a_later_try_succeeded_on_another_worker() -> None:
    victim = Victim("worker-a", "full", "create_orders", 1)
    assert recovered([ti("create_orders", "success", "worker-b", try_number=2)], victim)
    assert not recovered([ti("create_orders", "success", "worker-a", try_number=2)], victim)
    assert not recovered([ti("create_orders", "failed", "worker-b", try_number=2)], victim)
    assert not recovered([ti("create_orders", "success", "worker-b", try_number=1)], victim)
    assert not recovered([], victim)
