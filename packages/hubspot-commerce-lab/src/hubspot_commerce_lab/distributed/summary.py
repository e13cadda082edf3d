"""The ``DISTRIBUTED ...`` line that ends ``make distributed``: its figures, what they must be, and a parser.

The run passes when both workers wrote to HubSpot (the surviving one, when ``FAULT=kill-worker`` killed the
other), every DAG run succeeded or was refused by the rejected-rows rule, the graph check found nothing wrong
(rows the sync rejected with a reason are counted apart, never as missing), the DAG's requests never exceeded
HubSpot's ten-secondly limit, at most 0.5% of them got a 429, and a killed worker's task was retried to
success on another worker.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_429_SHARE = 0.005
MIN_RUNS = 4  # the full refresh and the three backfilled days (plus the scheduled run unpausing creates)


@dataclass(frozen=True)
class Outcome:
    """Everything the final line reports, plus the request count the 429 share is taken of."""

    workers: int
    workers_with_hubspot_writes: int
    runs: int
    runs_ok: int
    graph_ok: bool
    duplicates: int
    missing: int
    peak_requests_10s: int
    limit: int
    http_429: int
    requests: int
    seconds: float
    write_tasks: int = 0  # successful write task instances (a write with nothing to do is skipped)
    executor: str = "CeleryExecutor"
    rejected: int = 0  # source rows the sync rejected with a reason (in its sync state)
    runs_refused: int = 0  # runs whose only failures were refusals by the rejected-rows rule
    workers_killed: int = 0  # FAULT=kill-worker
    lost_task_recovered: bool = True  # the killed worker's task succeeded on a later try elsewhere
    secrets_found: int = 0  # places the HubSpot token was found in (task logs, XCom, files)

    def line(self) -> str:
        """The final line, exactly as the lab prints it."""
        return (
            f"DISTRIBUTED executor={self.executor} workers={self.workers} "
            f"workers_with_hubspot_writes={self.workers_with_hubspot_writes} runs={self.runs} "
            f"runs_ok={self.runs_ok} graph={'ok' if self.graph_ok else 'FAIL'} duplicates={self.duplicates} "
            f"missing={self.missing} rejected={self.rejected} peak_requests_10s={self.peak_requests_10s} "
            f"limit={self.limit} http_429={self.http_429} workers_killed={self.workers_killed} "
            f"seconds={self.seconds:.0f}"
        )

    def failures(self) -> list[str]:
        """Every requirement the run missed, in words (empty when it passed)."""
        writers = f"only {self.workers_with_hubspot_writes} of {self.workers} workers ran a HubSpot write"
        if self.write_tasks == 0 and self.runs and self.runs_ok == self.runs:
            writers += " (no write task had anything to write: HubSpot already held the store)"
        peak = f"{self.peak_requests_10s} requests in 10 s, over the limit of {self.limit}"
        throttled = f"{self.http_429} of {self.requests} requests answered 429 (over {MAX_429_SHARE:.1%})"
        unsuccessful = self.runs - self.runs_ok - self.runs_refused
        checks = [
            (self.workers_with_hubspot_writes >= self.workers - self.workers_killed, writers),
            (self.runs >= MIN_RUNS, f"{self.runs} DAG runs, expected at least {MIN_RUNS}"),
            (unsuccessful == 0, f"{unsuccessful} of {self.runs} DAG runs did not succeed"),
            (
                self.graph_ok and self.duplicates == 0 and self.missing == 0,
                "HubSpot does not match the store (or could not be read)",
            ),
            (self.peak_requests_10s <= self.limit, peak),
            (self.http_429 <= MAX_429_SHARE * self.requests, throttled),
            (self.lost_task_recovered, "the killed worker's task did not succeed on another worker"),
            (self.secrets_found == 0, f"the HubSpot token appears in {self.secrets_found} places (a leak)"),
        ]
        return [message for passed, message in checks if not passed]


def parse_line(output: str) -> dict[str, str]:
    """The fields of the last ``DISTRIBUTED`` line in ``output`` (KeyError-free: {} when there is none)."""
    lines = [line for line in output.splitlines() if line.startswith("DISTRIBUTED ")]
    if not lines:
        return {}
    return dict(field.split("=", 1) for field in lines[-1].split()[1:])
