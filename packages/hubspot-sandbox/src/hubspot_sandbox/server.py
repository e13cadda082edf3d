"""The HTTP layer: a threading HTTP/1.1 server with keep-alive that hands each request to SandboxApp."""

from __future__ import annotations

import json
import sys
import traceback
import uuid
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hubspot_sandbox.app import Response, SandboxApp


class SandboxServer(ThreadingHTTPServer):
    """One thread per connection; daemon threads so stopping never waits for idle keep-alive clients."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp, *, verbose: bool = False) -> None:
        super().__init__(address, SandboxHandler)
        self.app = app
        self.verbose = verbose


class SandboxHandler(BaseHTTPRequestHandler):
    """Reads a request, asks the app, writes the response in one write (or drops the connection)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: SandboxServer

    def do_GET(self) -> None:
        """Every method is served the same way."""
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        """Read the body, let the app answer, write the response (or drop the connection)."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            response = self.server.app.handle(self.command, self.path, self.headers, body)
        except Exception as error:  # a sandbox bug: answer 500 and log it rather than drop the connection
            traceback.print_exc(file=sys.stderr)
            response = Response(
                500,
                {
                    "status": "error",
                    "message": f"sandbox internal error: {error!r}",
                    "correlationId": str(uuid.uuid4()),
                },
            )
        if response.drop:
            self.close_connection = True  # the work is done; the client sees the connection close unanswered
            return
        self.wfile.write(self._encode(response))
        if self.server.verbose:
            self.log_request(response.status)

    def _encode(self, response: Response) -> bytes:
        """Status line, headers and body as the bytes of one write."""
        if response.body is None:
            payload = b""
        elif isinstance(response.body, bytes):
            payload = response.body
        else:
            payload = json.dumps(response.body, separators=(",", ":")).encode()
        phrase = (
            HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        )
        lines = [
            f"HTTP/1.1 {response.status} {phrase}",
            f"Date: {formatdate(usegmt=True)}",
            f"Content-Length: {len(payload)}",
        ]
        if payload:
            lines.append(f"Content-Type: {response.content_type}")
        lines.extend(f"{name}: {value}" for name, value in response.headers.items())
        if self.close_connection or self.request_version != "HTTP/1.1":
            self.close_connection = True
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload

    def log_message(self, format: str, *args: object) -> None:
        """Log only with --verbose."""
        if self.server.verbose:
            super().log_message(format, *args)
