"""The ``hubspot-sandbox`` command: start a local HubSpot on a port and serve until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys

from hubspot_sandbox.app import SandboxApp, Settings
from hubspot_sandbox.server import SandboxServer

DESCRIPTION = """\
A local HubSpot: serves HubSpot's CRM object APIs (products, orders, line_items, commerce_payments, carts,
contacts: batch and single-record), properties, associations, pipelines, the OAuth token endpoint and token
introspection, on the numbered paths (/crm/v3/objects, /crm/v4/associations) and the date-versioned ones
(/crm/objects/2026-03, /crm/objects/2026-09), and the account details (/account-info/v3/details: the time
zone, at whose midnight the daily quota resets), with HubSpot's validation, status codes, error bodies and
rate limits. From 2026-09 on, writes also meet the portal's validation rules. State lives in memory.

Control API (no token, not rate limited): POST /_sandbox/reset, GET /_sandbox/stats,
GET /_sandbox/dump/{objectType}, POST|DELETE /_sandbox/faults, POST /_sandbox/limits,
GET|POST /_sandbox/day (the daily quota; {"advance": true} starts the next day, {"resets_at": ISO} or
{"resets_in_s": n} moves its reset), GET|DELETE /_sandbox/rules, PUT /_sandbox/rules/{objectType}.
"""

EPILOG = """\
examples:
  hubspot-sandbox --port 8765 --token demo-token
  hubspot-sandbox --port 0 --token full --token readonly:crm.objects.products.read
  hubspot-sandbox --oauth-client my-app:my-secret:my-refresh-token
      then: curl -d grant_type=refresh_token -d client_id=my-app -d client_secret=my-secret \\
                 -d refresh_token=my-refresh-token http://127.0.0.1:8765/oauth/v1/token
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line: host, port, tokens, OAuth apps, limits, latency, verbosity."""
    parser = argparse.ArgumentParser(
        prog="hubspot-sandbox",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (default 8765)")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN[:SCOPES]",
        help="accepted bearer token, repeatable. TOKEN alone has every scope; "
        "TOKEN:scope1,scope2 only those (e.g. crm.objects.orders.write). Default: test-token",
    )
    parser.add_argument(
        "--oauth-client",
        action="append",
        default=[],
        metavar="ID:SECRET:REFRESH[:SCOPES]",
        help="OAuth app whose refresh token POST /oauth/v1/token exchanges for an access token "
        "(grant_type=refresh_token, form-encoded), repeatable",
    )
    parser.add_argument(
        "--oauth-expires-in",
        type=int,
        default=1800,
        help="lifetime in seconds of issued OAuth access tokens (default 1800)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=190,
        help="requests allowed per rolling 10 seconds (default 190, HubSpot Professional)",
    )
    parser.add_argument(
        "--daily-limit", type=int, default=1_000_000, help="requests allowed per day (default 1,000,000)"
    )
    parser.add_argument(
        "--time-zone",
        default="UTC",
        help="the portal's time zone (IANA name): the daily quota resets at midnight there (default UTC)",
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every HubSpot API response")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Start the sandbox and serve until SIGTERM or Ctrl-C."""
    args = build_parser().parse_args(argv)
    settings = Settings(
        tokens=tuple(args.token or ["test-token"]),
        rate_limit=args.rate_limit,
        daily_limit=args.daily_limit,
        latency_ms=args.latency_ms,
        oauth_clients=tuple(args.oauth_client),
        oauth_expires_in=args.oauth_expires_in,
        time_zone=args.time_zone,
    )
    server = SandboxServer((args.host, args.port), SandboxApp(settings), verbose=args.verbose)
    host, port = server.server_address[:2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"HubSpot sandbox listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
