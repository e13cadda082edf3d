"""A run's options: the trigger form's Params, declared here with their defaults and parsed once into a frozen
``RunOptions``, so every task reads the same typed values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Param

from hubspot_commerce.batch.quota import DEFAULT_RESERVE, ON_QUOTA_SHORT, QuotaRule
from hubspot_commerce.errors import RunParamsError
from hubspot_commerce.sync.mapping import StreamMapping

# What a window Param takes, as its description and its refusals say it.
WINDOW_FORMAT = "a date such as 2025-03-01 (midnight UTC) or a datetime such as 2025-03-01T06:00:00+00:00"


def run_params(stream_names: list[str], max_rejected_fraction: float, quota: QuotaRule) -> dict[str, Param]:
    """The trigger form: the Params ``RunOptions.from_params`` reads, with the DAG's defaults."""
    return {**_sync_params(stream_names, max_rejected_fraction), **_quota_params(quota)}


def _sync_params(stream_names: list[str], max_rejected_fraction: float) -> dict[str, Param]:
    """Dry run, full refresh, the streams to write, an explicit window, the share of a stream's rows that
    may be rejected, and how the run treats HubSpot's records."""
    return {
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Extract, validate and plan against HubSpot; the report says what would be "
            "written; nothing is written.",
        ),
        "full_refresh": Param(
            False,
            type="boolean",
            title="Full refresh",
            description="Sync every row in the source, ignoring the window (a first load).",
        ),
        "objects": Param(
            stream_names,
            type="array",
            title="Objects",
            items={"type": "string", "enum": stream_names},
            examples=stream_names,  # the trigger form shows a multi-select of the stream names
            description="Streams to write, e.g. orders and order_line_items; the others are only read to "
            "resolve links.",
        ),
        "window_start": Param(
            None,
            type=["null", "string"],
            title="Window start (UTC)",
            description="With window_end: sync the rows updated from this moment on. "
            f"Either {WINDOW_FORMAT}; UTC unless an offset is given. Both empty: the run's data interval.",
        ),
        "window_end": Param(
            None,
            type=["null", "string"],
            title="Window end (UTC)",
            description="With window_start: sync the rows updated before this moment (the end is excluded). "
            "Either a date such as 2025-03-02 (midnight UTC) or a datetime such as "
            "2025-03-02T06:00:00+00:00; UTC unless an offset is given.",
        ),
        "max_rejected_fraction": Param(
            max_rejected_fraction,
            type="number",
            minimum=0,
            maximum=1,
            title="Rejected rows allowed",
            description="Share of a stream's rows that may be rejected (before sending, or by HubSpot), "
            "e.g. 0.01 for 1%; above it the stream fails, and before sending nothing of it is written.",
        ),
        **_existing_records_params(),
    }


def _existing_records_params() -> dict[str, Param]:
    """How a run treats the records HubSpot already holds: trust the sync state or reconcile, and whether a
    mirror stream may archive more than its guard allows."""
    return {
        "reconcile": Param(
            False,
            type="boolean",
            title="Reconcile with HubSpot",
            description="Read every row's record from HubSpot instead of trusting the sync state: repairs "
            "records edited, merged or deleted in HubSpot, and the state. Costs a read per 100 rows.",
        ),
        "confirm_archive": Param(
            False,
            type="boolean",
            title="Confirm a mass archive",
            description="Mirror streams only: let this run archive more of a stream than the guard allows "
            "(default 10%) without asking; otherwise approve_archive asks in Required actions. For "
            "automation; a dry run's report lists what would be archived.",
        ),
    }


def _quota_params(quota: QuotaRule) -> dict[str, Param]:
    """The daily quota settings of the trigger form (see ``batch/quota.py``)."""
    return {
        "on_quota_short": Param(
            quota.on_short,
            type="string",
            enum=list(ON_QUOTA_SHORT),
            title="When the daily quota is short",
            description="When a write needs more requests than HubSpot's daily quota leaves above the "
            "reserve: defer (write what fits, wait for the reset at midnight in the portal's time zone "
            "without holding a worker, go on), fail (before writing, naming the numbers) or partial "
            "(write what fits; the report counts the rest as not attempted).",
        ),
        "quota_reserve": Param(
            quota.reserve,
            type="number",
            minimum=0,
            exclusiveMaximum=1,
            title="Quota reserve",
            description="Share of the portal's daily request limit left for its other integrations, "
            "e.g. 0.1 for 10%.",
        ),
    }


@dataclass(frozen=True)
class RunOptions:
    """What the Params decide for a run: which streams are written, whether anything is, how the run treats
    HubSpot's records, rejected rows and the daily quota, and its window."""

    objects: tuple[str, ...] = ()
    dry_run: bool = False
    full_refresh: bool = False
    reconcile: bool = False
    confirm_archive: bool = False
    max_rejected_fraction: float = 0.01
    on_quota_short: str = "defer"
    quota_reserve: float = DEFAULT_RESERVE
    window_start: str | None = None
    window_end: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RunOptions:
        """The options of the DAG's Params (``run_params`` declares them)."""
        return cls(
            objects=tuple(params["objects"]),
            dry_run=bool(params["dry_run"]),
            full_refresh=bool(params["full_refresh"]),
            reconcile=bool(params["reconcile"]),
            confirm_archive=bool(params["confirm_archive"]),
            max_rejected_fraction=float(params["max_rejected_fraction"]),
            on_quota_short=str(params["on_quota_short"]),
            quota_reserve=float(params["quota_reserve"]),
            window_start=params.get("window_start"),
            window_end=params.get("window_end"),
        )

    def explicit_window(self) -> tuple[datetime, datetime] | None:
        """The window the Params give, in UTC; None when they give none (or on a full refresh, which ignores
        them). A window with one end, an end that is not a date or datetime, or an empty window is a
        RunParamsError of one sentence, raised before the run reads or asks anything."""
        start, end = self.window_start, self.window_end
        if self.full_refresh or not (start or end):
            return None
        if not (start and end):
            given, empty = ("window_start", "window_end") if start else ("window_end", "window_start")
            raise RunParamsError(
                f"The run was given {given} {start or end!r} but no {empty}: trigger it again with both ends "
                "of the window (e.g. window_start 2025-03-01 and window_end 2025-03-02) or neither (the "
                "run's data interval)."
            )
        window = window_bound("window_start", start), window_bound("window_end", end)
        if window[0] >= window[1]:
            raise RunParamsError(
                f"The window {window[0].isoformat()} .. {window[1].isoformat()} is empty: trigger the run "
                "again with a window_start before its window_end (the end is excluded)."
            )
        return window

    def selected(self, stream: str) -> bool:
        """Whether the user chose to write ``stream`` (a dry run only says what it would write)."""
        return stream in self.objects

    def writes(self, stream: str) -> bool:
        """Whether this run writes ``stream``: selected, and not a dry run."""
        return self.selected(stream) and not self.dry_run

    def written_streams(self) -> tuple[str, ...]:
        """The streams this run writes: none on a dry run."""
        return () if self.dry_run else self.objects

    def rejected_fraction(self, stream: StreamMapping) -> float:
        """The share of the stream's rows that may be rejected: the mapping's, else the Param's."""
        allowed = stream.max_rejected_fraction
        return self.max_rejected_fraction if allowed is None else float(allowed)

    def quota_rule(self) -> QuotaRule:
        """What a write does when the day's quota is short, and the share of it left for others."""
        return QuotaRule(self.on_quota_short, self.quota_reserve)

    def describe(self, stream: str) -> str:
        """Whether ``stream`` is written, in words for the log."""
        if self.dry_run:
            return "dry run: nothing is written"
        return "writing" if self.selected(stream) else "not selected: nothing is written"


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is taken to be in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_bound(name: str, value: str) -> datetime:
    """A window Param's value (``name``) in UTC: a date is its midnight UTC, a datetime without an offset is
    taken as UTC; anything else is a RunParamsError of one sentence."""
    try:
        return as_utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise RunParamsError(
            f"{name} {value!r} is neither a date nor a datetime: trigger the run again with {WINDOW_FORMAT}."
        ) from None
