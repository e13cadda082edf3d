"""A small client of Airflow's REST API v2: everything the lab does to Airflow after start-up goes here.

Token from ``POST /auth/token`` (SimpleAuthManager), then pools, unpausing, triggering, backfills, runs,
task instances and task logs. Logs need ``Accept: application/json`` (``text/plain`` is refused: trap T11).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

PAGE = 100


class AirflowApiError(RuntimeError):
    """Airflow answered an error status; the message has the method, path, status and body."""


class AirflowApi:
    """Authenticated calls to one API server."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0) -> None:
        """A client of the API server at ``base_url``; call :meth:`login` before anything else."""
        self.base_url = base_url.rstrip("/")
        self.credentials = {"username": username, "password": password}
        self.timeout = timeout
        self.session = requests.Session()

    def login(self) -> None:
        """Get a JWT from ``POST /auth/token`` and send it on every later call."""
        answer = self.session.post(f"{self.base_url}/auth/token", json=self.credentials, timeout=self.timeout)
        if not answer.ok:
            raise AirflowApiError(f"POST /auth/token: HTTP {answer.status_code}: {answer.text[:300]}")
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call under ``/api/v2``; the parsed JSON answer, or :class:`AirflowApiError`."""
        answer = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=self.timeout, **kwargs)
        if not answer.ok:
            raise AirflowApiError(f"{method} /api/v2{path}: HTTP {answer.status_code}: {answer.text[:500]}")
        return answer.json() if answer.content else None

    def healthy(self) -> bool:
        """Whether the API server answers and reports the metadata DB, scheduler and DAG processor healthy."""
        try:
            health = self.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
        except (requests.RequestException, ValueError):
            return False
        parts = ("metadatabase", "scheduler", "dag_processor")
        return all((health.get(part) or {}).get("status") == "healthy" for part in parts)

    def dag_exists(self, dag_id: str) -> bool:
        """Whether the DAG processor has put the DAG in the metadata DB."""
        try:
            self.call("GET", f"/dags/{dag_id}")
        except AirflowApiError:
            return False
        return True

    def import_errors(self) -> list[dict[str, Any]]:
        """DAG files that failed to import (``filename``, ``stack_trace``)."""
        return self.call("GET", "/importErrors")["import_errors"]

    def set_pool(self, name: str, slots: int, description: str) -> None:
        """Create the pool (tasks cannot create pools; a task in a missing pool never runs)."""
        self.call("POST", "/pools", json={"name": name, "slots": slots, "description": description})

    def unpause(self, dag_id: str) -> None:
        """Unpause the DAG (with catchup off this creates one scheduled run at once: trap T7)."""
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """A manual run without a logical date; its run id."""
        run = self.call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        return str(run["dag_run_id"])

    def backfill(self, dag_id: str, from_date: str, to_date: str, max_active_runs: int) -> dict[str, Any]:
        """Create a backfill (both dates inclusive) after a dry run; returns the backfill and its dates."""
        body = {
            "dag_id": dag_id,
            "from_date": from_date,
            "to_date": to_date,
            "reprocess_behavior": "none",
            "max_active_runs": max_active_runs,
            "dag_run_conf": {},
        }
        planned = self.call("POST", "/backfills/dry_run", json=body)["backfills"]
        backfill = self.call("POST", "/backfills", json=body)
        return {**backfill, "logical_dates": [run["logical_date"] for run in planned]}

    def backfill_state(self, backfill_id: int) -> dict[str, Any]:
        """The backfill; ``completed_at`` is set once every one of its runs finished."""
        return self.call("GET", f"/backfills/{backfill_id}")

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of the DAG (``dag_run_id``, ``run_type``, ``state``, start and end dates)."""
        return self._pages(f"/dags/{dag_id}/dagRuns", "dag_runs")

    def task_instances(self, dag_id: str) -> list[dict[str, Any]]:
        """Every task instance of every run of the DAG (``hostname``, ``state``, ``try_number``, ...)."""
        return self._pages(f"/dags/{dag_id}/dagRuns/~/taskInstances", "task_instances")

    def task_log(self, ti: dict[str, Any]) -> list[str]:
        """The lines of a task instance's log (its latest try)."""
        path = (
            f"/dags/{ti['dag_id']}/dagRuns/{quote(ti['dag_run_id'], safe='')}/taskInstances/"
            f"{ti['task_id']}/logs/{max(int(ti.get('try_number') or 1), 1)}"
        )
        answer = self.call(
            "GET", path, params={"full_content": "true"}, headers={"Accept": "application/json"}
        )
        content = answer.get("content") or []
        if isinstance(content, str):
            return content.splitlines()
        return [format_log_entry(entry) for entry in content]

    def _pages(self, path: str, field: str) -> list[dict[str, Any]]:
        """Every item of a paginated collection (``limit``/``offset``)."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", path, params={"limit": PAGE, "offset": len(items)})
            items.extend(page[field])
            if not page[field] or len(items) >= page["total_entries"]:
                return items


# Fields every line of a task log repeats (or that format_log_entry shows its own way).
CONTEXT_FIELDS = {
    *("timestamp", "level", "event", "logger", "filename", "lineno", "loc", "error_detail", "exception"),
    *("dag_id", "run_id", "task_id", "ti_id", "map_index", "try_number"),
}


def format_log_entry(entry: Any) -> str:
    """One structured log entry as text: time, level, message, other fields, then any exception."""
    if not isinstance(entry, dict):
        return str(entry)
    head = " ".join(str(entry[k]) for k in ("timestamp", "level", "event") if entry.get(k) is not None)
    rest = {k: v for k, v in entry.items() if k not in CONTEXT_FIELDS}
    lines = [f"{head} {rest}" if rest else head]
    for error in entry.get("error_detail") or entry.get("exception") or []:
        if isinstance(error, dict):
            lines.append(f"    {error.get('exc_type')}: {error.get('exc_value')}")
    return "\n".join(lines)
