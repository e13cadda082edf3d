"""HubSpot's pipelines API: an object type's pipelines and their stages."""

from __future__ import annotations

from hubspot_commerce.client.api_call import ApiCall
from hubspot_commerce.client.api_paths import ApiPaths


class PipelinesApi:
    """Reads the portal's pipelines (orders and carts move through their stages)."""

    def __init__(self, request: ApiCall, paths: ApiPaths) -> None:
        self.request = request
        self.paths = paths

    def get(self, object_type: str) -> list[dict]:
        """The portal's pipelines of ``object_type`` with their stages (ids and labels)."""
        return list(self.request("GET", self.paths.pipelines(object_type)).get("results") or [])
