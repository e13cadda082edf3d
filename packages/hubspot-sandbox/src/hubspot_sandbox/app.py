"""The request pipeline, independent of the HTTP server: faults, auth, limits, scopes, routing, headers.

HubSpot API requests go through faults -> latency -> authentication (401) -> rate limits (429) -> route ->
scope check (403) -> endpoint, in either path family (``router.py``). The OAuth endpoints take no bearer
token. Requests under ``/_sandbox/`` are the control API (``control_api.py``): no token, no limits.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hubspot_sandbox.api_versions import parse
from hubspot_sandbox.associations_api import AssociationsApi
from hubspot_sandbox.auth import Auth, Principal
from hubspot_sandbox.control_api import ControlApi
from hubspot_sandbox.error_bodies import ApiError
from hubspot_sandbox.faults import Fault, Faults
from hubspot_sandbox.limits import LimitState, RateLimiter
from hubspot_sandbox.objects_api import ObjectsApi
from hubspot_sandbox.pipelines_api import PipelinesApi
from hubspot_sandbox.properties_api import PropertiesApi
from hubspot_sandbox.router import Call, Route, Router, not_found, oauth_route
from hubspot_sandbox.schema import PORTAL_ID
from hubspot_sandbox.stats import Stats
from hubspot_sandbox.store import Store
from hubspot_sandbox.token_api import TokenApi
from hubspot_sandbox.validation_rules import ValidationRules

JSON_TYPE = "application/json;charset=utf-8"
EDGE_PAGE = b"<html><head><title>%d</title></head><body><h1>%d</h1><p>cloudflare</p></body></html>"


@dataclass
class Response:
    """What the HTTP layer sends; ``drop`` closes the connection instead of answering."""

    status: int
    body: Any = None  # JSON value, raw bytes, or None for no body
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE
    drop: bool = False


@dataclass(frozen=True)
class Settings:
    """Start-up configuration (the command-line flags)."""

    tokens: tuple[str, ...] = ("test-token",)
    rate_limit: int = 190
    daily_limit: int = 1_000_000
    latency_ms: int = 0
    oauth_clients: tuple[str, ...] = ()
    oauth_expires_in: int = 1800
    time_zone: str = "UTC"  # the portal's time zone: its daily quota resets at midnight there


class SandboxApp:
    """The sandbox's state and request handling."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store()
        self.objects = ObjectsApi(self.store)
        self.rules = ValidationRules()
        self.router = Router(
            self.objects, PropertiesApi(self.store), AssociationsApi(self.store), PipelinesApi(), self.rules
        )
        self.auth = Auth(list(settings.tokens), list(settings.oauth_clients), settings.oauth_expires_in)
        self.tokens = TokenApi(self.auth)
        self.control = ControlApi(self)
        self.limiter = RateLimiter(settings.rate_limit, settings.daily_limit, settings.time_zone)
        self.faults = Faults()
        self.stats = Stats()

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        """Answer one request (the HTTP layer's only call): faults, then the control API or HubSpot's API."""
        url = urlsplit(target)
        query = parse_qs(url.query, keep_blank_values=True)
        if url.path.startswith("/_sandbox/"):
            return Response(*self.control.handle(method, url.path, body))
        correlation_id = str(uuid.uuid4())
        fault = self.faults.take(url.path)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay_ms / 1000)
        if self.settings.latency_ms:
            time.sleep(self.settings.latency_ms / 1000)
        route_name, write, inputs = f"{method} {url.path}", False, 0
        if fault is not None and fault.kind == "status":
            response = self._fault_response(fault, correlation_id)
        else:
            try:
                response, route = self._api(method, url.path, query, headers, body, correlation_id)
                if route is not None:
                    route_name, write, inputs = route.name, route.write, route.inputs
            except ApiError as error:
                response = Response(error.status, error.body(correlation_id))
            response.drop = fault is not None and fault.kind == "drop_after_commit"
        response.headers["X-HubSpot-Correlation-Id"] = correlation_id
        response.headers["x-request-id"] = correlation_id
        self.stats.record(route_name, response.status, write=write, inputs=inputs, dropped=response.drop)
        return response

    # HubSpot's API

    def _api(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
        correlation_id: str,
    ) -> tuple[Response, Route | None]:
        """Authenticate, rate-limit, route, check scopes, call the endpoint (route None: nothing matched)."""
        api_path = parse(path)
        if api_path is None:
            raise not_found(path)
        call = Call(method, api_path, query, headers, body)
        if api_path.api == "oauth":
            return self._oauth(call, correlation_id)
        principal = self.auth.authenticate(headers.get("Authorization"))
        # HubSpot exempts the association batch endpoints from the ten-secondly limit (not the daily one).
        exempt = api_path.api == "associations" and "batch" in api_path.rest
        state = self.limiter.hit(principal.app, burst=not exempt)
        rate_headers = state.headers(with_daily=not principal.oauth)
        if state.policy is not None:
            return Response(429, _rate_limit_body(state.policy, correlation_id), rate_headers), None
        route: Route | None = None
        try:
            account = api_path.api == "account-info"
            route = self._account_info() if account else self.router.route(call, principal)
            self._check_scopes(principal, route.scopes)
            status, payload = route.call()
            response = Response(status, payload, rate_headers)
        except ApiError as error:
            response = Response(error.status, error.body(correlation_id), rate_headers)
        return response, route

    def _account_info(self) -> Route:
        """``GET /account-info/v3/details``: the portal's id, time zone and currency, as HubSpot's account
        information API answers. HubSpot's page names no scope for it: any valid token may call it here."""
        zone = self.limiter.time_zone
        offset = datetime.now(zone).utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        details = {
            "portalId": PORTAL_ID,
            "accountType": "STANDARD",
            "timeZone": zone.key,
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "utcOffset": f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}",
            "utcOffsetMilliseconds": minutes * 60_000,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }
        return Route("GET /account-info/v3/details", (), lambda: (200, details))

    @staticmethod
    def _check_scopes(principal: Principal, scopes: tuple[str, ...]) -> None:
        """403 MISSING_SCOPES unless the caller holds one of the endpoint's scopes."""
        if principal.has_any(scopes):
            return
        raise ApiError(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. "
            "Read more about required scopes here: https://developers.hubspot.com/scopes.",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": list(scopes)},
                }
            ],
            extra={"links": {"scopes": "https://developers.hubspot.com/scopes"}},
        )

    def _oauth(self, call: Call, correlation_id: str) -> tuple[Response, Route]:
        """The OAuth endpoints (no bearer token, not rate limited); their 400s have no category."""
        route = oauth_route(call, self.auth, self.tokens)
        status, payload = route.call()
        if status >= 400 and "correlationId" not in payload:
            payload = {**payload, "correlationId": correlation_id}
        return Response(status, payload), route

    def _fault_response(self, fault: Fault, correlation_id: str) -> Response:
        """The answer a scheduled status fault gives instead of the endpoint."""
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        status = fault.status or 500
        if status == 429:
            state = LimitState(
                policy=fault.policy,
                max=self.limiter.per_10s,
                remaining=0,
                daily=self.limiter.daily,
                daily_remaining=0 if fault.policy == "DAILY" else self.limiter.daily,
                secondly=max(1, self.limiter.per_10s // 10),
                secondly_remaining=0,
            )
            headers.update(state.headers(with_daily=True))
            return Response(429, _rate_limit_body(fault.policy, correlation_id), headers)
        if status in (502, 503, 504):  # answered by HubSpot's edge, not as JSON
            return Response(status, EDGE_PAGE % (status, status), headers, content_type="text/html")
        messages = {
            403: (
                "MISSING_SCOPES",
                "This app hasn't been granted all required scopes to make this call. "
                "Read more about required scopes here: https://developers.hubspot.com/scopes.",
            ),
            404: ("OBJECT_NOT_FOUND", "resource not found"),
            423: ("LOCKED", "The record is locked by another update. Locks will last for 2 seconds."),
            477: (
                "MIGRATION_IN_PROGRESS",
                "This portal is being migrated to another data center. Retry later.",
            ),
            500: ("", "internal error"),
        }
        category, message = messages[status]
        return Response(status, ApiError(status, category, message).body(correlation_id), headers)

    def reset(self) -> None:
        """Empty objects and custom properties, drop validation rules, forget counters and faults, restore
        the start-up limits."""
        self.store.reset()
        self.rules.clear()
        self.faults.clear()
        self.stats.reset()
        self.limiter.configure(self.settings.rate_limit, self.settings.daily_limit)


def _rate_limit_body(policy: str, correlation_id: str) -> dict:
    """HubSpot's 429 body for a policy (DAILY or TEN_SECONDLY_ROLLING)."""
    if policy == "DAILY":
        return {
            "status": "error",
            "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id,
            "policyName": "DAILY",
            "requestId": correlation_id,
        }
    return {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id,
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": "publicapi:private-app-api-calls-ten-secondly:24681357",
    }
