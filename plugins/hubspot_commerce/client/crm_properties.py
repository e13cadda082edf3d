"""HubSpot's properties API: an object type's property definitions, and creating the custom ones a sync
needs (the unique key property first of all)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hubspot_commerce.client.api_call import ApiCall
from hubspot_commerce.client.api_paths import ApiPaths
from hubspot_commerce.errors import HubSpotValidationError


def key_property_definition(name: str, label: str | None = None, description: str = "") -> dict[str, Any]:
    """A unique single-line text property that holds the source key of every record this package creates
    (unique, so HubSpot itself refuses a second record with the same key). No group is named:
    :meth:`PropertiesApi.ensure` puts it in the object's main group."""
    return {
        "name": name,
        "label": label or name.replace("_", " ").capitalize(),
        "type": "string",
        "fieldType": "text",
        "hasUniqueValue": True,
        "description": description
        or "Source key set by airflow-hubspot-commerce; unique, so a record is created once.",
    }


class PropertiesApi:
    """Reads and creates property definitions, one object type per request, several concurrently.

    :param warm_up: builds the HTTP session in the calling thread before the workers share it.
    """

    def __init__(
        self, request: ApiCall, paths: ApiPaths, *, max_workers: int, warm_up: Callable[[], object]
    ) -> None:
        self.request = request
        self.paths = paths
        self.max_workers = max_workers
        self.warm_up = warm_up

    def get(self, object_type: str) -> list[dict]:
        """The portal's property definitions for ``object_type``."""
        return list(self.request("GET", self.paths.properties(object_type)).get("results") or [])

    def get_by_type(self, object_types: Iterable[str]) -> dict[str, list[dict]]:
        """The property definitions of several object types, fetched concurrently (one request each)."""
        types = sorted(set(object_types))
        if not types:
            return {}
        self.warm_up()
        with ThreadPoolExecutor(max_workers=min(len(types), self.max_workers)) as pool:
            return dict(zip(types, pool.map(self.get, types), strict=True))

    def ensure_by_type(
        self, existing: Mapping[str, Sequence[Mapping[str, Any]]], definitions: Sequence[Mapping[str, Any]]
    ) -> dict[str, list[str]]:
        """:meth:`ensure` for several object types at once (``existing``: each type's current definitions),
        concurrently; returns the names created per type."""
        self.warm_up()
        with ThreadPoolExecutor(max_workers=min(len(existing), self.max_workers) or 1) as pool:
            created = pool.map(lambda t: self.ensure(t, definitions, existing[t]), list(existing))
            return dict(zip(existing, created, strict=True))

    def ensure(
        self,
        object_type: str,
        definitions: Sequence[Mapping[str, Any]],
        existing_definitions: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[str]:
        """Create the custom properties in ``definitions`` that do not exist yet; return the names created.

        ``existing_definitions`` (the object's definitions, when already fetched) saves reading them again.
        An existing property that should be unique (``hasUniqueValue``) but is not is an error: HubSpot
        only makes new properties unique, and exactly-once creates depend on it.
        """
        if existing_definitions is None:
            existing_definitions = self.get(object_type)
        existing = {p["name"]: p for p in existing_definitions}
        groups = Counter(p.get("groupName") for p in existing.values() if p.get("groupName"))
        created: list[str] = []
        for definition in definitions:
            name = definition["name"]
            current = existing.get(name)
            if current is None:
                body = dict(definition)
                if not body.get("groupName") and groups:  # the object's own main group always exists
                    body["groupName"] = groups.most_common(1)[0][0]
                try:
                    self.request("POST", self.paths.properties(object_type), body)
                except HubSpotValidationError as exc:
                    if exc.status != 409:
                        raise
                    # It exists after all: a try whose answer was lost made it, or another task did.
                    current = {p["name"]: p for p in self.get(object_type)}.get(name) or {}
                else:
                    created.append(name)
            if current and definition.get("hasUniqueValue") and not current.get("hasUniqueValue"):
                raise HubSpotValidationError(
                    f"{object_type} property {name!r} exists but is not unique (hasUniqueValue false); "
                    "HubSpot cannot make an existing property unique: choose another name"
                )
        return created
