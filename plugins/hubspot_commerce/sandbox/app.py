"""The request pipeline, independent of the HTTP server: faults, auth, limits, scopes, routing, headers.

HubSpot API requests go through faults -> latency -> authentication (401) -> rate limits (429) -> route ->
scope check (403) -> endpoint. Requests under ``/_sandbox/`` are the control API: no token, no limits.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hubspot_commerce.sandbox.associations_api import AssociationsApi
from hubspot_commerce.sandbox.auth import Auth, Principal
from hubspot_commerce.sandbox.errors import ApiError, validation_error
from hubspot_commerce.sandbox.faults import Fault, Faults, parse_fault
from hubspot_commerce.sandbox.limits import LimitState, RateLimiter
from hubspot_commerce.sandbox.objects_api import ObjectsApi
from hubspot_commerce.sandbox.properties_api import PropertiesApi
from hubspot_commerce.sandbox.schema import OBJECTS_BY_KEY, ObjectType
from hubspot_commerce.sandbox.stats import Stats
from hubspot_commerce.sandbox.store import Store

JSON_TYPE = "application/json;charset=utf-8"
BATCH_ACTIONS = ("create", "upsert", "read", "update", "archive")
WRITE_ACTIONS = {"create", "upsert", "update", "archive"}
# Scopes HubSpot also accepts for products and line items.
LEGACY_SCOPES = {"products": ("e-commerce",), "line_items": ("e-commerce",)}
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


@dataclass
class Route:
    """A matched HubSpot endpoint: the scopes it needs and the call that answers it."""

    name: str
    scopes: tuple[str, ...]
    call: Callable[[], tuple[int, Any]]
    write: bool = False
    inputs: int = 0


class SandboxApp:
    """The sandbox's state and request handling."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store()
        self.objects = ObjectsApi(self.store)
        self.properties = PropertiesApi(self.store)
        self.associations = AssociationsApi(self.store)
        self.auth = Auth(list(settings.tokens), list(settings.oauth_clients), settings.oauth_expires_in)
        self.limiter = RateLimiter(settings.rate_limit, settings.daily_limit)
        self.faults = Faults()
        self.stats = Stats()

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        url = urlsplit(target)
        query = parse_qs(url.query, keep_blank_values=True)
        if url.path.startswith("/_sandbox/"):
            return self._control(method, url.path, body)
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
        if path == "/oauth/v1/token":
            return self._oauth(method, headers, body, correlation_id), None
        principal = self.auth.authenticate(headers.get("Authorization"))
        # HubSpot exempts the v4 association batch endpoints from the ten-secondly limit (not the daily one).
        v4_batch = path.startswith("/crm/v4/associations/") and "/batch/" in path
        state = self.limiter.hit(principal.app, burst=not v4_batch)
        rate_headers = state.headers(with_daily=not principal.oauth)
        if state.policy is not None:
            return Response(429, _rate_limit_body(state.policy, correlation_id), rate_headers), None
        route: Route | None = None
        try:
            route = self._route(method, path, query, headers, body)
            self._check_scopes(principal, route.scopes)
            status, payload = route.call()
            response = Response(status, payload, rate_headers)
        except ApiError as error:
            response = Response(error.status, error.body(correlation_id), rate_headers)
        return response, route

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], headers: Mapping[str, str], body: bytes
    ) -> Route:
        """The endpoint for a HubSpot path (404 if none); bodies are parsed only after the scope check."""
        parts = path.strip("/").split("/")
        route = None
        if parts[:3] == ["crm", "v3", "objects"] and len(parts) in (4, 5, 6):
            route = self._object_route(method, parts, query, headers, body)
        elif parts[:3] == ["crm", "v3", "properties"] and len(parts) in (4, 5):
            route = self._properties_route(method, parts, headers, body)
        elif parts[:3] == ["crm", "v4", "objects"] and len(parts) == 7 and parts[5] == "associations":
            _allow(method, "GET")
            from_obj, to_obj = _object_type(parts[3]), _object_type(parts[6], served_only=False)
            route = Route(
                f"GET /crm/v4/objects/{from_obj.name}/{{id}}/associations/{to_obj.name}",
                (from_obj.read_scope,),
                lambda: self.associations.of_record(from_obj, parts[4], to_obj),
            )
        elif parts[:3] == ["crm", "v4", "associations"] and len(parts) in (7, 8) and parts[5] == "batch":
            route = self._association_batch_route(method, parts, headers, body)
        elif parts[:3] == ["crm", "v4", "associations"] and len(parts) == 6 and parts[5] == "labels":
            _allow(method, "GET")
            from_obj, to_obj = (
                _object_type(parts[3], served_only=False),
                _object_type(parts[4], served_only=False),
            )
            route = Route(
                f"GET /crm/v4/associations/{from_obj.name}/{to_obj.name}/labels",
                (from_obj.read_scope,),
                lambda: self.associations.labels(from_obj, to_obj),
            )
        if route is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"resource not found: {path}")
        return route

    def _object_route(
        self,
        method: str,
        parts: list[str],
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Route | None:
        """``/crm/v3/objects/{type}[/{id} | /batch/{action}]``."""
        obj = _object_type(parts[3])
        read = (obj.read_scope, *LEGACY_SCOPES.get(obj.name, ()))
        write = (obj.write_scope, *LEGACY_SCOPES.get(obj.name, ()))
        base = f"/crm/v3/objects/{obj.name}"
        if len(parts) == 6 and parts[4] == "batch" and parts[5] in BATCH_ACTIONS:
            _allow(method, "POST")
            return self._object_batch_route(obj, parts[5], read, write, headers, body)
        if len(parts) == 4:
            if method == "POST":
                return Route(
                    f"POST {base}",
                    write,
                    lambda: self.objects.create_one(obj, _json_body(headers, body)),
                    write=True,
                    inputs=1,
                )
            _allow(method, "GET")
            return Route(f"GET {base}", read, lambda: self.objects.list(obj, query))
        if len(parts) == 5:
            record_id = parts[4]
            if method == "PATCH":
                return Route(
                    f"PATCH {base}/{{id}}",
                    write,
                    lambda: self.objects.update_one(obj, record_id, _json_body(headers, body), query),
                    write=True,
                    inputs=1,
                )
            if method == "DELETE":
                return Route(
                    f"DELETE {base}/{{id}}",
                    write,
                    lambda: self.objects.archive_one(obj, record_id),
                    write=True,
                    inputs=1,
                )
            _allow(method, "GET")
            return Route(f"GET {base}/{{id}}", read, lambda: self.objects.get(obj, record_id, query))
        return None

    def _object_batch_route(
        self,
        obj: ObjectType,
        action: str,
        read: tuple[str, ...],
        write: tuple[str, ...],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Route:
        """``POST /crm/v3/objects/{type}/batch/{action}``, counting its inputs for the stats."""
        base = f"/crm/v3/objects/{obj.name}"
        route = Route(f"POST {base}/batch/{action}", read if action == "read" else write, lambda: (0, None))
        route.write = action in WRITE_ACTIONS

        def batch() -> tuple[int, Any]:
            data = _json_body(headers, body)
            inputs = data.get("inputs") if isinstance(data, dict) else None
            route.inputs = len(inputs) if isinstance(inputs, list) else 0
            return self.objects.batch(obj, action, data)

        route.call = batch
        return route

    def _association_batch_route(
        self, method: str, parts: list[str], headers: Mapping[str, str], body: bytes
    ) -> Route | None:
        """``/crm/v4/associations/{from}/{to}/batch/{create | read | associate/default}``."""
        from_obj, to_obj = (
            _object_type(parts[3], served_only=False),
            _object_type(parts[4], served_only=False),
        )
        action = "/".join(parts[6:])
        calls = {
            "create": (from_obj.write_scope, self.associations.batch_create),
            "associate/default": (from_obj.write_scope, self.associations.batch_associate_default),
            "read": (from_obj.read_scope, self.associations.batch_read),
        }
        if action not in calls:
            return None
        _allow(method, "POST")
        scope, call = calls[action]
        return Route(
            f"POST /crm/v4/associations/{from_obj.name}/{to_obj.name}/batch/{action}",
            (scope,),
            lambda: call(from_obj, to_obj, _json_body(headers, body)),
            write=action != "read",
        )

    def _properties_route(
        self, method: str, parts: list[str], headers: Mapping[str, str], body: bytes
    ) -> Route:
        """``/crm/v3/properties/{type}[/{name}]``."""
        obj = _object_type(parts[3])
        read = (obj.read_scope, obj.schema_read_scope)
        if len(parts) == 5:
            _allow(method, "GET")
            return Route(
                f"GET /crm/v3/properties/{obj.name}/{{name}}",
                read,
                lambda: self.properties.get(obj, parts[4]),
            )
        if method == "POST":
            return Route(
                f"POST /crm/v3/properties/{obj.name}",
                (obj.schema_write_scope,),
                lambda: self.properties.create(obj, _json_body(headers, body)),
                write=True,
            )
        _allow(method, "GET")
        return Route(f"GET /crm/v3/properties/{obj.name}", read, lambda: self.properties.list(obj))

    @staticmethod
    def _check_scopes(principal: Principal, scopes: tuple[str, ...]) -> None:
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

    def _oauth(self, method: str, headers: Mapping[str, str], body: bytes, correlation_id: str) -> Response:
        _allow(method, "POST")
        if "application/x-www-form-urlencoded" not in (headers.get("Content-Type") or ""):
            raise validation_error("The token endpoint takes an application/x-www-form-urlencoded body")
        status, payload = self.auth.token(parse_qs(body.decode("utf-8", "replace")))
        if status != 200:
            payload = {**payload, "correlationId": correlation_id}
        return Response(status, payload)

    def _fault_response(self, fault: Fault, correlation_id: str) -> Response:
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
            423: ("LOCKED", "The record is locked by another update. Locks will last for 2 seconds."),
            477: (
                "MIGRATION_IN_PROGRESS",
                "This portal is being migrated to another data center. Retry later.",
            ),
            500: ("", "internal error"),
        }
        category, message = messages[status]
        return Response(status, ApiError(status, category, message).body(correlation_id), headers)

    # Control API

    def _control(self, method: str, path: str, body: bytes) -> Response:
        parts = path.strip("/").split("/")
        try:
            if parts == ["_sandbox", "reset"] and method == "POST":
                self.reset()
                return Response(200, {"reset": True})
            if parts == ["_sandbox", "stats"] and method == "GET":
                return Response(
                    200,
                    {
                        **self.stats.snapshot(),
                        "peak_requests_per_10s": self.limiter.peak,
                        "rate_limit": self.limiter.per_10s,
                        "daily_limit": self.limiter.daily,
                        "faults_pending": self.faults.pending(),
                    },
                )
            if len(parts) == 3 and parts[1] == "dump" and method == "GET":
                return Response(200, self.objects.dump(_object_type(parts[2])))
            if parts == ["_sandbox", "faults"] and method == "POST":
                fault = parse_fault(json.loads(body or b"{}"))
                self.faults.schedule(fault)
                return Response(200, {"scheduled": self.faults.pending()})
            if parts == ["_sandbox", "faults"] and method == "DELETE":
                self.faults.clear()
                return Response(200, {"scheduled": []})
            if parts == ["_sandbox", "limits"] and method == "POST":
                limits = json.loads(body or b"{}")
                self.limiter.configure(
                    int(limits.get("rate_limit", self.limiter.per_10s)),
                    int(limits.get("daily_limit", self.limiter.daily)),
                )
                return Response(200, {"rate_limit": self.limiter.per_10s, "daily_limit": self.limiter.daily})
        except (ValueError, TypeError) as error:
            return Response(400, {"error": str(error)})
        except ApiError as error:
            return Response(error.status, {"error": error.message})
        return Response(404, {"error": f"no control endpoint {method} {path}"})

    def reset(self) -> None:
        """Empty objects and custom properties, forget counters and faults, restore the start-up limits."""
        self.store.reset()
        self.faults.clear()
        self.stats.reset()
        self.limiter.configure(self.settings.rate_limit, self.settings.daily_limit)


def _object_type(key: str, *, served_only: bool = True) -> ObjectType:
    """The object type a path names (``orders``, ``0-123``...); unserved ones (companies...) if allowed."""
    obj = OBJECTS_BY_KEY.get(key)
    if obj is None:
        raise validation_error(f"Unable to infer object type from: {key}")
    if served_only and not obj.served:
        raise ApiError(
            404, "OBJECT_NOT_FOUND", f"The sandbox holds no {obj.name}, only association types to them"
        )
    return obj


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise ApiError(405, "", f"HTTP {method} is not supported by this resource")


def _json_body(headers: Mapping[str, str], body: bytes) -> Any:
    """The parsed JSON body; HubSpot answers 415 for other content types and 400 for invalid JSON."""
    if "application/json" not in (headers.get("Content-Type") or ""):
        raise ApiError(415, "", "Content type must be application/json")
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise validation_error(
            f"Invalid input JSON on line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except UnicodeDecodeError:
        raise validation_error("Invalid input JSON: the body is not UTF-8") from None


def _rate_limit_body(policy: str, correlation_id: str) -> dict:
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
