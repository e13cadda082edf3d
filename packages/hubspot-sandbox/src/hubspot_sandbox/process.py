"""Run the sandbox as a real subprocess and drive its control API (for tests, benchmarks and the demo)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Any

import requests

READY = re.compile(r"HubSpot sandbox listening on (http://\S+)")


class SandboxProcess:
    """``hubspot-sandbox`` in a child process; a context manager, or call ``start()`` / ``stop()``."""

    def __init__(
        self,
        tokens: Iterable[str] = ("test-token",),
        rate_limit: int = 190,
        daily_limit: int = 1_000_000,
        latency_ms: int = 0,
        port: int = 0,
        host: str = "127.0.0.1",
        oauth_clients: Iterable[str] = (),
        time_zone: str = "UTC",
        extra_args: Iterable[str] = (),
        startup_timeout: float = 20.0,
    ) -> None:
        self.tokens = list(tokens)
        self.args = [
            "--host",
            host,
            "--port",
            str(port),
            "--rate-limit",
            str(rate_limit),
            "--daily-limit",
            str(daily_limit),
            "--latency-ms",
            str(latency_ms),
            "--time-zone",
            time_zone,
            *(arg for token in self.tokens for arg in ("--token", token)),
            *(arg for client in oauth_clients for arg in ("--oauth-client", client)),
            *extra_args,
        ]
        self.startup_timeout = startup_timeout
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self._control = requests.Session()

    @property
    def token(self) -> str:
        """The first token, without its scope list."""
        return self.tokens[0].split(":", 1)[0]

    @property
    def pid(self) -> int:
        """The server process's id (to read its memory from ``/proc/<pid>/status``)."""
        assert self._process is not None, "start() first"
        return self._process.pid

    def start(self) -> SandboxProcess:
        """Start the process and wait for its ready line (RuntimeError if it never comes)."""
        command = [sys.executable, "-m", "hubspot_sandbox", *self.args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        match = READY.search(line[0]) if line else None
        if match is None:
            self.stop()
            raise RuntimeError(f"hubspot-sandbox did not start (said {line[0] if line else 'nothing'!r})")
        self.url = match.group(1)
        return self

    def stop(self) -> None:
        """Terminate the process (kill it after 5 s) and close the control session."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None
        self._control.close()

    def freeze(self) -> None:
        """Stop the server process in its tracks (SIGSTOP): HubSpot down, with its state kept. Connections
        queue up unanswered until :meth:`thaw`, as at an outage; requests sent meanwhile run after."""
        assert self._process is not None, "start() first"
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen server run again (SIGCONT)."""
        assert self._process is not None, "start() first"
        self._process.send_signal(signal.SIGCONT)

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # Control API

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        """One control API call; its JSON answer (HTTPError on failure)."""
        response = self._control.request(method, f"{self.url}/_sandbox/{path}", json=payload, timeout=30)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Empty objects and custom properties; forget counters and faults; restore the start-up limits."""
        self._call("POST", "reset")

    def stats(self) -> dict:
        """``requests``, ``by_status``, ``by_path``, ``write_requests``, ``peak_requests_per_10s``, ..."""
        return self._call("GET", "stats")

    def dump(self, object_type: str) -> list[dict]:
        """Every record of a type: ``{"id", "properties", "associations": {toType: [ids]},
        "association_types": {toType: {toId: [typeIds]}}, ...}``."""
        return self._call("GET", f"dump/{object_type}")

    def fault(
        self,
        status: int | None = None,
        *,
        kind: str | None = None,
        count: int = 1,
        path: str | None = None,
        policy: str | None = None,
        retry_after: int | None = None,
        delay_ms: int = 0,
    ) -> None:
        """Schedule a fault for the next ``count`` requests whose path contains ``path``.

        ``status`` 403/404/423/429/477/500/502/503/504 answers that status (429 with ``policy``
        TEN_SECONDLY_ROLLING or DAILY); ``kind="drop_after_commit"`` processes the request and then drops
        the connection; ``kind="delay"`` delays it by ``delay_ms``.
        """
        spec: dict[str, Any] = {"kind": kind or "status", "count": count, "delay_ms": delay_ms}
        for name, value in (
            ("status", status),
            ("path", path),
            ("policy", policy),
            ("retry_after", retry_after),
        ):
            if value is not None:
                spec[name] = value
        self._call("POST", "faults", spec)

    def clear_faults(self) -> None:
        """Cancel scheduled faults."""
        self._call("DELETE", "faults")

    def set_limits(self, rate_limit: int | None = None, daily_limit: int | None = None) -> None:
        """Change the limits at runtime (counters start again from zero)."""
        payload = {
            name: value
            for name, value in (("rate_limit", rate_limit), ("daily_limit", daily_limit))
            if value is not None
        }
        self._call("POST", "limits", payload)

    def day(self) -> dict:
        """The daily quota: ``daily_limit``, ``daily_used``, ``daily_remaining``, ``resets_at``,
        ``time_zone``."""
        return self._call("GET", "day")

    def next_day(self) -> dict:
        """Start the portal's next day now (its midnight): the daily quota is whole again."""
        return self._call("POST", "day", {"advance": True})

    def reset_daily_at(self, moment: datetime | None = None, *, in_seconds: float | None = None) -> dict:
        """End the current day at ``moment`` (aware), or ``in_seconds`` from now, instead of at midnight."""
        if moment is not None:
            return self._call("POST", "day", {"resets_at": moment.isoformat()})
        return self._call("POST", "day", {"resets_in_s": in_seconds})

    def set_rules(
        self,
        object_type: str,
        *,
        required_properties: Iterable[str] = (),
        conditional_required: Iterable[dict[str, str]] = (),
        required_associations: Iterable[str] = (),
        denied_associations: Iterable[str] = (),
    ) -> dict:
        """Replace an object type's write validation rules, enforced on writes through 2026-09 paths.

        ``conditional_required`` entries are ``{"when": property, "equals": value, "require": property}``;
        ``denied_associations`` (object types) bind user-level OAuth tokens only, as in HubSpot.
        """
        rules = {
            "required_properties": list(required_properties),
            "conditional_required": list(conditional_required),
            "required_associations": list(required_associations),
            "denied_associations": list(denied_associations),
        }
        return self._call("PUT", f"rules/{object_type}", rules)

    def rules(self) -> dict:
        """The write validation rules per object type."""
        return self._call("GET", "rules")

    def clear_rules(self) -> None:
        """Drop every write validation rule (``reset()`` does too)."""
        self._call("DELETE", "rules")
