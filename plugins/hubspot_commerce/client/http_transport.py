"""Sending one request to HubSpot over a ``requests`` session: the answer whatever its status, a typed
error when none arrives, an expired OAuth access token refreshed once, no secret in any message."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests

from hubspot_commerce.batch.send import ApiResponse
from hubspot_commerce.client.oauth import OAuthToken
from hubspot_commerce.errors import HubSpotAuthError, HubSpotConnectionError, parse_body

CONNECT_TIMEOUT_S = 10.0  # a host that takes no connection is dead: say so in seconds, not a minute
# POST endpoints that only read: batch reads, searches, a token's scopes.
READ_ENDPOINTS = ("/batch/read", "/search", "/access-token-info", "/token/introspect")


class BearerToken(requests.auth.AuthBase):
    """Puts a static access token (a service key, a private app token) on each request."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class OAuthBearer(requests.auth.AuthBase):
    """Puts the OAuth app's current access token on each request (refreshed when it is about to expire)."""

    def __init__(self, token: OAuthToken) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token.current()}"
        return request


def bearer_auth(
    conn_id: str, token: str | None, oauth: OAuthToken | None, mask: Callable[[str], None]
) -> requests.auth.AuthBase:
    """The OAuth app's current access token when there is an app, else ``token`` (given to ``mask`` first:
    Airflow's secret masker); neither is a HubSpotAuthError naming the connection ``conn_id``."""
    if oauth is not None:
        return OAuthBearer(oauth)
    if not token:
        raise HubSpotAuthError(
            f"Connection {conn_id!r} has no password: put the access token there, "
            "or an OAuth app's client id, client secret and refresh token in its extras"
        )
    mask(token)
    return BearerToken(token)


def no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """No bearer token: the OAuth token endpoints authenticate by the form's client id and secret."""
    return request


def no_answer_cause(exc: requests.exceptions.RequestException) -> str:
    """Why a request got no answer, in full: the innermost reason urllib3 gives (``NewConnectionError: ...
    [Errno 111] Connection refused``, ``ReadTimeoutError: ... Read timed out``), not requests' wrapper."""
    cause: BaseException = exc
    while cause.args and isinstance(cause.args[0], BaseException):
        cause = cause.args[0]
    cause = getattr(cause, "reason", None) or cause
    return f"{type(cause).__name__}: {cause}"


def no_answer_message(method: str, endpoint: str, cause: str) -> str:
    """What a request without an answer means: a write may have landed; a read (a GET, a batch read, a
    search, a token's scopes) changed nothing, so nothing is said of it."""
    reads = method in ("GET", "HEAD") or endpoint.rstrip("/").endswith(READ_ENDPOINTS)
    landed = "" if reads else "; the request may or may not have been processed"
    return f"{method} {endpoint}: no answer from HubSpot ({cause}){landed}"


class HttpTransport:
    """Sends requests to ``base_url`` over the session ``session()`` returns (built once by its owner).

    :param timeout: seconds to wait for an answer (the connection takes at most 10 of them).
    :param token: the static access token (None with an OAuth app); scrubbed from messages.
    :param oauth: the OAuth app's access tokens, refreshed here when HubSpot says one expired.
    :param on_sent: called after each JSON request, whatever its answer (the usage table counts it).
    """

    def __init__(
        self,
        session: Callable[[], requests.Session],
        base_url: str,
        timeout: float,
        *,
        token: str | None = None,
        oauth: OAuthToken | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url
        self.timeout = timeout
        self.token = token
        self.oauth = oauth
        self.on_sent = on_sent

    def url(self, endpoint: str) -> str:
        """The full URL of ``endpoint`` (with or without a leading slash)."""
        return f"{self.base_url}/{endpoint.lstrip('/')}"

    def send(self, method: str, endpoint: str, payload: Mapping[str, Any] | None = None) -> ApiResponse:
        """Send one request and return the answer whatever its status; no answer -> HubSpotConnectionError.
        An OAuth access token HubSpot says expired (401 ``EXPIRED_AUTHENTICATION``) is refreshed and the
        request sent once more (within the same rate limiter slot: this happens at most once per token)."""
        response, used = self._send_counted(method, endpoint, payload)
        expired = response.status == 401 and response.body.get("category") == "EXPIRED_AUTHENTICATION"
        if expired and self.oauth is not None:
            self.oauth.expired(used)
            response, _ = self._send_counted(method, endpoint, payload)
        return response

    def post_form(self, endpoint: str, form: dict[str, str]) -> ApiResponse:
        """POST a form to one of HubSpot's OAuth endpoints, once: they take the app's client id and secret
        in the form, never a bearer token."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        request = requests.Request(headers=headers, data=form, auth=no_auth)
        return self._send_once("POST", endpoint, request)[0]

    def scrub(self, text: str) -> str:
        """``text`` with every token and secret of the connection replaced by ``***``."""
        secrets = [self.token or "", *(self.oauth.secrets() if self.oauth else [])]
        for secret in filter(None, secrets):
            text = text.replace(secret, "***")
        return text

    def _send_counted(
        self, method: str, endpoint: str, payload: Mapping[str, Any] | None
    ) -> tuple[ApiResponse, str | None]:
        """Send a JSON request once and count it for the usage table (whatever the answer: the stricter
        choice, HubSpot's page does not say which answers count)."""
        try:
            return self._send_once(method, endpoint, requests.Request(json=payload))
        finally:
            if self.on_sent is not None:
                self.on_sent()

    def _send_once(
        self, method: str, endpoint: str, request: requests.Request
    ) -> tuple[ApiResponse, str | None]:
        """Send ``request`` to ``endpoint`` once, never following a redirect; the answer and the bearer token
        it carried."""
        session = self.session()
        request.method, request.url = method, self.url(endpoint)
        prepared = session.prepare_request(request)
        settings = session.merge_environment_settings(
            prepared.url, proxies=session.proxies, stream=False, verify=session.verify, cert=session.cert
        )
        try:
            timeout = (min(CONNECT_TIMEOUT_S, self.timeout), self.timeout)
            response = session.send(prepared, timeout=timeout, allow_redirects=False, **settings)
        except requests.exceptions.RequestException as exc:
            message = no_answer_message(method, endpoint, no_answer_cause(exc))
            # a path may hold the token (token introspection): never in a message
            raise HubSpotConnectionError(self.scrub(message)) from exc
        used = str(prepared.headers.get("Authorization") or "").removeprefix("Bearer ") or None
        return ApiResponse(response.status_code, parse_body(response.text), response.headers), used
