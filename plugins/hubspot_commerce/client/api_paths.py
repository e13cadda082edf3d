"""Every HubSpot API path the client sends, built from one API version (the connection's ``api_version``).

HubSpot serves two path families on the same data: date-versioned (``crm/objects/2026-09/orders``, the
default) and numbered (``crm/v3/objects/orders``, ``crm/v4/associations/...``), which HubSpot stops
supporting in 2027. docs/explanation/api-versions.md maps them, with sources.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_API_VERSION = "2026-09"
NUMBERED = "v3"  # the numbered family: v3 objects, properties and pipelines, v4 associations
API_VERSIONS = (DEFAULT_API_VERSION, "2026-03", NUMBERED)
OBJECT_BATCH_ACTIONS = ("create", "read", "update", "upsert", "archive")
ASSOCIATION_BATCH_ACTIONS = ("create", "read", "archive")


@dataclass(frozen=True)
class ApiPaths:
    """The paths of one API version, relative to the API's base URL; an unknown version is a ValueError
    naming the allowed ones."""

    version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        """Refuse a version HubSpot does not serve on every API this client calls."""
        if self.version not in API_VERSIONS:
            allowed = ", ".join(API_VERSIONS)
            raise ValueError(
                f"api_version must be one of {allowed} (default {DEFAULT_API_VERSION}), got {self.version!r}"
            )

    @property
    def dated(self) -> bool:
        """Whether this version uses the date-versioned paths."""
        return self.version != NUMBERED

    def _crm(self, api: str, numbered: str) -> str:
        """The prefix of one CRM API: ``crm/<api>/<date>`` when dated, else ``crm/<numbered>/<api>``."""
        return f"crm/{api}/{self.version}" if self.dated else f"crm/{numbered}/{api}"

    def objects(self, object_type: str) -> str:
        """An object type's records: list them (GET) or create one (POST)."""
        return f"{self._crm('objects', 'v3')}/{object_type}"

    def record(self, object_type: str, record_id: str) -> str:
        """One record: read, update or archive it."""
        return f"{self.objects(object_type)}/{record_id}"

    def batch(self, object_type: str, action: str) -> str:
        """An object batch endpoint: ``create``, ``read``, ``update``, ``upsert`` or ``archive``."""
        if action not in OBJECT_BATCH_ACTIONS:
            raise ValueError(f"object batch action must be one of {OBJECT_BATCH_ACTIONS}, got {action!r}")
        return f"{self.objects(object_type)}/batch/{action}"

    def properties(self, object_type: str) -> str:
        """An object type's property definitions: list them (GET) or create one (POST)."""
        return f"{self._crm('properties', 'v3')}/{object_type}"

    def association_batch(self, from_type: str, to_type: str, action: str) -> str:
        """An association batch endpoint between two object types: ``create``, ``read`` or ``archive``."""
        if action not in ASSOCIATION_BATCH_ACTIONS:
            raise ValueError(
                f"association batch action must be one of {ASSOCIATION_BATCH_ACTIONS}, got {action!r}"
            )
        return f"{self._crm('associations', 'v4')}/{from_type}/{to_type}/batch/{action}"

    def pipelines(self, object_type: str) -> str:
        """An object type's pipelines and their stages (GET)."""
        return f"{self._crm('pipelines', 'v3')}/{object_type}"

    def account_details(self) -> str:
        """The account's details (GET): its time zone, at whose midnight the daily quota resets. The same
        path on every version: HubSpot documents no date-versioned form of the account information API."""
        return "account-info/v3/details"

    def private_app_token_info(self) -> str:
        """The scopes of a private app token or service key (POST ``{"tokenKey"}``). The same path on every
        version: HubSpot has no date-versioned form of it."""
        return "oauth/v2/private-apps/get/access-token-info"

    def oauth_token(self) -> str:
        """The OAuth token grant (POST, form-encoded): ``oauth/<date>/token``, else ``oauth/v1/token``."""
        return f"oauth/{self.version if self.dated else 'v1'}/token"

    def oauth_token_introspect(self) -> str:
        """An OAuth token's scopes, asked with the app's client id and secret (POST, form-encoded):
        ``oauth/<date>/token/introspect`` when dated, else ``oauth/v3/token/introspect``."""
        return f"oauth/{self.version if self.dated else 'v3'}/token/introspect"

    def oauth_token_metadata(self, token: str) -> str:
        """The scopes of an OAuth access token (GET). The same path on every version: the date-versioned
        ``token/introspect`` takes the OAuth app's client id and secret, which the connection lacks."""
        return f"oauth/v1/access-tokens/{token}"
