"""The ``prepare_<stream>`` task: plan one stream against the sync state (or HubSpot's records), write its
write tasks' inputs, give existing records the links they lack, and plan what its mirror task removes."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pandas as pd

from hubspot_commerce.batch.records import Link
from hubspot_commerce.contract import IdsValue
from hubspot_commerce.errors import SourceRowsRejected
from hubspot_commerce.storage import iter_table, read_json, read_jsonl, write_json, write_jsonl
from hubspot_commerce.sync.diff import (
    StreamPlan,
    association_references,
    desired_links,
    lookup_value,
    missing_links,
    plan_from_state,
    plan_stream,
    resolve_references,
    row_hashes,
)
from hubspot_commerce.sync.id_index import IdIndex
from hubspot_commerce.sync.mapping import KEY
from hubspot_commerce.sync.mirror import MirrorPlan, stale_keys, stale_links
from hubspot_commerce.sync.plan_files import PlanFiles
from hubspot_commerce.sync.tasks import task_context
from hubspot_commerce.sync.tasks.task_context import StreamContext
from hubspot_commerce.sync.validate import RejectedRow, definitions_by_name

log = logging.getLogger(__name__)
CurrentLinks = dict[str, dict[str, dict[str, set[int]]]]  # per reference: HubSpot's links of each record


def referenced_ids(upstream: Mapping[str, Iterable[Mapping[str, Any] | None]]) -> dict[str, IdIndex]:
    """Per referenced stream, one compact ``{source key: HubSpot id}`` index from the XCom values of its
    prepare task (records that existed) and its write tasks (records that landed); skipped tasks give None."""
    return {
        stream: IdIndex.from_pairs(
            pair for value in values if value for pair in IdsValue.from_xcom(value).pairs()
        )
        for stream, values in upstream.items()
    }


def prepare_step(ctx: StreamContext, ids: Mapping[str, IdIndex]) -> dict[str, dict[str, str] | str]:
    """Plan one stream: resolve references to HubSpot ids, compare the rows with the sync state (or, on a
    reconcile run, with the records read from HubSpot; a key the state does not know is created, and the
    write task reads back only those HubSpot says it has), write the inputs of its write tasks (empty on a
    dry run or when the stream is not selected), and add the associations existing records lack. A stream
    that would be written with more rows rejected than it allows fails here, before any of it is written.

    Returns the ids of the stream's records that already exist in HubSpot, as an ``IdsValue`` (the write
    tasks' XCom shape, so one reader reads both).
    """
    stream = ctx.stream
    if ctx.writes:
        check_references(ctx, ids)
    keys: list[pd.Series] = []
    stale: dict[str, list[Link]] = {}
    with PlanFiles(ctx.files, stream, writes=ctx.writes) as out:
        for chunk in _chunks(ctx):
            frame, hashes, plan, current = _plan_chunk(ctx, out.definitions, chunk, ids)
            out.add(plan, frame[KEY], hashes)
            if stream.mirror:
                keys.append(chunk[KEY])
                for ref, links in stale_links(stream, frame, plan.existing_ids, current).items():
                    stale.setdefault(ref, []).extend(links)
    if stream.mirror and ctx.options.selected(stream.name):
        source = pd.concat(keys) if keys else pd.Series(dtype="string")
        mirror = _plan_mirror(ctx, source)
        mirror.unlink = {ref: _to_synced_records(ctx, ref, links, ids) for ref, links in stale.items()}
        write_json(ctx.files.mirror_plan(stream.name), mirror.to_json())
    log.info("%s: %s (%s)", stream.name, out.describe(), ctx.options.describe(stream.name))
    for row in out.rejected_sample:
        log.warning("%s %s rejected: %s", stream.name, row["key"], row["reason"])
    return out.ids_value().to_xcom()


def _chunks(ctx: StreamContext) -> Iterator[pd.DataFrame]:
    """The stream's accepted rows, ``CHUNK_ROWS`` at a time."""
    return iter_table(ctx.files.accepted(ctx.name), task_context.CHUNK_ROWS)


def check_references(ctx: StreamContext, ids: Mapping[str, IdIndex]) -> None:
    """Before anything of the stream is written: fail when more of its rows than it allows are rejected,
    counting those whose referenced record has no HubSpot id (read chunk by chunk)."""
    rows, unresolved = 0, []
    for chunk in _chunks(ctx):
        rows += len(chunk)
        unresolved += resolve_references(ctx.stream, chunk, ids, strict=True)[1]
    check_rejected_share(ctx, rows, unresolved)


def check_rejected_share(ctx: StreamContext, accepted: int, unresolved: list[RejectedRow]) -> None:
    """Fail before writing a stream when more of its rows were rejected before sending (by validation,
    or for a referenced record HubSpot does not have) than it allows: a run must not succeed quietly
    with most of a stream missing. The rows rejected here are written to the stream's file first."""
    files, name = ctx.files, ctx.name
    allowed = ctx.options.rejected_fraction(ctx.stream)
    validation = len(read_jsonl(files.rejected(name, "validate")))
    total, rejected = accepted + validation, validation + len(unresolved)
    if total and rejected / total > allowed:
        write_jsonl(files.rejected(name, "plan"), (row.to_json() for row in unresolved))
        raise SourceRowsRejected(
            f"{name}: {rejected} of {total} rows were rejected before sending (allowed fraction "
            f"{allowed}), so none of {name} is written. Reasons per row: "
            f"{files.rejected(name, 'validate')} and {files.rejected(name, 'plan')}"
        )


def _plan_chunk(
    ctx: StreamContext, definitions: list[dict[str, Any]], chunk: pd.DataFrame, ids: Mapping[str, IdIndex]
) -> tuple[pd.DataFrame, pd.Series, StreamPlan, CurrentLinks]:
    """Plan one chunk of the stream against the sync state (or, reconciling, HubSpot's records), and add
    the associations its existing records lack. Returns the resolved rows, their hashes, the plan and the
    links HubSpot has."""
    stream = ctx.stream
    frame, rejected = resolve_references(stream, chunk, ids, strict=ctx.writes)
    hashes = row_hashes(stream, frame, definitions)
    if ctx.state is not None and ctx.from_state:
        known = ctx.state.load(stream.name, list(frame[KEY]))
        plan = plan_from_state(stream, frame, known, hashes, ctx.key_property)
    else:
        existing = _read_existing(ctx, frame, definitions)
        plan = plan_stream(stream, frame, existing, definitions, ctx.key_property)
    plan.rejected = rejected
    every_link = ctx.from_state or ctx.options.reconcile  # a recreated record's id changed: check every link
    current = _link_existing(ctx, frame, plan, every_link)
    return frame, hashes, plan, current


def _read_existing(ctx: StreamContext, frame: pd.DataFrame, definitions: Any) -> dict[str, dict]:
    """The stream's records HubSpot already has, by lookup value (none before the key property exists)."""
    stream = ctx.stream
    id_property = stream.upsert_by or ctx.key_property
    if frame.empty:
        log.info("%s: no rows to sync", stream.name)
        return {}
    if id_property not in definitions_by_name(definitions):
        log.info("%s has no property %s yet: every record is new", stream.object_type, id_property)
        return {}
    return ctx.hubspot.batch_read(
        stream.object_type,
        list(lookup_value(stream, frame).dropna().unique()),
        id_property=id_property,
        properties=stream.property_names,
    )


def _link_existing(
    ctx: StreamContext, frame: pd.DataFrame, plan: StreamPlan, every_link: bool
) -> CurrentLinks:
    """Give existing records the associations the source now has and HubSpot lacks (the associations
    API). Sets ``plan.relinked``; a link HubSpot refuses rejects its row. Returns the links HubSpot has, per
    reference (every existing record's, for a mirror stream, which removes those the source lacks).

    Planned from the state, only changed rows can have new links (links are in the row's hash): theirs are
    created without reading first (creating a link HubSpot has is harmless); a mirror stream reads them."""
    stream, from_state = ctx.stream, ctx.from_state
    relinked: set[str] = set()
    current_by_ref: CurrentLinks = {}
    desired = desired_links(stream, frame, plan.existing_ids, every_link)
    changed = plan.links_changed
    for ref in association_references(stream, every_link):
        links = [link for link in desired[ref.name] if not from_state or link.key in changed]
        scope = {k: i for k, i in plan.existing_ids.items() if not from_state or k in changed}
        from_ids = set(scope.values()) if stream.mirror else {link.from_id for link in links}
        if not from_ids:
            continue
        from_type, to_type = stream.object_type, ctx.mapping.streams[ref.stream].object_type
        current = {}
        if stream.mirror or not from_state:
            current = ctx.hubspot.read_association_types(from_type, to_type, sorted(from_ids))
        current_by_ref[ref.name] = current
        missing = missing_links(links, {from_id: set(to) for from_id, to in current.items()})
        if missing and ctx.writes:
            refused = ctx.hubspot.create_associations(from_type, to_type, missing)
            plan.rejected.extend(
                RejectedRow(
                    stream.name,
                    from_type,
                    link.key,
                    f"HubSpot refused the {ref.name} link to {link.to_id}: {reason}",
                )
                for link, reason in refused
            )
        relinked |= {link.key for link in missing}
    plan.relinked = len(relinked - {record["key"] for record in plan.update})
    if relinked:
        log.info("%s: %d existing records get a missing association", stream.name, len(relinked))
    return current_by_ref


def _plan_mirror(ctx: StreamContext, source_keys: pd.Series) -> MirrorPlan:
    """The records a mirror stream archives: those of rows the source marks deleted (their ids from the sync
    state, else read by key), and on a full refresh every record HubSpot holds for the stream whose key the
    source no longer has (rows rejected by validation are still in the source: they are kept)."""
    stream, files, key_name = ctx.stream, ctx.files, ctx.key_property
    if key_name not in definitions_by_name(read_json(files.definitions(stream.object_type))):
        return MirrorPlan()  # no record was ever created with a source key: none is ours to archive
    deleted = read_json(files.deleted(stream.name))
    mirror = MirrorPlan(known=len(source_keys) + len(deleted))
    if ctx.options.full_refresh:
        held = ctx.hubspot.list_keys(stream.object_type, key_name)
        rejected = read_jsonl(files.rejected(stream.name, "validate"))
        source = set(source_keys) | {row["key"] for row in rejected}
        mirror.archive = stale_keys(stream, held, source)
        mirror.known = len(stale_keys(stream, held, ()))
    elif deleted and ctx.state is not None and ctx.from_state:
        known = ctx.state.load(stream.name, deleted)
        mirror.archive = {key: k.hubspot_id for key, k in known.items() if k.hubspot_id}
    elif deleted:
        found = ctx.hubspot.batch_read(stream.object_type, deleted, id_property=key_name)
        mirror.archive = {key: str(record["id"]) for key, record in found.items()}
    log.info("%s: mirror archives %d records", stream.name, len(mirror.archive))
    return mirror


def _to_synced_records(
    ctx: StreamContext, ref_name: str, links: list[Link], ids: Mapping[str, IdIndex]
) -> list[Link]:
    """The links whose target the sync writes: a record of the referenced stream this run knows, or one
    carrying the source-key property. Other links are left alone: to records the sync did not write, and
    to upserted records (contacts) outside the run's rows, which only a full refresh knows all of."""
    stream, mapping = ctx.stream, ctx.mapping
    target = mapping.streams[next(ref.stream for ref in stream.references if ref.name == ref_name)]
    known = ids[target.name].id_set() if target.name in ids else set()
    unknown = sorted({link.to_id for link in links} - known)
    key_name = ctx.key_property
    found = {}
    if unknown and not target.upsert_by:
        found = ctx.hubspot.batch_read(target.object_type, unknown, properties=[key_name])
    synced = known | {i for i, record in found.items() if (record.get("properties") or {}).get(key_name)}
    if left := {link.to_id for link in links} - synced:
        log.info("%s: %d %s links to records this run does not know stay", stream.name, len(left), ref_name)
    return [link for link in links if link.to_id in synced]
