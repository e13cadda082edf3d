"""Request counters for the control API (``GET /_sandbox/stats``)."""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    """What the sandbox has served since the last reset (HubSpot API requests only, not the control API)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every counter."""
        with self._lock:
            self.requests = 0
            self.write_requests = 0
            self.inputs = 0
            self.dropped = 0
            self.by_status: Counter[str] = Counter()
            self.by_path: Counter[str] = Counter()

    def record(self, route: str, status: int, *, write: bool, inputs: int, dropped: bool) -> None:
        """Count one answered request."""
        with self._lock:
            self.requests += 1
            self.by_status[str(status)] += 1
            self.by_path[route] += 1
            self.write_requests += write
            self.inputs += inputs
            self.dropped += dropped

    def snapshot(self) -> dict:
        """The counters as the control API shows them."""
        with self._lock:
            return {
                "requests": self.requests,
                "write_requests": self.write_requests,
                "inputs": self.inputs,
                "dropped_connections": self.dropped,
                "by_status": dict(self.by_status),
                "by_path": dict(self.by_path),
            }
