"""Typed HubSpot errors, the one function that turns an HTTP answer into one of them, and the sync's
configuration error (what no retry can fix on the warehouse side).

Messages are built from the status and the response body only, never from request headers, so the
access token cannot leak into an exception, a log line or a task's failure reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hubspot_commerce.batch.quota import QuotaPlan, next_reset

if TYPE_CHECKING:
    from hubspot_commerce.batch.records import BatchOutcome


class HubSpotError(Exception):
    """Base class: HubSpot refused a request, or could not be reached.

    ``partial_outcome``: when the error stopped a batch write, what had landed (ids, counts, rejections).
    """

    partial_outcome: BatchOutcome | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str | None = None,
        correlation_id: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.category = category
        self.correlation_id = correlation_id
        self.body: Mapping[str, Any] = body or {}


class HubSpotAuthError(HubSpotError):
    """401: the token is missing, wrong or expired. Retrying cannot help."""


class HubSpotOAuthRefused(HubSpotAuthError):
    """HubSpot refused the connection's OAuth app credentials (a revoked or wrong refresh token, client id or
    secret: ``BAD_REFRESH_TOKEN``, ``invalid_grant``): no retry can help until the connection is fixed."""


class HubSpotMissingScopes(HubSpotAuthError):
    """403: the token works but lacks the scopes this call needs (``.scopes`` names them)."""

    def __init__(self, message: str, *, scopes: list[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.scopes = scopes


class HubSpotRateLimited(HubSpotError):
    """429 on the rolling burst window (``.policy`` e.g. ``TEN_SECONDLY_ROLLING``): wait and retry."""

    def __init__(self, message: str, *, policy: str | None, retry_after: float | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.policy = policy
        self.retry_after = retry_after


class HubSpotDailyLimitReached(HubSpotError):
    """429 ``DAILY``: the account's daily quota is spent; nothing will succeed before ``.resets_at``."""

    def __init__(self, message: str, *, resets_at: datetime, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.resets_at = resets_at


class HubSpotQuotaShort(HubSpotError):
    """A write needs more requests than the day's quota leaves above the reserve, and ``on_quota_short`` is
    ``fail``: nothing was written (``.plan`` holds the numbers). No retry helps before the reset."""

    def __init__(self, message: str, *, plan: QuotaPlan, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.plan = plan


class HubSpotValidationError(HubSpotError):
    """4xx caused by the request's content (400, 404, 409, 414, ...): fix the data, do not retry as is."""


class HubSpotConfigurationError(HubSpotError):
    """The connection cannot work as configured (an ``api_version`` HubSpot does not serve): fix the
    connection; no retry can help."""


class HubSpotServerError(HubSpotError):
    """5xx, 423 (locked) or 477 (migration): transient, retry after a pause (``.retry_after`` if sent)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    @property
    def write_uncertain(self) -> bool:
        """True when a write may have been committed although no answer says so (5xx, dropped connection)."""
        return self.status is None or self.status >= 500


class HubSpotConnectionError(HubSpotServerError):
    """No HTTP answer at all: connection refused or dropped, or the request timed out."""


class HubSpotUnavailable(HubSpotServerError):
    """HubSpot failed (5xx, locked, no answer) for as long as the engine retried: an outage, not a refusal.

    Nothing is rejected for it: what landed is kept (``partial_outcome``), creates in doubt are confirmed by
    the task's next try before anything is resent. Retry the task later.
    """


class HubSpotUncertainWrites(HubSpotError):
    """Creates without a key property whose answer was lost: they may or may not exist in HubSpot, and
    resending could duplicate them, so they were not resent. Their keys are in the task's in-doubt file."""


class HubSpotRejectedRecords(HubSpotError):
    """More records were rejected than the task allows; raised after every good record has landed."""


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (HubSpot documents seconds for 477), or None when absent or not a number."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _scopes_from(body: Mapping[str, Any]) -> list[str]:
    scopes: list[str] = []
    for detail in body.get("errors") or []:
        context = detail.get("context") or {} if isinstance(detail, Mapping) else {}
        scopes.extend(
            str(s) for s in context.get("requiredGranularScopes") or context.get("requiredScopes") or []
        )
    return scopes


def error_message(body: Mapping[str, Any]) -> str:
    """HubSpot's message with the messages of its ``errors`` items it does not already hold, plainly or as
    JSON (a write validation rule names itself only there: ``hs_order_note is required because of a
    conditional property rule based on [hs_external_order_status]``)."""
    message = str(body.get("message") or "")
    details: list[str] = []
    for item in body.get("errors") or []:
        text = str(item.get("message") or "") if isinstance(item, Mapping) else ""
        held = text in message or json.dumps(text)[1:-1] in message
        if text and not held and text not in details:
            details.append(text)
    return ": ".join(part for part in (message, "; ".join(details)) if part)


def parse_body(text: str) -> dict[str, Any]:
    """The JSON object HubSpot sent, or ``{"message": <text start>}`` when it is not JSON (edge 502s)."""
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        return {"message": text[:300]}
    return body if isinstance(body, dict) else {"message": str(body)[:300]}


def _rate_limit_error(
    body: Mapping[str, Any], message: str, retry_after: float | None, common: dict[str, Any], what: str
) -> HubSpotError:
    """A 429: the daily quota spent (``policyName`` ``DAILY``), or the rolling burst window."""
    policy = body.get("policyName")
    if policy == "DAILY":
        # HubSpot resets at midnight in the account's time zone, which a 429 does not report: without
        # Retry-After the next UTC midnight is the stated estimate (the message says so).
        resets_at = next_reset(datetime.now(UTC), None, retry_after=retry_after)
        return HubSpotDailyLimitReached(
            f"{what}: HubSpot's daily API quota for this account is spent ({message}). It resets at "
            f"midnight in the account's time zone; expected by {resets_at:%Y-%m-%d %H:%M:%S} UTC. "
            "Records written so far are kept; rerun the task after the reset.",
            resets_at=resets_at,
            **common,
        )
    return HubSpotRateLimited(
        f"{what}: rate limited ({policy or 'unknown policy'}): {message}",
        policy=policy,
        retry_after=retry_after,
        **common,
    )


def error_for_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str], *, what: str
) -> HubSpotError:
    """Translate a non-2xx HubSpot answer into the typed error a caller can branch on.

    ``what`` names the call (e.g. ``"POST <orders batch create path>"``) for the message.
    """
    message = error_message(body) or f"HTTP {status}"
    common: dict[str, Any] = {
        "status": status,
        "category": body.get("category") or body.get("errorType"),
        "correlation_id": body.get("correlationId"),
        "body": body,
    }
    retry_after = retry_after_seconds(headers)
    if status == 429:
        return _rate_limit_error(body, message, retry_after, common, what)
    if status == 401:
        return HubSpotAuthError(
            f"{what}: HubSpot refused the access token ({common['category'] or 401}): {message}", **common
        )
    if status == 403:
        scopes = _scopes_from(body)
        named = ", ".join(scopes) if scopes else "not named by HubSpot"
        return HubSpotMissingScopes(
            f"{what}: the access token lacks required scopes ({named}). Add them to the app or key in "
            f"HubSpot and update the connection. HubSpot said: {message}",
            scopes=scopes,
            **common,
        )
    if status >= 500 or status in (423, 477):
        return HubSpotServerError(
            f"{what}: HubSpot answered {status}: {message}", retry_after=retry_after, **common
        )
    return HubSpotValidationError(f"{what}: HubSpot answered {status}: {message}", **common)


class SyncConfigurationError(ValueError):
    """The sync cannot run as configured (a Param, a SQL file, the mapping, a query the source refuses):
    no retry can fix it, so the task fails at once with a message naming what to change."""


class RunParamsError(SyncConfigurationError):
    """A Param of this run cannot be used (a window with one end, or none between its ends). A run keeps its
    Params, so clearing its tasks fails the same way: only a new run with other Params can pass."""


class StateTableRefused(SyncConfigurationError):
    """The sync state table's connection refused to create, read or write it (the user's rights, a
    read-only database): ``problem`` says what and why, ``fix`` the grant or the setting that moves it."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}: {fix}")
        self.problem, self.fix = problem, fix


class MassArchiveRefused(ValueError):
    """Mirror mode would archive more of a stream than its guard allows and ``approve_archive`` gave no
    answer (it was skipped): nothing was archived. A run with the Param ``confirm_archive`` goes ahead; a
    retry as is cannot pass."""


class SourceRowsRejected(ValueError):
    """More of a stream's rows were rejected before sending (validation, unresolved references) than its
    threshold allows: nothing of that stream was written. Fix the rows (their file is named) or raise
    the threshold; a retry as is cannot pass."""
