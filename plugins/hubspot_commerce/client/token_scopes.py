"""Token introspection: the scopes HubSpot granted the connection's token, to check a run's needs before it
writes anything; a token HubSpot refuses is said to be refused, naming the connection to fix."""

from __future__ import annotations

from collections.abc import Callable

from hubspot_commerce.batch.send import ApiResponse
from hubspot_commerce.client.api_call import ApiCall
from hubspot_commerce.client.api_paths import ApiPaths
from hubspot_commerce.client.oauth import OAuthToken
from hubspot_commerce.errors import (
    HubSpotAuthError,
    HubSpotMissingScopes,
    HubSpotValidationError,
    error_for_response,
)


class TokenScopesApi:
    """Asks HubSpot which scopes a static token (``token``) or an OAuth app's access token (``oauth``) has.

    :param post_form: posts a form once, with no bearer token (the OAuth introspection endpoint).
    :param conn_id: the Airflow connection that holds the token, named when HubSpot refuses it.
    """

    def __init__(
        self,
        request: ApiCall,
        post_form: Callable[[str, dict[str, str]], ApiResponse],
        paths: ApiPaths,
        *,
        token: str,
        oauth: OAuthToken | None,
        conn_id: str,
    ) -> None:
        self.request = request
        self.post_form = post_form
        self.paths = paths
        self.token = token
        self.oauth = oauth
        self.conn_id = conn_id

    def scopes(self) -> set[str] | None:
        """The scopes HubSpot granted the connection's token: asked as a private app token or service key,
        else as an OAuth access token (an OAuth app's, through its own introspection). None when HubSpot
        accepts the token but describes it as neither (nothing to check against). A token HubSpot refuses
        (401) is a HubSpotAuthError naming the connection."""
        if self.oauth is not None:
            return self._oauth_app_scopes(self.oauth)
        try:
            return self._static_token_scopes()
        except HubSpotAuthError as exc:
            if exc.status != 401:
                raise
            raise HubSpotAuthError(
                f"HubSpot refused the token of connection {self.conn_id!r} ({exc.category or 401}): copy "
                "the access token of the private app or service key in HubSpot into the connection's "
                "password and run again",
                status=exc.status,
                category=exc.category,
                correlation_id=exc.correlation_id,
            ) from None

    def _static_token_scopes(self) -> set[str] | None:
        """The scopes of the connection's password, a private app token, a service key or an OAuth access
        token."""
        paths = self.paths
        try:
            body = self.request("POST", paths.private_app_token_info(), {"tokenKey": self.token})
        except HubSpotValidationError:
            try:
                body = self.request(
                    "GET",
                    paths.oauth_token_metadata(self.token),
                    label=f"GET {paths.oauth_token_metadata('<token>')}",
                )
            except HubSpotValidationError:
                self._check_accepted()
                return None
        return {str(scope) for scope in body.get("scopes") or []}

    def _check_accepted(self) -> None:
        """Neither introspection endpoint describes the token (404). HubSpot answers so for an unknown
        token, but may also for a valid token of a kind these endpoints do not cover, so 404 alone is not
        taken as a refusal: the stricter reading calls a token refused only when HubSpot refuses a request
        made with it. One read that needs no CRM scope decides: a 401 raises HubSpotAuthError; an answer,
        or a missing scope (403), means HubSpot accepts the token."""
        try:
            self.request("GET", self.paths.account_details())
        except HubSpotMissingScopes:
            return

    def _oauth_app_scopes(self, oauth: OAuthToken) -> set[str]:
        """The scopes of the OAuth app's access token, through the token introspection of the connection's
        API family: it takes the app's client id and secret, which an OAuth connection holds, so neither the
        deprecated OAuth v1 metadata endpoint nor a token in a URL path is needed. Not retried: a failure
        fails the pre-flight (setup), whose task retries on a server error."""
        form = {
            "token": oauth.current(),
            "token_type_hint": "access_token",
            "client_id": oauth.app.client_id,
            "client_secret": oauth.app.client_secret,
        }
        endpoint = self.paths.oauth_token_introspect()
        response = self.post_form(endpoint, form)
        if not 200 <= response.status < 300:
            what = f"POST {endpoint}"
            raise error_for_response(response.status, response.body, response.headers, what=what)
        return {str(scope) for scope in response.body.get("scopes") or []}
