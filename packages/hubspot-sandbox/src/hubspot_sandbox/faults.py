"""Scheduled faults: the next N matching requests answer an error status, are delayed, or are processed and
then lose their connection before the response (the write happened, the client sees a connection error)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("status", "drop_after_commit", "delay")
# 403: a scope taken from the app mid-run; 404: on the token introspection paths, a token they do not describe
STATUSES = (403, 404, 423, 429, 477, 500, 502, 503, 504)
POLICIES = ("TEN_SECONDLY_ROLLING", "DAILY")


@dataclass
class Fault:
    """One scheduled fault; ``count`` is how many more requests it applies to."""

    kind: str
    count: int = 1
    path: str | None = None  # only requests whose path contains this
    status: int | None = None
    policy: str = "TEN_SECONDLY_ROLLING"  # for status 429
    retry_after: int | None = None  # seconds, sent as Retry-After
    delay_ms: int = 0  # for kind "delay"


def parse_fault(spec: Any) -> Fault:
    """A Fault from the control API's JSON, or ValueError naming what is wrong."""
    if not isinstance(spec, dict):
        raise ValueError("a fault is a JSON object")
    unknown = set(spec) - {"kind", "count", "path", "status", "policy", "retry_after", "delay_ms"}
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    kind = spec.get("kind") or ("status" if "status" in spec else None)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    fault = Fault(
        kind=kind,
        count=int(spec.get("count", 1)),
        path=spec.get("path"),
        status=spec.get("status"),
        policy=spec.get("policy") or "TEN_SECONDLY_ROLLING",
        retry_after=spec.get("retry_after"),
        delay_ms=int(spec.get("delay_ms", 0)),
    )
    if fault.count < 1:
        raise ValueError("count must be at least 1")
    if kind == "status" and fault.status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}")
    if fault.policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}")
    if kind == "delay" and fault.delay_ms <= 0:
        raise ValueError("a delay fault needs delay_ms > 0")
    if fault.status == 477 and fault.retry_after is None:
        fault.retry_after = 1  # HubSpot always sends Retry-After with 477
    return fault


class Faults:
    """The queue of scheduled faults, consumed in the order they were scheduled."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def schedule(self, fault: Fault) -> None:
        """Queue a fault."""
        with self._lock:
            self._pending.append(fault)

    def clear(self) -> None:
        """Cancel every scheduled fault."""
        with self._lock:
            self._pending.clear()

    def pending(self) -> list[dict]:
        """The scheduled faults as the control API shows them."""
        with self._lock:
            return [asdict(fault) for fault in self._pending]

    def take(self, path: str) -> Fault | None:
        """The first fault matching ``path``, counting this request against it."""
        if not self._pending:
            return None
        with self._lock:
            for fault in self._pending:
                if fault.path is None or fault.path in path:
                    fault.count -= 1
                    if fault.count == 0:
                        self._pending.remove(fault)
                    return fault
        return None
