"""``FAULT=kill-worker``: one Celery worker dies alone mid-write, as an OOM kill, a drained node or a
reclaimed spot instance ends it, while the scheduler and the other worker go on.

The lab waits for a HubSpot create task running on a worker while creates of its object type pass the relay,
then sends
SIGKILL to that worker's whole session (Celery's main process, its pool and the task's supervisor and
runner): nothing is told, nothing is flushed. The task's heartbeat stops; the scheduler fails the try after
``task_instance_heartbeat_timeout`` (short in the lab: :data:`HEARTBEAT_TIMEOUT_S`) and queues its retry,
which the surviving worker runs from the write's checkpoint. The lab then checks that the retry succeeded on
another worker, and the graph check that HubSpot holds every record once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FAULTS = ("kill-worker",)
# Seconds without a heartbeat before the scheduler fails a running task (Airflow's default is 300).
HEARTBEAT_TIMEOUT_S = 45
CREATE_TASK_PREFIX = "create_"
# Object batch creates on either path family (association creates are not what is in doubt).
OBJECT_CREATES = re.compile(r"/crm/(?:objects/\d{4}-\d{2}|v3/objects)/([^/]+)/batch/create$")
IN_FLIGHT_S = 2.0  # creates seen this recently mean the write is under way


@dataclass(frozen=True)
class Victim:
    """The task instance whose worker is killed, as it was when the lab killed it."""

    worker: str
    run_id: str
    task_id: str
    try_number: int

    def describe(self) -> str:
        """For the lab's progress lines."""
        return f"{self.worker} while it ran {self.task_id} of {self.run_id} (try {self.try_number})"


def creates_in_flight(arrivals: Iterable[tuple[float, str]], now: float) -> Counter[str]:
    """Object types with creates that arrived at the relay in the last :data:`IN_FLIGHT_S` seconds, and how
    many (``(monotonic time, path)`` pairs)."""
    return Counter(
        match.group(1)
        for at, path in arrivals
        if now - at <= IN_FLIGHT_S and (match := OBJECT_CREATES.search(path))
    )


def choose_victim(
    task_instances: Iterable[dict[str, Any]],
    workers: Sequence[str],
    object_types: Mapping[str, str],
    in_flight: Mapping[str, int],
) -> Victim | None:
    """A create task running on one of ``workers`` (by the host name it reports) whose object type
    (``object_types``: task id -> object type) has creates in flight: the busiest, then the first by task
    id. A create task that is running but sends nothing (it is starting, or finishing) is never chosen."""
    candidates = [
        ti
        for ti in task_instances
        if ti["state"] == "running"
        and ti.get("hostname") in workers
        and ti["task_id"].startswith(CREATE_TASK_PREFIX)
        and in_flight.get(object_types.get(ti["task_id"], ""), 0) > 0
    ]
    if not candidates:
        return None
    ti = min(
        candidates, key=lambda t: (-in_flight[object_types[t["task_id"]]], t["task_id"], t["dag_run_id"])
    )
    return Victim(ti["hostname"], ti["dag_run_id"], ti["task_id"], int(ti.get("try_number") or 1))


def recovered(task_instances: Iterable[dict[str, Any]], victim: Victim) -> bool:
    """Whether the killed task finished on a later try, on another worker than the one killed: succeeded,
    or skipped because every record was already in HubSpot (the killed try had sent them all, and the retry's
    creates found them by their source key: nothing was left to create or update)."""
    for ti in task_instances:
        if (ti["dag_run_id"], ti["task_id"]) == (victim.run_id, victim.task_id):
            later = int(ti.get("try_number") or 0) > victim.try_number
            return ti["state"] in ("success", "skipped") and later and ti.get("hostname") != victim.worker
    return False
