"""Which handler answers a HubSpot path, in either path family, and the scopes it needs.

Numbered paths (``/crm/v3/objects/orders/batch/create``) and date-versioned ones
(``/crm/objects/2026-09/orders/batch/create``) reach the same handlers with the ``Dialect`` of their version.
A route's name keeps its own family's path template, so the stats show which family a client used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from hubspot_sandbox.api_versions import ApiPath, Dialect
from hubspot_sandbox.associations_api import AssociationsApi
from hubspot_sandbox.auth import Auth, Principal
from hubspot_sandbox.error_bodies import ApiError, validation_error
from hubspot_sandbox.objects_api import ObjectsApi
from hubspot_sandbox.pipelines_api import PipelinesApi
from hubspot_sandbox.properties_api import PropertiesApi
from hubspot_sandbox.schema import OBJECTS_BY_KEY, ObjectType
from hubspot_sandbox.token_api import TokenApi
from hubspot_sandbox.validation_rules import RULES_FROM, ValidationRules

BATCH_ACTIONS = ("create", "upsert", "read", "update", "archive")
WRITE_ACTIONS = {"create", "upsert", "update", "archive"}
# Scopes HubSpot also accepts for products and line items.
LEGACY_SCOPES = {"products": ("e-commerce",), "line_items": ("e-commerce",)}


@dataclass
class Route:
    """A matched HubSpot endpoint: its name for the stats, the scopes it needs, the call that answers it."""

    name: str
    scopes: tuple[str, ...]
    call: Callable[[], tuple[int, Any]]
    write: bool = False
    inputs: int = 0


@dataclass(frozen=True)
class Call:
    """One request as the router sees it."""

    method: str
    path: ApiPath
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    dialect: Dialect = field(default_factory=Dialect)

    def json(self) -> Any:
        """The parsed JSON body; HubSpot answers 415 for other content types and 400 for invalid JSON."""
        if "application/json" not in (self.headers.get("Content-Type") or ""):
            raise ApiError(415, "", "Content type must be application/json")
        try:
            return json.loads(self.body)
        except json.JSONDecodeError as error:
            raise validation_error(
                f"Invalid input JSON on line {error.lineno}, column {error.colno}: {error.msg}"
            ) from None
        except UnicodeDecodeError:
            raise validation_error("Invalid input JSON: the body is not UTF-8") from None

    def form(self) -> dict[str, list[str]]:
        """The parsed form body of the OAuth endpoints (HubSpot takes nothing else there)."""
        if "application/x-www-form-urlencoded" not in (self.headers.get("Content-Type") or ""):
            raise validation_error("This endpoint takes an application/x-www-form-urlencoded body")
        return parse_qs(self.body.decode("utf-8", "replace"))


class Router:
    """Maps a parsed path to a Route over the sandbox's APIs."""

    def __init__(
        self,
        objects: ObjectsApi,
        properties: PropertiesApi,
        associations: AssociationsApi,
        pipelines: PipelinesApi,
        rules: ValidationRules,
    ) -> None:
        self.objects = objects
        self.properties = properties
        self.associations = associations
        self.pipelines = pipelines
        self.rules = rules

    def route(self, call: Call, principal: Principal) -> Route:
        """The endpoint of an authenticated CRM request (404 if none); bodies are parsed after the scope
        check. From 2026-09 on, writes see the portal's validation rules."""
        version = call.path.version
        enforced = Dialect(version).at_least(RULES_FROM)
        rules = self.rules.check(user_level=principal.oauth) if enforced else None
        call = Call(call.method, call.path, call.query, call.headers, call.body, Dialect(version, rules))
        handlers = {
            "objects": self._objects,
            "properties": self._properties,
            "pipelines": self._pipelines,
            "associations": self._associations,
        }
        handler = handlers.get(call.path.api)
        route = handler(call) if handler is not None else None
        if route is None:
            raise not_found(call.path.text)
        return route

    def _objects(self, call: Call) -> Route | None:
        """``.../objects/{type}[/{id} | /batch/{action} | /{id}/associations/{to}]``."""
        rest, path = call.path.rest, call.path
        if len(rest) == 4 and rest[2] == "associations" and path.version != "v3":
            _allow(call.method, "GET")
            from_obj, to_obj = object_type(rest[0]), object_type(rest[3], served_only=False)
            return Route(
                path.label("GET", from_obj.name, "{id}", "associations", to_obj.name),
                (from_obj.read_scope,),
                lambda: self.associations.of_record(from_obj, rest[1], to_obj),
            )
        if path.version == "v4" or not 1 <= len(rest) <= 3:
            return None
        obj = object_type(rest[0])
        read = (obj.read_scope, *LEGACY_SCOPES.get(obj.name, ()))
        write = (obj.write_scope, *LEGACY_SCOPES.get(obj.name, ()))
        if len(rest) == 3:
            if rest[1] != "batch" or rest[2] not in BATCH_ACTIONS:
                return None
            _allow(call.method, "POST")
            return self._object_batch(call, obj, rest[2], read if rest[2] == "read" else write)
        if len(rest) == 1:
            return self._object_collection(call, obj, read, write)
        return self._object_record(call, obj, rest[1], read, write)

    def _object_collection(
        self, call: Call, obj: ObjectType, read: tuple[str, ...], write: tuple[str, ...]
    ) -> Route:
        """``POST .../objects/{type}`` (create one) and ``GET .../objects/{type}`` (list)."""
        if call.method == "POST":
            return Route(
                call.path.label("POST", obj.name),
                write,
                lambda: self.objects.create_one(obj, call.json(), call.dialect),
                write=True,
                inputs=1,
            )
        _allow(call.method, "GET")
        return Route(
            call.path.label("GET", obj.name), read, lambda: self.objects.list(obj, call.query, call.path.base)
        )

    def _object_record(
        self, call: Call, obj: ObjectType, record_id: str, read: tuple[str, ...], write: tuple[str, ...]
    ) -> Route:
        """``GET``, ``PATCH`` and ``DELETE .../objects/{type}/{id}``."""
        label = call.path.label(call.method, obj.name, "{id}")
        if call.method == "PATCH":
            return Route(
                label,
                write,
                lambda: self.objects.update_one(obj, record_id, call.json(), call.query, call.dialect),
                write=True,
                inputs=1,
            )
        if call.method == "DELETE":
            return Route(label, write, lambda: self.objects.archive_one(obj, record_id), write=True, inputs=1)
        _allow(call.method, "GET")
        return Route(label, read, lambda: self.objects.get(obj, record_id, call.query))

    def _object_batch(self, call: Call, obj: ObjectType, action: str, scopes: tuple[str, ...]) -> Route:
        """``POST .../objects/{type}/batch/{action}``, counting its inputs for the stats."""
        route = Route(call.path.label("POST", obj.name, "batch", action), scopes, lambda: (0, None))
        route.write = action in WRITE_ACTIONS

        def batch() -> tuple[int, Any]:
            """Parse the body, count its inputs and run the batch."""
            data = call.json()
            inputs = data.get("inputs") if isinstance(data, dict) else None
            route.inputs = len(inputs) if isinstance(inputs, list) else 0
            return self.objects.batch(obj, action, data, call.dialect)

        route.call = batch
        return route

    def _associations(self, call: Call) -> Route | None:
        """``.../associations/{from}/{to}/labels`` and ``.../batch/{create | read | archive |
        associate/default}``."""
        rest = call.path.rest
        if len(rest) < 3:
            return None
        from_obj, to_obj = object_type(rest[0], served_only=False), object_type(rest[1], served_only=False)
        if rest[2:] == ("labels",):
            _allow(call.method, "GET")
            return Route(
                call.path.label("GET", from_obj.name, to_obj.name, "labels"),
                (from_obj.read_scope,),
                lambda: self.associations.labels(from_obj, to_obj),
            )
        action = "/".join(rest[3:])
        if rest[2] != "batch" or action not in ("create", "associate/default", "read", "archive"):
            return None
        _allow(call.method, "POST")
        if action == "read":
            return Route(
                call.path.label("POST", from_obj.name, to_obj.name, "batch", action),
                (from_obj.read_scope,),
                lambda: self.associations.batch_read(from_obj, to_obj, call.json()),
            )
        associations = self.associations
        if action == "archive":
            return Route(
                call.path.label("POST", from_obj.name, to_obj.name, "batch", action),
                (from_obj.write_scope,),
                lambda: associations.batch_archive(from_obj, to_obj, call.json()),
                write=True,
            )
        write = associations.batch_create if action == "create" else associations.batch_associate_default
        return Route(
            call.path.label("POST", from_obj.name, to_obj.name, "batch", action),
            (from_obj.write_scope,),
            lambda: write(from_obj, to_obj, call.json(), call.dialect),
            write=True,
        )

    def _properties(self, call: Call) -> Route | None:
        """``.../properties/{type}[/{name}]``."""
        rest = call.path.rest
        if not 1 <= len(rest) <= 2:
            return None
        obj = object_type(rest[0])
        read = (obj.read_scope, obj.schema_read_scope)
        if len(rest) == 2:
            _allow(call.method, "GET")
            return Route(
                call.path.label("GET", obj.name, "{name}"), read, lambda: self.properties.get(obj, rest[1])
            )
        if call.method == "POST":
            return Route(
                call.path.label("POST", obj.name),
                (obj.schema_write_scope,),
                lambda: self.properties.create(obj, call.json(), call.dialect),
                write=True,
            )
        _allow(call.method, "GET")
        return Route(call.path.label("GET", obj.name), read, lambda: self.properties.list(obj))

    def _pipelines(self, call: Call) -> Route | None:
        """``GET .../pipelines/{type}[/{pipelineId}]``."""
        rest = call.path.rest
        if not 1 <= len(rest) <= 2:
            return None
        _allow(call.method, "GET")
        obj = object_type(rest[0])
        scopes = (obj.read_scope, f"crm.pipelines.{obj.scope}.read", obj.schema_read_scope)
        if len(rest) == 2:
            return Route(
                call.path.label("GET", obj.name, "{pipelineId}"),
                scopes,
                lambda: self.pipelines.get(obj, rest[1]),
            )
        return Route(call.path.label("GET", obj.name), scopes, lambda: self.pipelines.list(obj))


def oauth_route(call: Call, auth: Auth, tokens: TokenApi) -> Route:
    """The OAuth endpoints, which take no bearer token: the token grant and token metadata."""
    path, rest = call.path, call.path.rest
    numbered_or_dated = path.version in ("v1", "v3") or path.dated
    if rest == ("token",) and numbered_or_dated:
        _allow(call.method, "POST")
        return Route(path.label("POST", "token"), (), lambda: auth.token(call.form()))
    if rest == ("token", "introspect") and (path.version == "v3" or path.dated):
        _allow(call.method, "POST")
        return Route(path.label("POST", "token", "introspect"), (), lambda: tokens.introspect(call.form()))
    if path.version == "v1" and len(rest) == 2 and rest[0] == "access-tokens":
        _allow(call.method, "GET")
        return Route(path.label("GET", "access-tokens", "{token}"), (), lambda: tokens.access_token(rest[1]))
    if path.version == "v2" and rest == ("private-apps", "get", "access-token-info"):
        _allow(call.method, "POST")
        return Route(path.label("POST", *rest), (), lambda: tokens.private_app(call.json()))
    raise not_found(path.text)


def object_type(key: str, *, served_only: bool = True) -> ObjectType:
    """The object type a path names (``orders``, ``0-123``...); unserved ones (companies...) if allowed."""
    obj = OBJECTS_BY_KEY.get(key)
    if obj is None:
        raise validation_error(f"Unable to infer object type from: {key}")
    if served_only and not obj.served:
        raise ApiError(
            404, "OBJECT_NOT_FOUND", f"The sandbox holds no {obj.name}, only association types to them"
        )
    return obj


def not_found(path: str) -> ApiError:
    """HubSpot's 404 for a path no endpoint answers."""
    return ApiError(404, "OBJECT_NOT_FOUND", f"resource not found: {path}")


def _allow(method: str, allowed: str) -> None:
    """405 for a method the endpoint does not take."""
    if method != allowed:
        raise ApiError(405, "", f"HTTP {method} is not supported by this resource")
