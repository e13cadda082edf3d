"""A stand-in for Airflow 3.3's ``context["task_state_store"]``, shared by the operator tests."""

from __future__ import annotations

import json


class FakeTaskStateStore:
    """Stands in for Airflow 3.3's ``context["task_state_store"]`` (needs a task runner to exist)."""

    def __init__(self) -> None:
        self.values: dict = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, *, retention=None):
        self.values[key] = json.loads(json.dumps(value))
