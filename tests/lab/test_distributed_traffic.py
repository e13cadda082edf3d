"""The relay's figures: the rolling 10 s peak (as HubSpot counts it) and the 429 count; and the relay itself
forwarding to a local HTTP server (status, headers, body and the record of each exchange)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from hubspot_commerce_lab.distributed.relay import Exchange, RecordingRelay, peak_in_window, summarize


def test_peak_counts_the_busiest_rolling_window() -> None:
    assert peak_in_window([]) == 0
    assert peak_in_window([0.0, 1.0, 2.0]) == 3
    # A request exactly 10 s after another is in a new window, as HubSpot's limiter drops t <= now - 10.
    assert peak_in_window([0.0, 10.0]) == 1
    assert peak_in_window([0.0, 9.99]) == 2
    assert peak_in_window([5.0, 0.0, 3.0, 12.0, 13.0, 14.0, 14.5]) == 5


def test_association_batches_do_not_count_towards_the_peak_but_429s_always_count() -> None:
    """HubSpot exempts the association batch endpoints of both path families from the burst limit."""
    exchanges = [
        Exchange(0.0, "POST", "/crm/v3/objects/orders/batch/create", 201),
        Exchange(0.1, "POST", "/crm/v4/associations/orders/contacts/batch/create", 201),
        Exchange(0.2, "POST", "/crm/v4/associations/orders/contacts/batch/read", 429),
        Exchange(0.3, "GET", "/crm/v4/objects/orders/1/associations/contacts", 200),
        Exchange(0.4, "POST", "/crm/v3/objects/orders/batch/read", 429),
        Exchange(0.5, "POST", "/crm/objects/2026-09/orders/batch/create", 201),
        Exchange(0.6, "POST", "/crm/associations/2026-09/orders/contacts/batch/create", 200),
        Exchange(0.7, "POST", "/crm/associations/2026-03/carts/line_items/batch/read?x=1", 200),
    ]
    traffic = summarize(exchanges, 190)
    assert (traffic.requests, traffic.peak_requests_10s, traffic.http_429) == (8, 4, 2)
    assert traffic.share_429 == pytest.approx(0.25)
    assert traffic.rate_limit_max == 190


class _Target(BaseHTTPRequestHandler):
    """Answers like HubSpot: 429 with Retry-After for /limited, else an echo of the request."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/limited":
            payload, status = b'{"policyName": "TEN_SECONDLY_ROLLING"}', 429
        else:
            echo = {"path": self.path, "body": json.loads(body), "auth": self.headers["Authorization"]}
            payload, status = json.dumps(echo).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-HubSpot-RateLimit-Max", "110")
        self.send_header("Retry-After", "1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_relay_forwards_unchanged_and_records_every_exchange(target: str) -> None:
    relay = RecordingRelay(target).start()
    try:
        with requests.Session() as session:
            session.headers["Authorization"] = "Bearer t"
            answer = session.post(f"{relay.url}/crm/v3/objects/orders/batch/read?x=1", json={"inputs": [1]})
            limited = session.post(f"{relay.url}/limited", json={})
    finally:
        relay.stop()
    assert answer.status_code == 200
    assert answer.json() == {
        "path": "/crm/v3/objects/orders/batch/read?x=1",
        "body": {"inputs": [1]},
        "auth": "Bearer t",
    }
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    assert [(e.path, e.status) for e in relay.exchanges] == [
        ("/crm/v3/objects/orders/batch/read", 200),
        ("/limited", 429),
    ]
    traffic = relay.traffic()
    assert (traffic.requests, traffic.http_429, traffic.rate_limit_max) == (2, 1, 110)
