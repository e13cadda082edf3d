"""A recording relay in front of HubSpot: the DAG's ``hubspot_default`` points here, every request is
forwarded unchanged to the real base URL, and its arrival time and status are recorded.

Why a relay rather than the sandbox's ``/_sandbox/stats``: an already-running HubSpot (``HUBSPOT_URL``, or
HubSpot itself) has no stats endpoint, and the sandbox's counters would also count the harness's own check
reads. The relay sees exactly the DAG's requests, whatever HubSpot is behind it, so ``peak_requests_10s`` and
``http_429`` are measured the same way in both modes. HubSpot's own ``X-HubSpot-RateLimit-Max`` is read from
the answers, so the limit is HubSpot's, not an assumption.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

WINDOW_SECONDS = 10.0
# The association batch endpoints of both path families, which HubSpot exempts from the ten-secondly limit.
ASSOCIATION_BATCH = re.compile(r"/crm/(v4/associations|associations/[^/]+)/[^/]+/[^/]+/batch/")
# Hop-by-hop headers, and those requests rewrites (it decodes gzip bodies and sets lengths itself).
SKIPPED_REQUEST_HEADERS = {"host", "connection", "content-length", "accept-encoding", "keep-alive"}
# http.server writes its own Date and Server headers.
SKIPPED_RESPONSE_HEADERS = {
    "connection",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "keep-alive",
    "date",
    "server",
}


@dataclass(frozen=True)
class Exchange:
    """One relayed request: when it arrived (monotonic seconds), what it asked, what HubSpot answered."""

    at: float
    method: str
    path: str
    status: int

    @property
    def limited(self) -> bool:
        """Whether it counts against the ten-secondly limit: HubSpot exempts the association batch endpoints
        of both path families (and so does the sandbox)."""
        return not ASSOCIATION_BATCH.match(self.path)


@dataclass(frozen=True)
class Traffic:
    """What the DAG's requests looked like: the figures of the DISTRIBUTED line."""

    requests: int
    peak_requests_10s: int
    http_429: int
    rate_limit_max: int | None

    @property
    def share_429(self) -> float:
        """The fraction of requests answered 429."""
        return self.http_429 / self.requests if self.requests else 0.0


def peak_in_window(times: Iterable[float], window: float = WINDOW_SECONDS) -> int:
    """The most moments in any rolling window ``(t - window, t]``, as HubSpot's limiter counts them."""
    ordered = sorted(times)
    peak = 0
    for index, moment in enumerate(ordered):
        first = bisect.bisect_right(ordered, moment - window, 0, index + 1)
        peak = max(peak, index + 1 - first)
    return peak


def summarize(exchanges: Sequence[Exchange], rate_limit_max: int | None) -> Traffic:
    """Requests, the rolling 10 s peak of those the limit counts, and the 429 answers."""
    return Traffic(
        requests=len(exchanges),
        peak_requests_10s=peak_in_window(e.at for e in exchanges if e.limited),
        http_429=sum(e.status == 429 for e in exchanges),
        rate_limit_max=rate_limit_max,
    )


class RecordingRelay:
    """A threaded HTTP server on a free local port that forwards to ``target`` and records every exchange."""

    def __init__(self, target: str, timeout: float = 120.0) -> None:
        """Bind a free port now (so the URL is known); serve after :meth:`start`."""
        self.target = target.rstrip("/")
        self.timeout = timeout
        self.exchanges: list[Exchange] = []
        self.rate_limit_max: int | None = None
        self._sessions = threading.local()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="relay", daemon=True)

    @property
    def url(self) -> str:
        """The base URL the DAG's ``hubspot_default`` connection gets."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RecordingRelay:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (requests in flight finish on their own daemon threads)."""
        self._server.shutdown()
        self._server.server_close()

    def traffic(self) -> Traffic:
        """The figures of what was relayed so far."""
        return summarize(list(self.exchanges), self.rate_limit_max)

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> requests.Response:
        """Send one request on to HubSpot (one keep-alive session per relay thread); record it."""
        arrived = time.monotonic()
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = requests.Session()
        try:
            response = session.request(
                method, self.target + path, headers=headers, data=body or None, timeout=self.timeout
            )
        except requests.RequestException:
            self.exchanges.append(Exchange(arrived, method, path.split("?", 1)[0], 502))
            raise
        self.exchanges.append(Exchange(arrived, method, path.split("?", 1)[0], response.status_code))
        limit = response.headers.get("X-HubSpot-RateLimit-Max", "")
        if limit.isdigit():
            self.rate_limit_max = int(limit)
        return response


def _handler_class(relay: RecordingRelay) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to ``relay`` (http.server instantiates handlers by class)."""

    class RelayHandler(BaseHTTPRequestHandler):
        """Reads the request, forwards it, writes HubSpot's status, headers and body back."""

        protocol_version = "HTTP/1.1"  # keep-alive, as the hook's session expects

        def _relay(self) -> None:
            """Forward the request; answer what HubSpot answered (502 if it could not be reached)."""
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in SKIPPED_REQUEST_HEADERS}
            try:
                response = relay.forward(self.command, self.path, headers, body)
            except requests.RequestException as error:
                self._answer(502, {"Content-Type": "text/plain"}, f"relay: {error}".encode())
                return
            kept = {k: v for k, v in response.headers.items() if k.lower() not in SKIPPED_RESPONSE_HEADERS}
            self._answer(response.status_code, kept, response.content)

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            """Write status, headers and body, with the body's length (keep-alive)."""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the relay's records are the log."""

    return RelayHandler
