"""The ``plan_quota`` task: the run's plan against HubSpot's daily quota, made once, before its first write.

The requests each written stream will make are estimated from the sync state, the way prepare plans them
(a create per 100 new keys, an update per 100 changed rows, an association batch per 1,000 moved links, and on
a reconcile run a read per 100 rows), and compared in one account details request with what the portal's day
has left above the reserve. A run that fits writes without asking again. A short run with ``fail`` stops
here, before anything is written; with ``defer`` or ``partial`` each write task checks the quota when it
starts, since what fits then depends on what is left at that moment.

The estimate leaves out what only HubSpot's answers decide (reads of creates it answers "already exists",
retries) and mirroring's lists and archives: a ``429 DAILY`` on the way still waits for the reset.

Once the plan lets the run go ahead, the task creates the source-key property where the run creates records
and the portal lacks it (``sync/key_property.py``; its requests are in the estimate): the run's first change
to the portal, after extraction and validation have passed.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from hubspot_commerce.batch.quota import LINKS_PER_REQUEST, requests_for, stream_requests
from hubspot_commerce.contract import RunStorage
from hubspot_commerce.errors import HubSpotQuotaShort
from hubspot_commerce.storage import iter_table, read_json, write_json
from hubspot_commerce.sync.diff import plan_from_state, resolve_references, row_hashes
from hubspot_commerce.sync.id_index import IdIndex
from hubspot_commerce.sync.key_property import create_key_property, key_property_requests
from hubspot_commerce.sync.mapping import KEY, REF_PREFIX, StreamMapping, SyncMapping
from hubspot_commerce.sync.state import SyncState
from hubspot_commerce.sync.tasks.task_context import HubSpotApi, RunContext

log = logging.getLogger(__name__)
ESTIMATE_CHUNK = 50_000  # rows estimated at a time (a partial batch per chunk: at most one request more)


def known_ids(state: SyncState, stream: str, keys: pd.Series) -> IdIndex:
    """The HubSpot ids the sync state holds for the given keys of ``stream``."""
    known = state.load(stream, list(keys.dropna().unique()))
    return IdIndex.from_pairs((key, row.hubspot_id) for key, row in known.items() if row.hubspot_id)


def stream_estimate(
    stream: StreamMapping,
    accepted: pd.DataFrame,
    definitions: list[dict],
    state: SyncState,
    key_property: str,
    reconcile: bool,
) -> int:
    """Requests one stream's writes will make, planned from the sync state as prepare will plan them; a row
    whose referenced record the state does not know yet counts as changed (the stricter estimate). A stream
    the state knows none of the rows of (a first load) is all creates, with no hashing."""
    reads = requests_for(len(accepted)) if reconcile else 0
    known = state.load(stream.name, list(accepted[KEY]))
    if not known:
        return requests_for(len(accepted)) + reads
    ids = {
        ref.stream: known_ids(state, ref.stream, accepted[REF_PREFIX + ref.name]) for ref in stream.references
    }
    frame, _ = resolve_references(stream, accepted, ids, strict=False)
    plan = plan_from_state(stream, frame, known, row_hashes(stream, frame, definitions), key_property)
    writes = stream_requests(plan.counts(), upsert=bool(stream.upsert_by))
    return writes + requests_for(len(plan.links_changed), LINKS_PER_REQUEST) + reads


def _stream_total(
    mapping: SyncMapping, name: str, files: RunStorage, state: SyncState, reconcile: bool
) -> int:
    """One stream's estimate, summed over its accepted rows a chunk at a time (definitions read once)."""
    stream = mapping.streams[name]
    definitions = read_json(files.definitions(stream.object_type))
    key_property = mapping.key_property.name
    return sum(
        stream_estimate(stream, chunk, definitions, state, key_property, reconcile)
        for chunk in iter_table(files.accepted(name), ESTIMATE_CHUNK)
    )


def plan_quota_step(run: RunContext, hubspot: HubSpotApi) -> dict[str, Any] | None:
    """Plan the run's requests against the day's quota (``plan_run_quota``); when the run goes ahead, create
    the key property where it creates records and the portal lacks it (not on a dry run). Returns the plan
    for the write tasks."""
    plan = plan_run_quota(run, hubspot)
    create_key_property(run, hubspot)
    return plan


def plan_run_quota(run: RunContext, hubspot: HubSpotApi) -> dict[str, Any] | None:
    """Estimate the requests of every stream the run writes (or, on a dry run, would write), and of creating
    the key property where it is missing, and plan them against the day's quota (one request; none when
    there is nothing to send). Writes the plan to the run's storage for the report and returns it for the
    write tasks. Raises HubSpotQuotaShort when the run is short and ``on_quota_short`` is ``fail`` (never on
    a dry run, which only reports)."""
    mapping, files, options = run.mapping, run.files, run.options
    if run.state is None:
        raise ValueError("the run's quota is planned from the sync state")
    rule = options.quota_rule()
    written = [name for name in mapping.streams if options.selected(name)]
    reconcile, state = options.reconcile, run.state
    needed = {name: _stream_total(mapping, name, files, state, reconcile) for name in written}
    keys = key_property_requests(run)
    total = sum(needed.values()) + keys
    if not total:
        write_json(files.quota_plan, {"needed": 0, "streams": needed})
        log.info("The run writes nothing: no quota to plan")
        return None
    plan = hubspot.plan_quota(total, rule)
    write_json(files.quota_plan, {**plan.to_json(), "streams": needed})
    log.info("The run's requests, estimated (%s): %s", _parts(needed, keys), plan.describe())
    if plan.short and rule.on_short == "fail" and not options.dry_run:
        raise HubSpotQuotaShort(
            f"The run needs about {total} requests ({_parts(needed, keys)}) "
            f"and HubSpot's daily quota is short: {plan.describe()}. Nothing was written; run it after the "
            "reset, lower quota_reserve, or choose on_quota_short defer or partial",
            plan=plan,
        )
    return plan.to_json()


def _parts(needed: dict[str, int], keys: int) -> str:
    """The estimate's parts in words: each stream's requests, then the key property's."""
    parts = [f"{name} {count}" for name, count in needed.items() if count]
    return ", ".join([*parts, *([f"key property {keys}"] if keys else [])])
