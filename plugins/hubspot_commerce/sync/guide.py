"""The user's guide in the DAG's Docs pane (``doc_md``), built from the DAG's own Params, connections, pool
and schedule, so it cannot drift from what the trigger form and the tasks do."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow.sdk import Param

EXAMPLE_CONF = {
    "dry_run": True,
    "objects": ["orders", "order_line_items"],
    "window_start": "2025-03-01T00:00:00+00:00",
    "window_end": "2025-03-02T00:00:00+00:00",
}


def params_table(params: Mapping[str, Param]) -> str:
    """One row per Param of the trigger form: its name, default and what it does (with an example)."""
    rows = ["| Param | Default | What it does |", "|---|---|---|"]
    for name, param in params.items():
        default = json.dumps(param.value if param.has_value else None)
        rows.append(f"| `{name}` | `{default}` | {param.description or ''} |")
    return "\n".join(rows)


def user_guide(dag_id: str, params: Mapping[str, Param], settings: Mapping[str, Any]) -> str:
    """The guide: what the DAG does, its Params, what it needs, dry runs and backfills, where the report
    and the rejected rows are, and how to finish a failed run. ``settings`` holds ``source_conn_id``,
    ``hubspot_conn_id``, ``pool``, ``cron`` and ``work_root``."""
    return _what_and_how(dag_id, params, settings) + _when_it_runs(dag_id, settings)


def _what_and_how(dag_id: str, params: Mapping[str, Param], s: Mapping[str, Any]) -> str:
    """The guide's first half: what the DAG does, its trigger form, what it needs."""
    return f"""# HubSpot commerce sync

Puts the store's products, customers, orders with their line items, payments and carts into HubSpot CRM,
linked the way HubSpot links commerce objects. Every night (`{s["cron"]}`, UTC) it syncs the rows updated in
the run's data interval; new rows are created, changed rows updated, unchanged rows cost no write, and a row
that cannot be written is rejected with its reason while the rest lands. Nothing is deleted in HubSpot
unless a stream of the mapping has `mirror: true`: its records whose rows the source deleted are then
archived, and a run that would archive more than the guard allows first asks in `approve_archive` (Required
actions), where Keep archives nothing.

## Trigger form

{params_table(params)}

For example (Trigger → Advanced, or `airflow dags trigger {dag_id} -c '...'`):

```json
{json.dumps(EXAMPLE_CONF)}
```

## What it needs

* Connection `{s["source_conn_id"]}`: the store's SQL database (any common-sql connection).
* Connection `{s["hubspot_conn_id"]}`, type **HubSpot**: the API base URL in *Host*, the access token (service
  key, private app or OAuth) in *Access token*. Its **Test** button checks both.
* The sync state table `{s["state_table"]}` in connection `{s["state_conn_id"]}`: its user creates it on the
  first run and writes it on every run (the settings `[hubspot_commerce] state_conn_id` and `state_table` put
  it elsewhere, for a read-only source).
* Pool `{s["pool"]}`: every task that calls HubSpot runs in it
  (`airflow pools set {s["pool"]} 3 "HubSpot API"`; 2 below 190 requests per 10 s).

"""


def _when_it_runs(dag_id: str, s: Mapping[str, Any]) -> str:
    """The guide's second half: dry runs and backfills, the quota, the report, failures."""
    return f"""## Dry run and backfill

A **dry run** extracts, validates and plans against HubSpot, and reports what it would create and update; it
writes nothing, and its write tasks end as skipped. A **backfill** (Trigger → Backfill, or
`airflow backfill create --dag-id {dag_id} --from-date 2025-03-01 --to-date 2025-03-04`) runs one DAG run per
day, one at a time, each syncing exactly its data interval; re-running a window writes nothing that is already
there. A write task emits Asset events (`hubspot://crm/<object type>`, and through the alias
`hubspot_portal_<object type>` `hubspot://<portal id>/<object type>`; its counts in each event's extra) only
when it created or updated records.

## The daily quota

Before any write, `plan_quota` estimates the run's requests from the sync state and compares them, in one
request, with what HubSpot's daily quota leaves above the reserve (`quota_reserve`). When the run is short,
`on_quota_short` decides: `defer` writes what fits and waits for the portal's midnight without holding a
worker, `fail` stops here before anything is written, `partial` writes what fits. The report gives the
numbers.

## The report and the rejected rows

The `report` task's log shows, per stream, the rows extracted, created, updated, unchanged, rejected and
unfinished (extracted = the sum of the others). It is also in `report.txt` in the run's folder
`{s["work_root"]}/{dag_id}/<run_id>/`, beside `rejected.jsonl`: every row rejected before sending, with its
source key and reason. Records HubSpot refused are in `<task>.rejected.jsonl` there; the report names each
file.

## When a task fails

The report's last lines, and the `report` task's error, name each failed task, its error and what to do
(HubSpot unreachable, a missing scope, a configuration error, too many rejected rows); the failed task's log
has the whole error. Fix the cause, then select the failed task, **Clear** it with
*Downstream* checked. Records an earlier try wrote are not written again (the task resumes where it stopped),
and the report is written anew. `report` fails while any task failed, so the run stays failed until then.
A wrong Param (a window with one end) is the exception: a cleared task keeps the run's Params, so trigger a
new run with them corrected.
"""
