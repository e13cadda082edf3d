"""HubSpot's account information API: which portal the connection writes to, and its time zone (the daily
quota resets at the portal's midnight)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hubspot_commerce.client.api_call import ApiCall
from hubspot_commerce.client.api_paths import ApiPaths
from hubspot_commerce.errors import HubSpotMissingScopes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Portal:
    """The HubSpot account the connection writes to: its id and time zone (None when not readable)."""

    id: str | None
    time_zone: str | None


class AccountApi:
    """Reads the portal's details."""

    def __init__(self, request: ApiCall, paths: ApiPaths) -> None:
        self.request = request
        self.paths = paths

    def portal_details(self) -> Portal:
        """The portal's id and time zone; None for both when the token may not read them (HubSpot's page
        names no scope for it; assuming a token may lack one is the stricter choice): then the reset is
        taken to be midnight UTC, and the log says so."""
        try:
            body = self.request("GET", self.paths.account_details())
        except HubSpotMissingScopes as exc:
            log.warning(
                "The portal's time zone is unknown (%s); the daily reset is taken as UTC midnight", exc
            )
            return Portal(None, None)
        portal_id, time_zone = body.get("portalId"), body.get("timeZone")
        return Portal(str(portal_id) if portal_id else None, str(time_zone or "") or None)
