"""The control API under ``/_sandbox/`` for tests: reset, stats, dumps, faults, limits, the day (when the
daily quota resets), validation rules.

It takes no token, is not rate limited and is not counted in the stats.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hubspot_sandbox.error_bodies import ApiError
from hubspot_sandbox.faults import parse_fault
from hubspot_sandbox.router import object_type
from hubspot_sandbox.validation_rules import parse_rules

if TYPE_CHECKING:
    from hubspot_sandbox.app import SandboxApp

Handler = Callable[[tuple[str, ...], bytes], tuple[int, Any]]


class ControlApi:
    """Answers ``/_sandbox/{name}[/{arg}]`` over the app's state."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self._handlers: dict[tuple[str, str], Handler] = {
            ("POST", "reset"): self._reset,
            ("GET", "stats"): self._stats,
            ("GET", "dump"): self._dump,
            ("POST", "faults"): self._schedule_fault,
            ("DELETE", "faults"): self._clear_faults,
            ("POST", "limits"): self._limits,
            ("GET", "day"): self._day,
            ("POST", "day"): self._move_day,
            ("GET", "rules"): self._rules,
            ("PUT", "rules"): self._set_rules,
            ("DELETE", "rules"): self._clear_rules,
        }

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        """(status, JSON body) for ``method path``; errors are ``{"error": ...}``."""
        parts = tuple(path.strip("/").split("/")[1:])
        name = parts[0] if parts else ""
        handler = self._handlers.get((method, name))
        with_arg = name == "dump" or (name == "rules" and method == "PUT")
        if handler is None or len(parts) != (2 if with_arg else 1):
            return 404, {"error": f"no control endpoint {method} {path}"}
        try:
            return handler(parts[1:], body)
        except (ValueError, TypeError, KeyError) as error:
            return 400, {"error": str(error)}
        except ApiError as error:
            return error.status, {"error": error.message}

    def _reset(self, _: tuple[str, ...], __: bytes) -> tuple[int, Any]:
        """Empty the portal (see SandboxApp.reset)."""
        self.app.reset()
        return 200, {"reset": True}

    def _stats(self, _: tuple[str, ...], __: bytes) -> tuple[int, Any]:
        """Counters, limits and pending faults."""
        app = self.app
        return 200, {
            **app.stats.snapshot(),
            "peak_requests_per_10s": app.limiter.peak,
            "rate_limit": app.limiter.per_10s,
            "daily_limit": app.limiter.daily,
            "faults_pending": app.faults.pending(),
        }

    def _dump(self, args: tuple[str, ...], _: bytes) -> tuple[int, Any]:
        """Every record of an object type."""
        return 200, self.app.objects.dump(object_type(args[0]))

    def _schedule_fault(self, _: tuple[str, ...], body: bytes) -> tuple[int, Any]:
        """Schedule a fault (see faults.parse_fault)."""
        self.app.faults.schedule(parse_fault(json.loads(body or b"{}")))
        return 200, {"scheduled": self.app.faults.pending()}

    def _clear_faults(self, _: tuple[str, ...], __: bytes) -> tuple[int, Any]:
        """Cancel scheduled faults."""
        self.app.faults.clear()
        return 200, {"scheduled": []}

    def _limits(self, _: tuple[str, ...], body: bytes) -> tuple[int, Any]:
        """Change the rate limits now (counters restart)."""
        limiter, limits = self.app.limiter, json.loads(body or b"{}")
        limiter.configure(
            int(limits.get("rate_limit", limiter.per_10s)), int(limits.get("daily_limit", limiter.daily))
        )
        return 200, {"rate_limit": limiter.per_10s, "daily_limit": limiter.daily}

    def _day(self, _: tuple[str, ...], __: bytes) -> tuple[int, Any]:
        """The daily quota: limit, used, remaining, ``resets_at``, the portal's time zone."""
        return 200, self.app.limiter.day()

    def _move_day(self, _: tuple[str, ...], body: bytes) -> tuple[int, Any]:
        """``{"advance": true}``: start the next day now; ``{"resets_at": ISO 8601}`` or
        ``{"resets_in_s": seconds}``: end the current day then instead of at midnight."""
        limiter, move = self.app.limiter, json.loads(body or b"{}")
        if move.get("advance"):
            limiter.new_day()
        elif "resets_at" in move:
            limiter.reset_at(datetime.fromisoformat(str(move["resets_at"])))
        elif "resets_in_s" in move:
            limiter.reset_at(datetime.now(UTC) + timedelta(seconds=float(move["resets_in_s"])))
        else:
            raise ValueError("give advance, resets_at or resets_in_s")
        return 200, limiter.day()

    def _rules(self, _: tuple[str, ...], __: bytes) -> tuple[int, Any]:
        """The write validation rules per object type."""
        return 200, self.app.rules.snapshot()

    def _set_rules(self, args: tuple[str, ...], body: bytes) -> tuple[int, Any]:
        """``PUT /_sandbox/rules/{objectType}``: replace that object type's write validation rules."""
        obj = object_type(args[0])
        rules = parse_rules(obj, json.loads(body or b"{}"), self.app.store.definitions(obj))
        self.app.rules.set(obj, rules)
        return 200, {obj.name: rules.to_json()}

    def _clear_rules(self, _: tuple[str, ...], __: bytes) -> tuple[int, Any]:
        """Drop every write validation rule."""
        self.app.rules.clear()
        return 200, {}
