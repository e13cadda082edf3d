"""HubSpotHook: the HubSpot CRM API over one reused HTTP session, with batch writes and reads.

The connection's password is the access token (a service key, a private app token or an OAuth access token),
sent as ``Authorization: Bearer``; or the extras ``client_id``, ``client_secret`` and ``refresh_token``
name an OAuth app, whose access tokens the hook gets and refreshes itself (``hooks/oauth.py``). The host is
the API base URL (default ``https://api.hubapi.com``); the optional extras are ``timeout`` (seconds per
request, default 60) and ``api_version`` (``2026-09`` by default, ``2026-03``, or ``v3`` for the numbered
paths). No token or secret appears in logs or exception messages: each is registered with Airflow's secret
masker and only ever placed in headers or a token form.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import requests
from airflow.sdk import BaseHook, Connection
from airflow.sdk.log import mask_secret
from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter

from hubspot_commerce.batch.keyset import members
from hubspot_commerce.batch.quota import (
    QuotaPlan,
    QuotaRule,
    daily_quota,
    next_reset,
    plan_quota,
    portal_day,
    requests_for,
)
from hubspot_commerce.batch.rate_limit import RateLimiter
from hubspot_commerce.batch.records import BatchOutcome, Link, RecordSpool, WriteRecord, WriteSpec
from hubspot_commerce.batch.requests import MAX_BATCH, chunked, groups
from hubspot_commerce.batch.refusals import split_refused
from hubspot_commerce.batch.send import DEFAULT_MAX_WORKERS, ApiResponse, BatchEngine
from hubspot_commerce.batch.usage import RequestUsage
from hubspot_commerce.errors import (
    HubSpotAuthError,
    HubSpotConfigurationError,
    HubSpotConnectionError,
    HubSpotDailyLimitReached,
    HubSpotError,
    HubSpotMissingScopes,
    HubSpotQuotaShort,
    HubSpotValidationError,
    error_for_response,
    parse_body,
)
from hubspot_commerce.hooks.api_paths import DEFAULT_API_VERSION, ApiPaths
from hubspot_commerce.hooks.oauth import OAuthApp, OAuthToken

DEFAULT_TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 10.0  # a host that takes no connection is dead: say so in seconds, not a minute
ASSOCIATION_BATCH = 1000  # inputs per association batch request (HubSpot allows 1,000 reads, 2,000 creates)
RECORD_USAGE_EVERY = 100  # requests a write counts before adding them to the usage table (tasks run at once)


@dataclass(frozen=True)
class Portal:
    """The HubSpot account the connection writes to: its id and time zone (None when not readable)."""

    id: str | None
    time_zone: str | None


def _count_unskipped(records: Iterable[WriteRecord], skip_keys: Container[str]) -> int:
    """How many of ``records`` have a key not among ``skip_keys`` (looked up 1,000 at a time)."""
    return sum(members(skip_keys, [r.key for r in group]).count(False) for group in groups(records, 1_000))


@dataclass(frozen=True)
class _Sending:
    """How one ``batch_write`` sends: the keys it skips, what gets each finished batch's ids, and whether
    its outcome keeps the ids too."""

    skip_keys: Container[str]
    on_batch_done: Callable[[dict[str, str]], None] | None
    keep_ids: bool

    def write(
        self, engine: BatchEngine, spec: WriteSpec, records: Iterable[WriteRecord], limit: int | None = None
    ) -> BatchOutcome:
        """The write itself, of at most ``limit`` records."""
        return engine.write(
            spec,
            records,
            skip_keys=self.skip_keys,
            on_batch_done=self.on_batch_done,
            keep_ids=self.keep_ids,
            limit=limit,
        )

    def again(self, engine: BatchEngine, spec: WriteSpec, records: Iterable[WriteRecord]) -> BatchOutcome:
        """A second write of records the first one set aside (none of them skipped)."""
        return engine.write(spec, records, on_batch_done=self.on_batch_done, keep_ids=self.keep_ids)


class HubSpotHook(BaseHook):
    """Talk to HubSpot's CRM API with an access token; batch writes go through the batch engine.

    The hook wraps its own HTTP session, as the Slack provider's hook wraps its client: every request goes
    through the rate limiter and comes back as a typed error, and nothing else is exposed.
    One hook = one HTTP session, one rate limiter and one thread pool per batch call: create it once per
    task and reuse it.

    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    :param max_workers: requests in flight at once inside one batch call; the rate limiter sets the pace.
    :param usage_conn_id: a SQL connection whose ``hubspot_request_usage`` table records every request the
        hook sends, per portal day; with the connection's ``daily_limit`` it is the day's quota when HubSpot
        sends no daily headers (an OAuth app). None: nothing is recorded.
    """

    conn_name_attr = "hubspot_conn_id"
    default_conn_name = "hubspot_default"
    conn_type = "hubspot"
    hook_name = "HubSpot"
    default_host = "https://api.hubapi.com"

    def __init__(
        self,
        hubspot_conn_id: str = default_conn_name,
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        usage_conn_id: str | None = None,
    ) -> None:
        super().__init__()
        self.hubspot_conn_id = hubspot_conn_id
        self.max_workers = max_workers
        self.usage_conn_id = usage_conn_id
        self._portal: Portal | None = None  # the last account details read

    # -- connection and session ------------------------------------------------------------------
    @cached_property
    def connection(self) -> Connection:
        """The Airflow connection, looked up once per hook."""
        return self.get_connection(self.hubspot_conn_id)

    @cached_property
    def timeout(self) -> float:
        """Seconds to wait for one answer (connection extra ``timeout``, default 60)."""
        value = self.connection.extra_dejson.get("timeout")
        return float(value) if value not in (None, "") else DEFAULT_TIMEOUT_S

    @cached_property
    def paths(self) -> ApiPaths:
        """Every path this hook sends, in the connection's ``api_version`` (default ``2026-09``)."""
        version = self.connection.extra_dejson.get("api_version")
        try:
            return ApiPaths(DEFAULT_API_VERSION if version in (None, "") else str(version).strip())
        except ValueError as exc:
            raise HubSpotConfigurationError(f"Connection {self.hubspot_conn_id!r}: {exc}") from exc

    @cached_property
    def base_url(self) -> str:
        """The connection's host: a URL, or a host name served over HTTPS (default HubSpot's API)."""
        host = (self.connection.host or self.default_host).strip().rstrip("/")
        return host if "://" in host else f"https://{host}"

    @cached_property
    def daily_limit(self) -> int | None:
        """The portal's daily request quota as configured (connection extra ``daily_limit``; None when
        empty): used only when HubSpot sends no daily headers, as on OAuth-authorized requests."""
        value = self.connection.extra_dejson.get("daily_limit")
        if value in (None, ""):
            return None
        try:
            limit = int(value)
        except (TypeError, ValueError):
            limit = 0
        if limit <= 0:
            raise HubSpotConfigurationError(
                f"Connection {self.hubspot_conn_id!r}: daily_limit must be a positive number of requests "
                f"(250000 on Free and Starter, 625000 on Professional, 1000000 on Enterprise), got {value!r}"
            )
        return limit

    @cached_property
    def usage(self) -> RequestUsage | None:
        """The usage table in ``usage_conn_id`` (a common-sql connection); None without one, or when the
        connection sets no ``daily_limit``: the table is read only to stand in for HubSpot's daily headers."""
        if not self.usage_conn_id or self.daily_limit is None:
            return None
        return RequestUsage(lambda: BaseHook.get_connection(str(self.usage_conn_id)).get_hook())

    def url(self, endpoint: str) -> str:
        return f"{self.base_url}/{endpoint.lstrip('/')}"

    @cached_property
    def oauth(self) -> OAuthToken | None:
        """The OAuth app's access tokens when the connection names an app (extras ``client_id``,
        ``client_secret``, ``refresh_token``), else None (the password is a static token)."""
        try:
            app = OAuthApp.from_extras(self.connection.extra_dejson)
        except ValueError as exc:
            raise HubSpotConfigurationError(f"Connection {self.hubspot_conn_id!r}: {exc}") from exc
        if app is None:
            return None
        return OAuthToken(
            app,
            lambda form: self._post_form(self.paths.oauth_token(), form),
            conn_id=self.hubspot_conn_id,
            on_new_secret=mask_secret,
        )

    def get_conn(self) -> requests.Session:
        """A new session: Bearer token (static, or the OAuth app's current one on each request), JSON, TLS
        verification always on, TCP keep-alive. Connection extras are settings of this hook (``timeout``;
        ``verify``: a CA bundle path; the OAuth app), never request headers."""
        token = self.connection.password
        if not token and self.oauth is None:
            raise HubSpotAuthError(
                f"Connection {self.hubspot_conn_id!r} has no password: put the access token there, "
                "or an OAuth app's client id, client secret and refresh token in its extras"
            )
        session = requests.Session()
        adapter = TCPKeepAliveAdapter(idle=120, count=20, interval=30, pool_maxsize=self.max_workers + 4)
        for prefix in ("https://", "http://"):
            session.mount(prefix, adapter)
        session.headers.update({"Content-Type": "application/json"})
        if self.oauth is not None:
            session.auth = _OAuthBearer(self.oauth)
        else:
            mask_secret(token)
            session.headers["Authorization"] = f"Bearer {token}"
        ca_bundle = self.connection.extra_dejson.get("verify")
        is_path = isinstance(ca_bundle, str) and ca_bundle.strip().lower() not in ("", "true", "false")
        session.verify = ca_bundle if is_path else True  # never off: a false "verify" is ignored
        return session

    @cached_property
    def session(self) -> requests.Session:
        """The one session this hook reuses for every request (keeps connections alive across batches).
        Building it logs, once per hook (so at the start of each task), where requests go: never the token."""
        self.log.info("HubSpot at %s, connection %r", self.base_url, self.hubspot_conn_id)
        return self.get_conn()

    @cached_property
    def limiter(self) -> RateLimiter:
        """Paces every request of this hook under HubSpot's burst limit."""
        return RateLimiter()

    @cached_property
    def engine(self) -> BatchEngine:
        """The batch engine, sending through :meth:`send` to the batch endpoints of the API version."""
        return BatchEngine(self.send, self.limiter, self.paths, max_workers=self.max_workers)

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

    def _send_counted(
        self, method: str, endpoint: str, payload: Mapping[str, Any] | None
    ) -> tuple[ApiResponse, str | None]:
        """Send a JSON request once and count it for the usage table (whatever the answer: the stricter
        choice, HubSpot's page does not say which answers count)."""
        try:
            return self._send_once(method, endpoint, requests.Request(json=payload))
        finally:
            if self.usage is not None:
                self.usage.count()

    def _post_form(self, endpoint: str, form: dict[str, str]) -> ApiResponse:
        """POST a form to one of HubSpot's OAuth endpoints, once: they take the app's client id and secret
        in the form, never a bearer token."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        request = requests.Request(headers=headers, data=form, auth=_no_auth)
        return self._send_once("POST", endpoint, request)[0]

    def _send_once(
        self, method: str, endpoint: str, request: requests.Request
    ) -> tuple[ApiResponse, str | None]:
        """Send ``request`` to ``endpoint`` once; the answer and the bearer token it carried."""
        session = self.session
        request.method, request.url = method, self.url(endpoint)
        prepared = session.prepare_request(request)
        settings = session.merge_environment_settings(
            prepared.url, proxies=session.proxies, stream=False, verify=session.verify, cert=session.cert
        )
        try:
            timeout = (min(CONNECT_TIMEOUT_S, self.timeout), self.timeout)
            response = session.send(prepared, timeout=timeout, allow_redirects=False, **settings)
        except requests.exceptions.RequestException as exc:
            message = (
                f"{method} {endpoint}: no answer from HubSpot ({no_answer_cause(exc)}); "
                "the request may or may not have been processed"
            )  # a path may hold the token (token introspection): never in a message
            raise HubSpotConnectionError(self.scrub(message)) from exc
        used = str(prepared.headers.get("Authorization") or "").removeprefix("Bearer ") or None
        return ApiResponse(response.status_code, parse_body(response.text), response.headers), used

    def scrub(self, text: str) -> str:
        """``text`` with every token and secret of the connection replaced by ``***``."""
        secrets = [self.connection.password or "", *(self.oauth.secrets() if self.oauth else [])]
        for secret in filter(None, secrets):
            text = text.replace(secret, "***")
        return text

    def request(
        self, method: str, endpoint: str, payload: Mapping[str, Any] | None = None, label: str | None = None
    ) -> dict:
        """One paced, retried call (reads and idempotent writes); typed error on failure; the JSON body.
        ``label`` names the call in errors instead of its path (for a path that holds the token)."""
        response = self.engine.call(method, endpoint, payload, BatchOutcome(), label=label)
        return dict(response.body)

    # -- batch API -------------------------------------------------------------------------------
    def batch_write(
        self,
        spec: WriteSpec,
        records: Iterable[WriteRecord],
        *,
        skip_keys: Container[str] = frozenset(),
        on_batch_done: Callable[[dict[str, str]], None] | None = None,
        quota: QuotaRule | None = None,
    ) -> BatchOutcome:
        """Create, upsert or update any number of records, 100 per request, concurrently and paced, in
        memory that does not grow with their number.

        :param spec: object type, action (``create``, ``upsert``, ``update``) and the properties that
            identify records (``key_property`` for exactly-once creates; ``id_property`` for upserts). An
            update with a ``key_property`` creates anew the records HubSpot no longer has; a create that
            finds its key in HubSpot writes its values onto that record by an update.
        :param records: read as they are sent, never held whole. When ``quota`` must count them first, a
            one-pass iterator is read into a list: pass something that reads its source anew on each
            ``iter()`` (a list, a file reader) to keep memory flat.
        :param skip_keys: source keys already written (a resumed task); they are not sent.
        :param on_batch_done: called in the calling thread with each finished batch's ``{key: id}``; the
            outcome then holds no ids (the callback has them), so no id map grows with the write.
        :param quota: plan the write against the day's quota first (see :meth:`_write_within_quota`).
        :return: ids of every record that landed, counts, and the records HubSpot rejected with reasons.
        :raises HubSpotDailyLimitReached, HubSpotAuthError: after stopping cleanly; the exception's
            ``partial_outcome`` holds what landed.
        :raises HubSpotQuotaShort: with ``quota.on_short`` ``fail``, before writing anything.
        """
        self.session  # noqa: B018 - build the session in this thread before the workers share it
        sending = _Sending(skip_keys, self._recording_usage(on_batch_done), keep_ids=on_batch_done is None)
        try:
            if quota is None:
                outcome = sending.write(self.engine, spec, records)
            else:
                outcome = self._write_within_quota(spec, records, quota, sending)
            self._recreate_gone(spec, outcome, sending)
            self._update_existing(spec, outcome, sending)
        except BaseException:
            self.record_usage_quietly()
            raise
        self.record_usage()
        return outcome

    def _recreate_gone(self, spec: WriteSpec, outcome: BatchOutcome, sending: _Sending) -> None:
        """Create anew, with their source key and links, the records of an update that HubSpot no longer has
        (deleted or merged in HubSpot: ``OBJECT_NOT_FOUND``), which the engine set aside."""
        if not outcome.gone:
            return
        create = WriteSpec(spec.object_type, "create", key_property=spec.key_property)
        again = (replace(record, id=None) for record in outcome.gone)
        recreated = sending.again(self.engine, create, again)
        outcome.gone = RecordSpool()
        outcome.add(recreated, keep_ids=sending.keep_ids)
        self.log.info(
            "%d %s records HubSpot no longer had were created anew", recreated.created, spec.object_type
        )

    def _update_existing(self, spec: WriteSpec, outcome: BatchOutcome, sending: _Sending) -> None:
        """Write the source's values onto the records HubSpot already held for a create's key (a lost sync
        state, another writer), by their id: else they would keep older values that the sync believes it
        wrote. Their links are not checked here (the caller is told by ``existing_keys``)."""
        if not outcome.existing_records:
            return
        update = WriteSpec(spec.object_type, "update")
        again = (replace(record, associations=()) for record in outcome.existing_records)
        refreshed = sending.again(self.engine, update, again)
        refreshed.updated = 0  # counted as existing already
        outcome.add(refreshed, keep_ids=sending.keep_ids)
        self.log.info(
            "%d %s records HubSpot already held now hold the source's values",
            len(outcome.existing_records), spec.object_type,
        )  # fmt: skip

    def _recording_usage(
        self, on_batch_done: Callable[[dict[str, str]], None] | None
    ) -> Callable[[dict[str, str]], None] | None:
        """``on_batch_done``, also adding the requests counted so far to the usage table every
        ``RECORD_USAGE_EVERY`` requests, so that a write task planning meanwhile sees them."""
        usage = self.usage
        if usage is None:
            return on_batch_done

        def done(ids: dict[str, str]) -> None:
            if on_batch_done is not None:
                on_batch_done(ids)
            if usage.unrecorded >= RECORD_USAGE_EVERY:
                self.record_usage()

        return done

    def record_usage(self) -> None:
        """Add the requests this hook counted and has not recorded yet to the portal's day in the usage
        table (no usage connection: nothing to do)."""
        if self.usage is None or not self.usage.unrecorded:
            return
        portal = self._portal or self.portal_details()
        day = portal_day(datetime.now(UTC), portal.time_zone)
        self.usage.record(portal.id or "unknown", day)

    def record_usage_quietly(self) -> None:
        """:meth:`record_usage` while a failure propagates: a usage table that fails too is logged, so that
        the failure (a 429 DAILY that defers the task) is what the caller sees."""
        try:
            self.record_usage()
        except Exception as exc:
            self.log.warning("The requests of this write were not recorded in the usage table: %s", exc)

    def _write_within_quota(
        self, spec: WriteSpec, records: Iterable[WriteRecord], rule: QuotaRule, sending: _Sending
    ) -> BatchOutcome:
        """Write what the day's quota covers above the reserve: everything when it suffices, else nothing
        (``fail``: HubSpotQuotaShort naming the numbers) or the first records that fit (the rest are in the
        outcome's ``not_attempted``). A 429 DAILY on the way says the reset is the portal's midnight. A
        run's plan that found the quota sufficient (``rule.planned``) is trusted: no request checks it, and
        the records are not counted first."""
        what = f"{spec.object_type} {spec.action}"
        if rule.planned is not None and not rule.planned.short:
            self._portal = Portal(rule.planned.portal, rule.planned.time_zone)
            self.log.info("%s: the run's plan covers it (%s)", what, rule.planned.describe())
            return self._write_before_reset(spec, records, rule.planned, sending)
        if iter(records) is records:  # one pass only, and it is counted before it is sent
            records = list(records)
        needed = _count_unskipped(records, sending.skip_keys)
        plan = self.plan_quota(requests_for(needed), rule)
        self.log.info("%s of %d records: %s", what, needed, plan.describe())
        if plan.short and rule.on_short == "fail":
            raise HubSpotQuotaShort(
                f"{what} of {needed} records not started: HubSpot's daily quota is short "
                f"({plan.describe()}). Nothing was written; run it after the reset, lower quota_reserve, "
                "or choose on_quota_short defer or partial",
                plan=plan,
            )
        fits = plan.records_that_fit(needed)
        if fits < needed:
            self.log.warning("%s: %d records fit today's quota; %d wait", what, fits, needed - fits)
        outcome = self._write_before_reset(spec, records, plan, sending, fits if fits < needed else None)
        outcome.quota = plan
        return outcome

    def _write_before_reset(
        self,
        spec: WriteSpec,
        records: Iterable[WriteRecord],
        plan: QuotaPlan,
        sending: _Sending,
        limit: int | None = None,
    ) -> BatchOutcome:
        """Write (at most ``limit`` records); a 429 DAILY on the way (another integration spent the quota)
        waits for the plan's reset, midnight in the portal's time zone."""
        try:
            return sending.write(self.engine, spec, records, limit)
        except HubSpotDailyLimitReached as exc:
            exc.resets_at = plan.resets_at
            raise

    def plan_quota(self, needed: int, rule: QuotaRule) -> QuotaPlan:
        """``needed`` requests against the day's quota: the account details call tells the portal's time
        zone (when the quota resets) and, in its rate-limit headers, the daily limit and what remains.
        Without those headers (an OAuth app), the connection's ``daily_limit`` minus the requests the usage
        table recorded for the portal's day (this task's so far included) is what remains."""
        portal = self.portal_details()
        now = datetime.now(UTC)
        reported = self.limiter.daily_quota()
        limit, remaining = reported
        if reported[1] is None and self.daily_limit is not None:
            used = self._used_today(portal, now)
            limit, remaining = daily_quota(reported, self.daily_limit, used)
            self.log.info(
                "HubSpot sent no daily quota headers: the connection's daily_limit %d, %s requests recorded "
                "for portal %s on %s", limit, used, portal.id, portal_day(now, portal.time_zone),
            )  # fmt: skip
        plan = plan_quota(needed, limit, remaining, rule, next_reset(now, portal.time_zone))
        return replace(plan, portal=portal.id, time_zone=portal.time_zone)

    def _used_today(self, portal: Portal, now: datetime) -> int:
        """Requests the usage table recorded for the portal's day, after adding this hook's own; 0 without a
        usage table (then only this hook's requests are unknown too: the log says so)."""
        if self.usage is None:
            self.log.warning(
                "daily_limit is set but no usage connection records the day's requests: the whole limit is "
                "taken as remaining"
            )
            return 0
        self.record_usage()
        return self.usage.used(portal.id or "unknown", portal_day(now, portal.time_zone))

    def portal_details(self) -> Portal:
        """The portal's id and time zone from the account information API; None for both when the token may
        not read it (HubSpot's page names no scope for it; assuming a token may lack one is the stricter
        choice): then the reset is taken to be midnight UTC, and the log says so."""
        try:
            body = self.request("GET", self.paths.account_details())
        except HubSpotMissingScopes as exc:
            self.log.warning(
                "The portal's time zone is unknown (%s); the daily reset is taken as UTC midnight", exc
            )
            self._portal = Portal(None, None)
        else:
            portal_id, time_zone = body.get("portalId"), body.get("timeZone")
            self._portal = Portal(str(portal_id) if portal_id else None, str(time_zone or "") or None)
        return self._portal

    def batch_read(
        self,
        object_type: str,
        keys: Iterable[str],
        id_property: str | None = None,
        properties: Sequence[str] = (),
    ) -> dict[str, dict]:
        """``{key: {"id", "properties"}}`` for every key found by ``id_property`` (record id when None)."""
        self.session  # noqa: B018 - build the session in this thread before the workers share it
        return self.engine.read(object_type, keys, id_property=id_property, properties=properties)

    def list_keys(self, object_type: str, key_property: str) -> dict[str, str]:
        """``{key: record id}`` of every record of ``object_type`` with a value for ``key_property``: the
        records a sync created. Pages through the object list, 100 records a request."""
        keys: dict[str, str] = {}
        after: str | None = None
        while True:
            query = f"?limit={MAX_BATCH}&properties={key_property}&archived=false"
            query += f"&after={after}" if after else ""
            page = self.request("GET", self.paths.objects(object_type) + query)
            for record in page.get("results") or []:
                if key := (record.get("properties") or {}).get(key_property):
                    keys[str(key)] = str(record["id"])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return keys

    def archive_records(self, object_type: str, record_ids: Sequence[str]) -> None:
        """Archive records by id, 100 a request (``batch/archive`` answers 204 whether or not each existed,
        so a retried request is harmless)."""
        for chunk in chunked(list(record_ids)):
            inputs = [{"id": record_id} for record_id in chunk]
            self.request("POST", self.paths.batch(object_type, "archive"), {"inputs": inputs})

    # -- properties API --------------------------------------------------------------------------
    def get_properties(self, object_type: str) -> list[dict]:
        """The portal's property definitions for ``object_type`` (HubSpot's properties API)."""
        return list(self.request("GET", self.paths.properties(object_type)).get("results") or [])

    def get_pipelines(self, object_type: str) -> list[dict]:
        """The portal's pipelines of ``object_type`` with their stages (ids and labels)."""
        return list(self.request("GET", self.paths.pipelines(object_type)).get("results") or [])

    def get_properties_by_type(self, object_types: Iterable[str]) -> dict[str, list[dict]]:
        """The property definitions of several object types, fetched concurrently (one request each)."""
        types = sorted(set(object_types))
        if not types:
            return {}
        self.session  # noqa: B018 - build the session in this thread before the workers share it
        with ThreadPoolExecutor(max_workers=min(len(types), self.max_workers)) as pool:
            return dict(zip(types, pool.map(self.get_properties, types), strict=True))

    def ensure_properties_by_type(
        self, existing: Mapping[str, Sequence[Mapping[str, Any]]], definitions: Sequence[Mapping[str, Any]]
    ) -> dict[str, list[str]]:
        """:meth:`ensure_properties` for several object types at once (``existing``: each type's current
        definitions), concurrently; returns the names created per type."""
        self.session  # noqa: B018 - build the session in this thread before the workers share it
        with ThreadPoolExecutor(max_workers=min(len(existing), self.max_workers) or 1) as pool:
            created = pool.map(lambda t: self.ensure_properties(t, definitions, existing[t]), list(existing))
            return dict(zip(existing, created, strict=True))

    def ensure_properties(
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
            existing_definitions = self.get_properties(object_type)
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
                    current = {p["name"]: p for p in self.get_properties(object_type)}.get(name) or {}
                else:
                    created.append(name)
            if current and definition.get("hasUniqueValue") and not current.get("hasUniqueValue"):
                raise HubSpotValidationError(
                    f"{object_type} property {name!r} exists but is not unique (hasUniqueValue false); "
                    "HubSpot cannot make an existing property unique: choose another name"
                )
        return created

    # -- associations API ----------------------------------------------------------------------------
    def read_association_types(
        self, from_type: str, to_type: str, from_ids: Sequence[str]
    ) -> dict[str, dict[str, set[int]]]:
        """``{from id: {associated id: {association type ids}}}`` through the association batch read."""
        current: dict[str, dict[str, set[int]]] = {}
        for chunk in chunked(list(from_ids), ASSOCIATION_BATCH):
            body = self.request(
                "POST",
                self.paths.association_batch(from_type, to_type, "read"),
                {"inputs": [{"id": record_id} for record_id in chunk]},
            )
            for result in body.get("results") or []:
                current[str(result["from"]["id"])] = {
                    str(to["toObjectId"]): {int(t["typeId"]) for t in to.get("associationTypes") or []}
                    for to in result.get("to") or []
                }
        return current

    def remove_associations(self, from_type: str, to_type: str, links: Sequence[Link]) -> None:
        """Remove each link's association (every type between the two records, both directions; HubSpot
        removes labelled links with the unlabelled one) through the association batch archive."""
        targets: dict[str, list[str]] = {}
        for link in links:
            targets.setdefault(link.from_id, []).append(link.to_id)
        inputs = [{"from": {"id": f}, "to": [{"id": t} for t in to]} for f, to in targets.items()]
        endpoint = self.paths.association_batch(from_type, to_type, "archive")
        for chunk in chunked(inputs, ASSOCIATION_BATCH):
            self.request("POST", endpoint, {"inputs": chunk})

    def create_associations(
        self, from_type: str, to_type: str, links: Sequence[Link]
    ) -> list[tuple[Link, str]]:
        """Create associations through the association batch create (HubSpot answers 201, or 200 from
        ``2026-09`` on); return the links HubSpot refused, with its reason. A request refused whole (400) is
        split until the bad links stand alone."""
        refused: list[tuple[Link, str]] = []
        for chunk in chunked(list(links), ASSOCIATION_BATCH):
            self._create_association_chunk(from_type, to_type, chunk, refused)
        return refused

    def _create_association_chunk(
        self, from_type: str, to_type: str, chunk: list[Link], refused: list[tuple[Link, str]]
    ) -> None:
        """One association batch create of ``chunk``; refused links (with HubSpot's reason) go to ``refused``.
        The category is sent on every version: the OpenAPI files of each still require it."""
        inputs = [
            {
                "from": {"id": link.from_id},
                "to": {"id": link.to_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": link.type_id}],
            }
            for link in chunk
        ]
        try:
            body = self.request(
                "POST", self.paths.association_batch(from_type, to_type, "create"), {"inputs": inputs}
            )
        except HubSpotValidationError as exc:
            reason = exc.message
            split_refused(
                chunk,
                exc,
                send_part=lambda half: self._create_association_chunk(from_type, to_type, half, refused),
                reject=lambda link: refused.append((link, reason)),
            )
            return
        made = {(str(r["fromObjectId"]), str(r["toObjectId"])) for r in body.get("results") or []}
        reason = "; ".join(str(error.get("message")) for error in body.get("errors") or []) or "no result"
        refused.extend((link, reason) for link in chunk if (link.from_id, link.to_id) not in made)

    # -- token introspection ------------------------------------------------------------------------
    def token_scopes(self) -> set[str] | None:
        """The scopes HubSpot granted the connection's token: asked as a private app token or service key,
        else as an OAuth access token; None when HubSpot knows it as neither (nothing to check against)."""
        if self.oauth is not None:
            return self._oauth_app_scopes(self.oauth)
        token = self.connection.password or ""
        paths = self.paths
        try:
            body = self.request("POST", paths.private_app_token_info(), {"tokenKey": token})
        except HubSpotValidationError:
            try:
                body = self.request(
                    "GET",
                    paths.oauth_token_metadata(token),
                    label=f"GET {paths.oauth_token_metadata('<token>')}",
                )
            except HubSpotValidationError:
                return None
        return {str(scope) for scope in body.get("scopes") or []}

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
        response = self._post_form(endpoint, form)
        if not 200 <= response.status < 300:
            what = f"POST {endpoint}"
            raise error_for_response(response.status, response.body, response.headers, what=what)
        return {str(scope) for scope in response.body.get("scopes") or []}

    def test_connection(self) -> tuple[bool, str]:
        """Check the host and token by listing product properties, once and without retries, so that a
        dead host answers the Airflow UI's Test button (and ``airflow connections test``) in seconds."""
        try:
            endpoint = self.paths.properties("products")
            response = self.send("GET", endpoint)
            if not 200 <= response.status < 300:
                raise error_for_response(
                    response.status, response.body, response.headers, what=f"GET {endpoint}"
                )
        except HubSpotError as exc:
            return False, f"{self.base_url}: {exc}"
        return True, "Connection to HubSpot works"


# HubSpot's scope name for each object type's records (``crm.objects.<name>.read|write``) and properties
# (``crm.schemas.<name>.write``); products and line items also accept the legacy ``e-commerce`` scope.
OBJECT_SCOPES = {
    "products": "products",
    "line_items": "line_items",
    "orders": "orders",
    "carts": "carts",
    "commerce_payments": "commercepayments",
    "contacts": "contacts",
}
LEGACY_ECOMMERCE = {"products", "line_items"}


def missing_scopes(
    granted: set[str], read: Iterable[str], write: Iterable[str], new_properties: Iterable[str]
) -> list[str]:
    """The scopes a run needs and the token lacks: read of every object type it reads, write of every
    one it writes, schema write where it creates a property (``e-commerce`` covers products and line
    items)."""
    needed = [
        *((object_type, "objects", "read") for object_type in sorted(set(read))),
        *((object_type, "objects", "write") for object_type in sorted(set(write))),
        *((object_type, "schemas", "write") for object_type in sorted(set(new_properties))),
    ]
    missing: list[str] = []
    for object_type, kind, access in needed:
        scope = f"crm.{kind}.{OBJECT_SCOPES.get(object_type, object_type)}.{access}"
        legacy = kind == "objects" and object_type in LEGACY_ECOMMERCE and "e-commerce" in granted
        if scope not in granted and not legacy and scope not in missing:
            missing.append(scope)
    return missing


class _OAuthBearer(requests.auth.AuthBase):
    """Puts the OAuth app's current access token on each request (refreshed when it is about to expire)."""

    def __init__(self, token: OAuthToken) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token.current()}"
        return request


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
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


def key_property_definition(name: str, label: str | None = None, description: str = "") -> dict[str, Any]:
    """A unique single-line text property that holds the source key of every record this package creates
    (unique, so HubSpot itself refuses a second record with the same key). No group is named:
    :meth:`HubSpotHook.ensure_properties` puts it in the object's main group."""
    return {
        "name": name,
        "label": label or name.replace("_", " ").capitalize(),
        "type": "string",
        "fieldType": "text",
        "hasUniqueValue": True,
        "description": description
        or "Source key set by airflow-hubspot-commerce; unique, so a record is created once.",
    }
