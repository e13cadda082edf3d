"""Which scopes a token has: HubSpot's token metadata and introspection endpoints, for a pre-flight check.

* ``GET /oauth/v1/access-tokens/{token}``: an OAuth access token's metadata (HubSpot's OAuth v1 spec).
* ``POST /oauth/v2/private-apps/get/access-token-info`` with ``{"tokenKey": ...}``: a private app token's
  ``userId``, ``hubId``, ``appId`` and ``scopes`` (HubSpot's private apps guide). The sandbox's ``--token``
  tokens stand for private app tokens and service keys.
* ``POST /oauth/{v3,2026-03,2026-09}/token/introspect`` (form: ``token``, ``client_id``, ``client_secret``,
  ``token_type_hint``): validity and metadata of access and refresh tokens (HubSpot's OAuth 2026-03 spec).
None of them takes a bearer token.
"""

from __future__ import annotations

from typing import Any

from hubspot_sandbox.auth import Auth, Grant, Principal
from hubspot_sandbox.error_bodies import ApiError, malformed
from hubspot_sandbox.schema import OBJECT_TYPES, PORTAL_ID

USER_ID = 7654321
USER = "sandbox-admin@example.com"
HUB_DOMAIN = "sandbox.hubspot.test"
# What a token without a scope list holds: every scope the sandbox checks.
ALL_SCOPES = tuple(
    sorted(
        {"e-commerce"}
        | {
            scope
            for obj in OBJECT_TYPES
            for scope in (obj.read_scope, obj.write_scope, obj.schema_read_scope, obj.schema_write_scope)
        }
    )
)


class TokenApi:
    """Token metadata over the sandbox's tokens and OAuth apps."""

    def __init__(self, auth: Auth) -> None:
        self.auth = auth

    def access_token(self, token: str) -> tuple[int, dict]:
        """``GET /oauth/v1/access-tokens/{token}``: a live OAuth access token's metadata, else 404."""
        grant = self.auth.lookup(token)
        if grant is None or grant.kind != "access":
            raise ApiError(404, "OBJECT_NOT_FOUND", "The access token is unknown or expired")
        return 200, {
            **_metadata(grant.principal, token),
            "expires_in": grant.expires_in,
            "token_type": "access",
            "is_private_distribution": False,
            "signed_access_token": _signed(grant),
        }

    def private_app(self, body: Any) -> tuple[int, dict]:
        """``POST /oauth/v2/private-apps/get/access-token-info``: a private app token's scopes, else 404."""
        if not isinstance(body, dict) or set(body) != {"tokenKey"} or not isinstance(body["tokenKey"], str):
            raise malformed('the body must be {"tokenKey": "<private app access token>"}')
        grant = self.auth.lookup(body["tokenKey"])
        if grant is None or grant.kind != "static":
            raise ApiError(404, "OBJECT_NOT_FOUND", "The token is not a private app access token")
        return 200, {
            "userId": USER_ID,
            "hubId": PORTAL_ID,
            "appId": grant.principal.app_id,
            "scopes": _scopes(grant.principal),
        }

    def introspect(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        """``POST /oauth/{version}/token/introspect``: ``{"active": false}`` for unknown or expired tokens;
        OAuth tokens need their app's ``client_id`` and ``client_secret``."""
        field = {key: values[0] for key, values in form.items() if values}
        token = field.get("token")
        if not token:
            return 400, {"status": "BAD_REQUEST", "message": "token is required"}
        grant = self.auth.lookup(token)
        if grant is None:
            return 200, {"active": False}
        if grant.principal.oauth and not self.auth.client_matches(
            field.get("client_id"), field.get("client_secret")
        ):
            return 400, {"status": "BAD_CLIENT_ID", "message": "missing or invalid client id or secret"}
        body: dict[str, Any] = {
            "active": True,
            "token_use": "refresh_token" if grant.kind == "refresh" else "access_token",
            **_metadata(grant.principal, token),
            "client_id": grant.principal.client_id or grant.principal.app,
            "token_type": "bearer",
        }
        if grant.kind != "refresh":
            body["expires_in"] = grant.expires_in  # 0: a static token does not expire
            body["is_private_distribution"] = not grant.principal.oauth
            body["signed_access_token"] = _signed(grant)
        return 200, body


def _scopes(principal: Principal) -> list[str]:
    """A caller's scopes; a token without a scope list holds every scope."""
    return sorted(principal.scopes) if principal.scopes is not None else list(ALL_SCOPES)


def _metadata(principal: Principal, token: str) -> dict[str, Any]:
    """The fields every token description shares."""
    return {
        "token": token,
        "user": USER,
        "hub_domain": HUB_DOMAIN,
        "scopes": _scopes(principal),
        "hub_id": PORTAL_ID,
        "app_id": principal.app_id,
        "user_id": USER_ID,
    }


def _signed(grant: Grant) -> dict[str, Any]:
    """HubSpot's ``signed_access_token`` object (the sandbox signs nothing: signatures are empty)."""
    principal = grant.principal
    return {
        "appId": principal.app_id,
        "appInstallId": f"{principal.app_id}-{PORTAL_ID}",
        "audience": "api.hubapi.com",
        "expiresAt": 0,
        "hubId": PORTAL_ID,
        "hublet": "na1",
        "installingUserId": USER_ID,
        "isPrivateDistribution": not principal.oauth,
        "isServiceAccount": not principal.oauth,
        "isUserLevel": principal.oauth,
        "newSignature": "",
        "scopeToScopeGroupPks": "",
        "scopes": ",".join(_scopes(principal)),
        "signature": "",
        "trialScopeToScopeGroupPks": "",
        "trialScopes": "",
        "userId": USER_ID,
    }
