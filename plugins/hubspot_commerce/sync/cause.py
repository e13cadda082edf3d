"""Why a task of the run failed and what to do about it: the tasks' failure callback records the cause in the
run's storage (``TaskFailure``), and the report ends with it, so a failed run's last lines name the cause."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from airflow.sdk.exceptions import AirflowNotFoundException

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.errors import (
    HubSpotAuthError,
    HubSpotConfigurationError,
    HubSpotDailyLimitReached,
    HubSpotMissingScopes,
    HubSpotOAuthRefused,
    HubSpotQuotaShort,
    HubSpotRateLimited,
    HubSpotRejectedRecords,
    HubSpotServerError,
    HubSpotUncertainWrites,
    HubSpotValidationError,
    MassArchiveRefused,
    RunParamsError,
    SourceRowsRejected,
    StateTableRefused,
    SyncConfigurationError,
)
from hubspot_commerce.storage import read_json, write_json

MAX_MESSAGE = 400  # characters of an exception's first line the report and the run's last exception show
# What to do, by the kind of error, first match wins (subclasses before their base classes); the retry
# policy in sync_dag.py has failed these at once, or retried them in vain.
ADVICE: tuple[tuple[type[BaseException], str], ...] = (
    (HubSpotMissingScopes, "add the missing scopes to the app or key in HubSpot and update the connection"),
    (HubSpotOAuthRefused, "correct the OAuth app's client id, secret or refresh token in the connection"),
    (HubSpotAuthError, "put a valid access token in the HubSpot connection's password"),
    (HubSpotConfigurationError, "correct the HubSpot connection's setting it names"),
    (HubSpotQuotaShort, "wait for HubSpot's daily reset, or trigger with on_quota_short defer"),
    (HubSpotDailyLimitReached, "wait for HubSpot's daily reset"),
    (HubSpotRejectedRecords, "fix the records HubSpot refused (its rejected-records file has why)"),
    (HubSpotUncertainWrites, "look the in-doubt keys up in HubSpot before writing them again"),
    (HubSpotValidationError, "correct the property, value or mapping HubSpot's answer names"),
    (HubSpotRateLimited, "make the hubspot_api pool smaller or wait (HubSpot rate-limited every try)"),
    (HubSpotServerError, "wait until HubSpot answers again (it failed or did not answer on every try)"),
    (SourceRowsRejected, "fix the rows in the files it names, or raise max_rejected_fraction"),
    (MassArchiveRefused, "check what the source deleted; if it is meant, trigger with confirm_archive"),
    (RunParamsError, "trigger a new run with the Params corrected (a cleared task keeps this run's Params)"),
    (StateTableRefused, "grant what it names, or set [hubspot_commerce] state_conn_id / state_table"),
    (SyncConfigurationError, "correct what it names (a SQL file, the mapping or the portal)"),
    (
        AirflowNotFoundException,
        "define the connection it names where the tasks run (Admin > Connections, a secrets backend or an "
        "AIRFLOW_CONN_<ID> variable)",
    ),
)
UNKNOWN_ADVICE = "read the task's log for the whole error and fix its cause"


def advice_for(error: BaseException | str | None) -> str:
    """What to do about a task's exception, before clearing the task."""
    return next((text for kind, text in ADVICE if isinstance(error, kind)), UNKNOWN_ADVICE)


def first_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """The first non-empty line of a message, cut at a word before ``limit`` characters when longer."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0] + " … (the task's log has all of it)"


@dataclass(frozen=True)
class TaskFailure:
    """A failed task, its exception's type and the first line of its message (empty when no failure callback
    recorded them: a task killed, or marked failed by hand), and what to do about it."""

    task: str
    exception: str = ""
    message: str = ""
    advice: str = UNKNOWN_ADVICE
    clearable: bool = True  # False: clearing the task cannot help (the run's own Params are wrong)

    @classmethod
    def of(cls, task: str, error: BaseException | str | None) -> TaskFailure:
        """The failure of ``task`` from what its failure callback was given (a message when the task was
        killed)."""
        if isinstance(error, BaseException):
            clearable = not isinstance(error, RunParamsError)
            return cls(task, type(error).__name__, first_line(str(error)), advice_for(error), clearable)
        return cls(task, "", first_line(error or ""))

    def save(self, files: RunStorage) -> None:
        write_json(files.failure(self.task), asdict(self))

    @classmethod
    def load(cls, files: RunStorage, task: str) -> TaskFailure:
        """The recorded failure of ``task``, or one that says its log has the cause."""
        path = files.failure(task)
        return cls(**read_json(path)) if path.exists() else cls(task)

    @property
    def cause(self) -> str:
        """``HubSpotMissingScopes: <first line>``, or the log to read when nothing was recorded."""
        cause = ": ".join(part for part in (self.exception, self.message) if part)
        return cause or "no cause was recorded; the task's log has it"

    def summary(self) -> str:
        """One sentence: the task, the cause and what to do, as the run's last exception says it."""
        then = f", then clear {self.task} with its downstream tasks" if self.clearable else ""
        return f"{self.task} failed: {self.cause.rstrip('.')}. Fix: {self.advice}{then}."


def failures_summary(failures: Iterable[TaskFailure]) -> str:
    """The run's last exception message: the first failure in full, and how many more the report lists."""
    first, *others = failures
    more = f" ({len(others)} more failed: see the report)" if others else ""
    return first.summary() + more
