"""HubSpotClient: HubSpot's CRM API free of Airflow, one attribute per API, every call paced by one rate
limiter and retried by one batch engine (``HubSpotHook.client`` builds it from the connection)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests

from hubspot_commerce.batch.rate_limit import RateLimiter
from hubspot_commerce.batch.records import BatchOutcome
from hubspot_commerce.batch.send import DEFAULT_MAX_WORKERS, ApiResponse, BatchEngine
from hubspot_commerce.batch.usage import RequestUsage
from hubspot_commerce.client.connection_settings import ConnectionSettings
from hubspot_commerce.client.crm_account import AccountApi
from hubspot_commerce.client.crm_associations import AssociationsApi
from hubspot_commerce.client.crm_pipelines import PipelinesApi
from hubspot_commerce.client.crm_properties import PropertiesApi
from hubspot_commerce.client.crm_records import RecordsApi
from hubspot_commerce.client.daily_quota import DailyQuota
from hubspot_commerce.client.http_transport import HttpTransport
from hubspot_commerce.client.oauth import OAuthToken
from hubspot_commerce.client.token_scopes import TokenScopesApi
from hubspot_commerce.client.write_policy import RecordWriter


class HubSpotClient:
    """HubSpot's APIs over the session ``session()`` returns, as the connection's ``settings`` say.

    :param token: the connection's password (the access token unless the settings name an OAuth app).
    :param mask: called with every secret before anything can log it (Airflow's secret masker).
    :param usage: the usage table that records every request per portal day (None: nothing is recorded).
    :param max_workers: requests in flight at once inside one batch call; the limiter sets the pace.
    """

    def __init__(
        self,
        session: Callable[[], requests.Session],
        settings: ConnectionSettings,
        limiter: RateLimiter,
        *,
        token: str | None,
        mask: Callable[[str], None],
        usage: RequestUsage | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
    ) -> None:
        self.paths = paths = settings.paths
        self.oauth = oauth = self._oauth_token(settings, mask)
        counted = usage.count if usage is not None else None
        self.transport = transport = HttpTransport(
            session, settings.base_url, settings.timeout, token=token, oauth=oauth, on_sent=counted
        )
        self.engine = BatchEngine(transport.send, limiter, paths, max_workers=max_workers)
        warm_up = session  # build the session in the calling thread before the workers share it
        self.records = RecordsApi(self.request, self.engine, paths, warm_up)
        self.properties = PropertiesApi(self.request, paths, max_workers=max_workers, warm_up=warm_up)
        self.associations = AssociationsApi(self.request, paths)
        self.pipelines = PipelinesApi(self.request, paths)
        self.account = AccountApi(self.request, paths)
        self.quota = DailyQuota(limiter, usage, settings.daily_limit, self.account.portal_details)
        self.writer = RecordWriter(self.engine, self.quota, warm_up)
        self.tokens = TokenScopesApi(
            self.request, transport.post_form, paths, token=token or "", oauth=oauth, conn_id=settings.conn_id
        )

    def _oauth_token(self, settings: ConnectionSettings, mask: Callable[[str], None]) -> OAuthToken | None:
        """The OAuth app's access tokens, exchanged through this client's transport; None without an app."""
        app = settings.oauth_app
        if app is None:
            return None

        def exchange(form: dict[str, str]) -> ApiResponse:
            return self.transport.post_form(settings.paths.oauth_token(), form)

        return OAuthToken(app, exchange, conn_id=settings.conn_id, on_new_secret=mask)

    def request(
        self, method: str, endpoint: str, payload: Mapping[str, Any] | None = None, label: str | None = None
    ) -> dict:
        """One paced, retried call (reads and idempotent writes); typed error on failure; the JSON body.
        ``label`` names the call in errors instead of its path (for a path that holds the token)."""
        response = self.engine.call(method, endpoint, payload, BatchOutcome(), label=label)
        return dict(response.body)
