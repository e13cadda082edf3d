"""HubSpotHook: a ``hubspot`` connection made into a HubSpot API client, on the HTTP provider's hook."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, ClassVar

from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import BaseHook, Connection
from airflow.sdk.log import mask_secret
from requests import Session
from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter

from hubspot_commerce.batch.quota import QuotaPlan, QuotaRule
from hubspot_commerce.batch.rate_limit import RateLimiter
from hubspot_commerce.batch.records import BatchOutcome, Link, WriteRecord, WriteSpec
from hubspot_commerce.batch.send import DEFAULT_MAX_WORKERS, ApiResponse, BatchEngine
from hubspot_commerce.batch.usage import RequestUsage
from hubspot_commerce.client.api_paths import ApiPaths
from hubspot_commerce.client.connection_settings import ConnectionSettings
from hubspot_commerce.client.crm_account import Portal
from hubspot_commerce.client.http_transport import bearer_auth
from hubspot_commerce.client.hubspot_client import HubSpotClient
from hubspot_commerce.client.oauth import OAuthToken
from hubspot_commerce.errors import HubSpotError


class HubSpotHook(HttpHook):
    """HubSpot's CRM API through a client built from the connection, over ``HttpHook``'s session, every
    request (``run`` too) paced by one limiter and one batch engine; no extra becomes a header. One per task.

    :param max_workers: requests in flight at once inside one batch call; the rate limiter sets the pace.
    :param usage_conn_id: a SQL connection whose usage table counts every request per portal day."""

    conn_name_attr = "hubspot_conn_id"
    default_conn_name = "hubspot_default"
    conn_type = "hubspot"
    hook_name = "HubSpot"
    default_headers: ClassVar[dict[str, str]] = {"Content-Type": "application/json"}

    def __init__(
        self,
        hubspot_conn_id: str = default_conn_name,
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        usage_conn_id: str | None = None,
    ) -> None:
        keep_alive = TCPKeepAliveAdapter(idle=120, count=20, interval=30, pool_maxsize=max_workers + 4)
        super().__init__(http_conn_id=hubspot_conn_id, adapter=keep_alive)
        self.hubspot_conn_id = hubspot_conn_id
        self.max_workers = max_workers
        self.usage_conn_id = usage_conn_id
        self.limiter = RateLimiter()  # paces every request of this hook under HubSpot's burst limit

    @cached_property
    def connection(self) -> Connection:
        """The Airflow connection, looked up once per hook."""
        return self.get_connection(self.hubspot_conn_id)

    @cached_property
    def settings(self) -> ConnectionSettings:
        """What the connection's host and extras set: base URL, timeout, API version, daily limit, OAuth."""
        return ConnectionSettings(self.hubspot_conn_id, self.connection.host, self.connection.extra_dejson)

    @property
    def base_url(self) -> str:
        """The connection's host: a URL, or a host name served over HTTPS (default HubSpot's API)."""
        return self.settings.base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        """Ignored: HttpHook's own base URL (``http://`` and the port by default) is not HubSpot's."""

    def _configure_session_from_auth(self, session: Session, connection: Connection) -> Session:
        """Bearer auth, never HttpHook's basic auth: the OAuth app's current token, else the password."""
        session.auth = bearer_auth(self.hubspot_conn_id, connection.password, self.oauth, mask_secret)
        return session

    def _configure_session_from_extra(self, session: Session, connection: Connection, _: Any) -> Session:
        """Extras are settings (secrets among them), never headers: only ``verify`` reaches the session."""
        session.verify = self.settings.verify
        return session

    @property
    def timeout(self) -> float:
        """Seconds to wait for one answer (connection extra ``timeout``, default 60)."""
        return self.settings.timeout

    @property
    def paths(self) -> ApiPaths:
        """Every path this hook sends, in the connection's ``api_version`` (default ``2026-09``)."""
        return self.settings.paths

    @property
    def daily_limit(self) -> int | None:
        """The portal's daily request quota as configured (connection extra ``daily_limit``)."""
        return self.settings.daily_limit

    @cached_property
    def usage(self) -> RequestUsage | None:
        """The usage table in ``usage_conn_id``; None without one or without a ``daily_limit``."""
        if not self.usage_conn_id or self.daily_limit is None:
            return None
        return RequestUsage(lambda: BaseHook.get_connection(str(self.usage_conn_id)).get_hook())

    @property
    def oauth(self) -> OAuthToken | None:
        """The OAuth app's access tokens when the connection names an app, else None (a static token)."""
        return self.client.oauth

    @cached_property
    def session(self) -> Session:
        """The one session this hook reuses (``get_conn``), built once: it logs where requests go."""
        self.log.info("HubSpot at %s, connection %r", self.base_url, self.hubspot_conn_id)
        return self.get_conn()

    @cached_property
    def client(self) -> HubSpotClient:
        """HubSpot's APIs over this hook's session, limiter and usage table."""
        return HubSpotClient(
            lambda: self.session, self.settings, self.limiter,
            token=self.connection.password, mask=mask_secret, usage=self.usage, max_workers=self.max_workers,
        )  # fmt: skip

    @property
    def engine(self) -> BatchEngine:
        """The batch engine: pacing, retries and concurrency of every request."""
        return self.client.engine

    def send(self, method: str, endpoint: str, payload: Mapping[str, Any] | None = None) -> ApiResponse:
        """The engine's transport: one request, its answer whatever its status (``HttpTransport.send``)."""
        return self.client.transport.send(method, endpoint, payload)

    def request(
        self, method: str, endpoint: str, payload: Mapping[str, Any] | None = None, label: str | None = None
    ) -> dict:
        """One paced, retried call; typed error on failure; the JSON body (``HubSpotClient.request``)."""
        return self.client.request(method, endpoint, payload, label)

    def run(self, endpoint: str | None = None, data: Mapping[str, Any] | None = None, **kwargs: Any) -> dict:
        """HttpHook's ``run``: one paced, retried call of ``method``, JSON body ``json`` or ``data``."""
        if set(kwargs) - {"json"}:
            raise TypeError("HubSpotHook.run takes an endpoint and a JSON body (json= or data=) only")
        return self.request(self.method, endpoint or "", kwargs.get("json", data))

    def run_and_check(self, session: Session, prepped_request: Any, extra_options: dict) -> Any:
        """Refused: a prepared request would bypass the rate limiter and the batch engine; use :meth:`run`."""
        raise NotImplementedError("HubSpotHook sends through its rate limiter: use run() or request()")

    def probe(self) -> None:
        """List product properties once, unretried: a dead host or a refused token raises its HubSpotError
        in seconds (``HubSpotConnectionError``, ``HubSpotAuthError``, ...)."""
        self.engine.once("GET", self.paths.properties("products"))

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: :meth:`probe`, its error as the button's message."""
        try:
            self.probe()
        except HubSpotError as exc:
            return False, f"{self.base_url}: {exc}"
        return True, "Connection to HubSpot works"

    def batch_write(
        self,
        spec: WriteSpec,
        records: Iterable[WriteRecord],
        *,
        skip_keys: Container[str] = frozenset(),
        on_batch_done: Callable[[dict[str, str]], None] | None = None,
        quota: QuotaRule | None = None,
    ) -> BatchOutcome:
        """Create, upsert or update any number of records (see ``RecordWriter.batch_write``)."""
        return self.client.writer.batch_write(spec, records, skip_keys, on_batch_done, quota)

    def batch_read(
        self,
        object_type: str,
        keys: Iterable[str],
        id_property: str | None = None,
        properties: Sequence[str] = (),
    ) -> dict[str, dict]:
        """``{key: {"id", "properties"}}`` for every key found by ``id_property`` (record id when None)."""
        return self.client.records.batch_read(object_type, keys, id_property, properties)

    def list_keys(self, object_type: str, key_property: str) -> dict[str, str]:
        """``{key: record id}`` of every record of ``object_type`` with a value for ``key_property``."""
        return self.client.records.list_keys(object_type, key_property)

    def archive_records(self, object_type: str, record_ids: Sequence[str]) -> None:
        """Archive records by id, 100 a request."""
        self.client.records.archive(object_type, record_ids)

    def get_properties(self, object_type: str) -> list[dict]:
        """The portal's property definitions for ``object_type``."""
        return self.client.properties.get(object_type)

    def get_properties_by_type(self, object_types: Iterable[str]) -> dict[str, list[dict]]:
        """The property definitions of several object types, fetched concurrently."""
        return self.client.properties.get_by_type(object_types)

    def ensure_properties_by_type(
        self, existing: Mapping[str, Sequence[Mapping[str, Any]]], definitions: Sequence[Mapping[str, Any]]
    ) -> dict[str, list[str]]:
        """:meth:`ensure_properties` for several object types at once; the names created per type."""
        return self.client.properties.ensure_by_type(existing, definitions)

    def ensure_properties(
        self,
        object_type: str,
        definitions: Sequence[Mapping[str, Any]],
        existing_definitions: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[str]:
        """Create the custom properties in ``definitions`` that do not exist yet; the names created."""
        return self.client.properties.ensure(object_type, definitions, existing_definitions)

    def get_pipelines(self, object_type: str) -> list[dict]:
        """The portal's pipelines of ``object_type`` with their stages."""
        return self.client.pipelines.get(object_type)

    def read_association_types(
        self, from_type: str, to_type: str, from_ids: Sequence[str]
    ) -> dict[str, dict[str, set[int]]]:
        """``{from id: {associated id: {association type ids}}}``."""
        return self.client.associations.read_types(from_type, to_type, from_ids)

    def create_associations(
        self, from_type: str, to_type: str, links: Sequence[Link]
    ) -> list[tuple[Link, str]]:
        """Create associations; the links HubSpot refused, with its reason."""
        return self.client.associations.create(from_type, to_type, links)

    def remove_associations(self, from_type: str, to_type: str, links: Sequence[Link]) -> None:
        """Remove each link's association (every type between the two records)."""
        self.client.associations.remove(from_type, to_type, links)

    def token_scopes(self) -> set[str] | None:
        """The scopes HubSpot granted the connection's token; None when HubSpot accepts the token but does not
        describe it; HubSpotAuthError naming the connection when HubSpot refuses it."""
        return self.client.tokens.scopes()

    def portal_details(self) -> Portal:
        """The portal's id and time zone (None for both when the token may not read them)."""
        return self.client.quota.portal_details()

    def plan_quota(self, needed: int, rule: QuotaRule) -> QuotaPlan:
        """``needed`` requests against the day's quota (``DailyQuota.plan``)."""
        return self.client.quota.plan(needed, rule)

    def record_usage(self) -> None:
        """Add the requests this hook counted and has not recorded yet to the usage table."""
        self.client.quota.record()

    def record_usage_quietly(self) -> None:
        """:meth:`record_usage` while a failure propagates: a failing usage table is only logged."""
        self.client.quota.record_quietly()
