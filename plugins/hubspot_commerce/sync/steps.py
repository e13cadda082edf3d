"""The sync's steps as the DAG's tasks run them: each reads its inputs from the run's storage, calls HubSpot
through the hook where it must, writes its outputs there and returns a small map for XCom.

Kept free of Airflow's task context so each step can be called directly in a test.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Protocol

import pandas as pd

from hubspot_commerce.batch.records import Link
from hubspot_commerce.errors import HubSpotMissingScopes, MassArchiveRefused, SourceRowsRejected
from hubspot_commerce.objects import missing_scopes
from hubspot_commerce.operators.batch import iter_ids
from hubspot_commerce.storage import (
    JsonLinesWriter,
    TableWriter,
    iter_jsonl,
    iter_table,
    read_json,
    read_jsonl,
    storage_path,
    write_json,
    write_jsonl,
)
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
from hubspot_commerce.sync.extract import SqlSource, Window, stream_chunks
from hubspot_commerce.sync.id_index import IdIndex
from hubspot_commerce.sync.mapping import KEY, StreamMapping, SyncMapping, map_stream
from hubspot_commerce.sync.mirror import (
    MirrorPlan,
    archive_refusal,
    deleted_rows,
    keys_of,
    refers_to_deleted,
    stale_keys,
    stale_links,
)
from hubspot_commerce.sync.options import pipelined_object_types, with_pipelines
from hubspot_commerce.sync.plan_files import PlanFiles
from hubspot_commerce.sync.report import (
    failed_tasks,
    format_report,
    mirror_lines,
    quota_lines,
    stream_counts,
    stream_status,
)
from hubspot_commerce.sync.run_storage import RunStorage
from hubspot_commerce.sync.state import StateRow, SyncState, outcome_rows, rejected_rows
from hubspot_commerce.sync.validate import RejectedRow, StreamValidation, Validation, definitions_by_name

log = logging.getLogger(__name__)
# Rows extract, validate, prepare and the report hold at once: their memory is this many rows' worth,
# whatever a stream's size.
CHUNK_ROWS = 10_000


class HubSpotApi(Protocol):
    """The part of ``HubSpotHook`` the steps use."""

    def get_properties(self, object_type: str) -> list[dict]: ...

    def get_properties_by_type(self, object_types: Iterable[str]) -> dict[str, list[dict]]: ...

    def token_scopes(self) -> set[str] | None: ...

    def get_pipelines(self, object_type: str) -> list[dict]: ...

    def ensure_properties_by_type(
        self, existing: Mapping[str, Any], definitions: Any
    ) -> dict[str, list[str]]: ...

    def batch_read(
        self, object_type: str, keys: Iterable[str], id_property: str | None = None, properties: Any = ()
    ) -> dict[str, dict]: ...

    def create_associations(
        self, from_type: str, to_type: str, links: list[Link]
    ) -> list[tuple[Link, str]]: ...

    def read_association_types(
        self, from_type: str, to_type: str, from_ids: list[str]
    ) -> dict[str, dict[str, set[int]]]: ...

    def remove_associations(self, from_type: str, to_type: str, links: list[Link]) -> None: ...

    def list_keys(self, object_type: str, key_property: str) -> dict[str, str]: ...

    def archive_records(self, object_type: str, record_ids: list[str]) -> None: ...


def setup_step(
    hubspot: HubSpotApi, mapping: SyncMapping, files: RunStorage, written_streams: Collection[str]
) -> dict[str, str]:
    """Check the token's scopes against what the run will read and write, before any write; fetch the
    property definitions of every object type the sync touches (concurrently) and keep them for validation
    and planning; make sure each object type the run creates records of has the unique source-key
    property. ``written_streams`` is empty on a dry run, which only looks."""
    object_types = mapping.object_types
    written = {mapping.streams[name].object_type for name in written_streams}
    keyed = [t for t in mapping.keyed_object_types if t in written]
    granted = check_scopes(hubspot, object_types, written, keyed)
    definitions = hubspot.get_properties_by_type(object_types)
    for object_type, pipeline in pipelined_object_types(mapping).items():
        pipelines = hubspot.get_pipelines(object_type)
        definitions[object_type] = with_pipelines(definitions[object_type], pipelines, pipeline)
    name = mapping.key_property.name
    new_properties = [t for t in keyed if name not in definitions_by_name(definitions[t])]
    if granted is not None and (missing := missing_scopes(granted, (), (), new_properties)):
        raise _missing_scopes_error(missing, [])
    status: dict[str, str] = {}
    if new_properties:
        key_definition = [mapping.key_property.definition()]
        hubspot.ensure_properties_by_type({t: definitions[t] for t in new_properties}, key_definition)
        definitions.update(hubspot.get_properties_by_type(new_properties))
    for object_type in mapping.keyed_object_types:
        if object_type in new_properties:
            status[object_type] = "created"
        else:
            exists = name in definitions_by_name(definitions[object_type])
            status[object_type] = "present" if exists else "missing (not created: nothing of it is written)"
        log.info("%s.%s: %s", object_type, name, status[object_type])
    for object_type, object_definitions in definitions.items():
        write_json(files.definitions(object_type), object_definitions)
    return status


def check_scopes(
    hubspot: HubSpotApi, read: Collection[str], written: Collection[str], keyed: Collection[str]
) -> set[str] | None:
    """Fail before any write when the token lacks a record scope the run needs, naming every missing one
    (and the schema scopes it would need to create the key property). Returns the granted scopes; None for
    a token HubSpot cannot introspect, which is not checked (its writes would still name a missing scope)."""
    granted = hubspot.token_scopes()
    if granted is None:
        log.warning("HubSpot did not say which scopes the token has; they are not checked before writing")
        return None
    missing = missing_scopes(granted, read, written, ())
    if missing:
        raise _missing_scopes_error(missing, missing_scopes(granted, (), (), keyed))
    log.info("the token has every record scope this run needs (%d scopes granted)", len(granted))
    return granted


def _missing_scopes_error(missing: list[str], for_new_properties: list[str]) -> HubSpotMissingScopes:
    """One error naming every missing scope, and what creating the key property would need too."""
    message = f"the token lacks {len(missing)} scope(s) this run needs: {', '.join(missing)}."
    if for_new_properties:
        needs = ", ".join(for_new_properties)
        message += f" To create the key property where it does not exist yet, it also needs {needs}."
    message += " Add them to the private app, service key or OAuth app in HubSpot and run again;"
    return HubSpotMissingScopes(message + " nothing was written.", scopes=[*missing, *for_new_properties])


def extract_step(
    source: SqlSource, mapping: SyncMapping, window: Window, files: RunStorage, chunk_rows: int = CHUNK_ROWS
) -> dict[str, str]:
    """Read the window's rows into the run's storage, ``chunk_rows`` at a time; return the row count per
    stream."""
    log.info("Extracting %s", window.describe())
    counts = {"window": window.describe()}
    for name in mapping.streams:
        with TableWriter(files.source(name)) as table:
            for chunk in stream_chunks(source, mapping, name, window, chunk_rows):
                table.write(chunk)
        counts[name] = str(table.rows)
        log.info("%s: %d rows", name, table.rows)
    return counts


def validate_step(mapping: SyncMapping, files: RunStorage, chunk_rows: int = CHUNK_ROWS) -> dict[str, str]:
    """Map and validate every stream, ``chunk_rows`` rows at a time, against the portal's property
    definitions (kept by setup) and the rows of earlier chunks and streams; keep the good rows, write the
    rejected ones (key and reason) per stream, and the keys of rows the source marks deleted (mirror
    streams). Returns extracted (not deleted), rejected and deleted counts."""
    object_types = sorted(mapping.object_types)
    definitions = {object_type: read_json(files.definitions(object_type)) for object_type in object_types}
    validation = Validation(mapping, definitions)
    counts: dict[str, str] = {}
    deleted_keys: dict[str, list[str]] = {}
    for name in mapping.streams:
        counts |= _validate_stream(validation.stream(name), files, deleted_keys, chunk_rows)
    return counts


def _validate_stream(
    validation: StreamValidation, files: RunStorage, deleted_keys: dict[str, list[str]], chunk_rows: int
) -> dict[str, str]:
    """One stream, chunk by chunk: rows the source marks deleted (and the rows that need them) aside, the
    others mapped and validated; accepted rows to the stream's table, rejected ones to its file. Adds the
    stream's deleted keys to ``deleted_keys``; returns its counts."""
    stream = validation.stream
    name, extracted, deleted = stream.name, 0, []
    with (
        TableWriter(files.accepted(name)) as accepted,
        JsonLinesWriter(files.rejected(name, "validate")) as out,
    ):
        for frame in iter_table(files.source(name), chunk_rows):
            gone = deleted_rows(stream, frame) | refers_to_deleted(stream, frame, deleted_keys)
            deleted += keys_of(stream, frame[gone])
            mapped = map_stream(frame[~gone].reset_index(drop=True), stream)
            result = validation.validate(mapped)
            accepted.write(result.accepted)
            for row in result.rejected[: max(0, 5 - out.rows)]:
                log.warning("%s %s rejected: %s", name, row.key, row.reason)
            out.write(row.to_json() for row in result.rejected)
            extracted += len(mapped)
    deleted_keys[name] = deleted
    if stream.mirror:  # rows the source marks deleted are archived by mirroring, not validated
        write_json(files.deleted(name), deleted)
    log.info("%s: %d rows valid, %d rejected", name, accepted.rows, out.rows)
    return {
        f"{name}.deleted": str(len(deleted)),
        f"{name}.extracted": str(extracted),
        f"{name}.rejected": str(out.rows),
    }


def referenced_ids(upstream: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, IdIndex]:
    """Per referenced stream, one compact ``{source key: HubSpot id}`` index from the XCom values of its
    prepare step (records that existed) and its write tasks (records that landed); skipped tasks give None."""
    return {
        stream: IdIndex.from_pairs(pair for value in values if value for pair in iter_ids(value))
        for stream, values in upstream.items()
    }


@dataclass(frozen=True)
class StreamChoices:
    """What a run's Params decide for one stream: whether it is written, and how many of its rows may be
    rejected before sending (validation and references) before the stream is not written at all."""

    selected: bool
    dry_run: bool
    max_rejected_fraction: float
    full_refresh: bool = False  # a mirror stream then archives what HubSpot holds and the source lacks
    reconcile: bool = False  # compare with HubSpot's records instead of the sync state

    @property
    def writes(self) -> bool:
        return self.selected and not self.dry_run

    def describe(self) -> str:
        if self.dry_run:
            return "dry run: nothing is written"
        return "writing" if self.selected else "not selected: nothing is written"


def prepare_step(
    hubspot: HubSpotApi,
    mapping: SyncMapping,
    stream_name: str,
    files: RunStorage,
    ids: Mapping[str, IdIndex],
    choices: StreamChoices,
    state: SyncState | None = None,
) -> dict[str, dict[str, str]]:
    """Plan one stream: resolve references to HubSpot ids, compare the rows with the sync state (or, on a
    reconcile run, with the records read from HubSpot; a key the state does not know is created, and the
    write task reads back only those HubSpot says it has), write the create and update inputs for the
    operators (empty on a dry run or when the stream is not selected), and add the
    associations existing records lack. A stream that would be written with more rows rejected than
    ``choices.max_rejected_fraction`` fails here, before any of it is written.

    Returns ``{"ids": {source key: HubSpot id} | URL}`` of the stream's records that already exist in
    HubSpot (the write tasks' XCom shape, so ``iter_ids`` reads both).
    """
    stream = mapping.streams[stream_name]
    if choices.writes:
        check_references(files, stream, ids, choices.max_rejected_fraction)
    from_state = state is not None and not choices.reconcile
    keys: list[pd.Series] = []
    stale: dict[str, list[Link]] = {}
    upsert = bool(stream.upsert_by)
    with PlanFiles(files, stream_name, stream.object_type, writes=choices.writes, upsert=upsert) as out:
        for chunk in _chunks(files, stream_name):
            frame, hashes, plan, current = _plan_chunk(
                hubspot, mapping, stream_name, out.definitions, chunk, ids, choices, state
            )
            out.add(plan, frame[KEY], hashes)
            if stream.mirror:
                keys.append(chunk[KEY])
                for ref, links in stale_links(stream, frame, plan.existing_ids, current).items():
                    stale.setdefault(ref, []).extend(links)
    if stream.mirror and choices.selected:
        trusted = state if from_state else None
        source = pd.concat(keys) if keys else pd.Series(dtype="string")
        mirror = _plan_mirror(hubspot, mapping, stream_name, files, source, choices.full_refresh, trusted)
        mirror.unlink = {
            ref: _to_synced_records(hubspot, mapping, stream_name, ref, links, ids)
            for ref, links in stale.items()
        }
        write_json(files.mirror_plan(stream_name), mirror.to_json())
    log.info("%s: %s (%s)", stream_name, out.describe(), choices.describe())
    for row in out.rejected_sample:
        log.warning("%s %s rejected: %s", stream_name, row["key"], row["reason"])
    return {"ids": out.ids_value()}


def _chunks(files: RunStorage, stream_name: str) -> Iterator[pd.DataFrame]:
    """The stream's accepted rows, ``CHUNK_ROWS`` at a time."""
    return iter_table(files.accepted(stream_name), CHUNK_ROWS)


def check_references(
    files: RunStorage, stream: StreamMapping, ids: Mapping[str, IdIndex], allowed: float
) -> None:
    """Before anything of the stream is written: fail when more of its rows than ``allowed`` are rejected,
    counting those whose referenced record has no HubSpot id (read chunk by chunk)."""
    rows, unresolved = 0, []
    for chunk in _chunks(files, stream.name):
        rows += len(chunk)
        unresolved += resolve_references(stream, chunk, ids, strict=True)[1]
    check_rejected_share(files, stream.name, rows, unresolved, allowed)


def _plan_chunk(
    hubspot: HubSpotApi,
    mapping: SyncMapping,
    stream_name: str,
    definitions: list[dict[str, Any]],
    chunk: pd.DataFrame,
    ids: Mapping[str, IdIndex],
    choices: StreamChoices,
    state: SyncState | None,
) -> tuple[pd.DataFrame, pd.Series, StreamPlan, dict[str, dict[str, dict[str, set[int]]]]]:
    """Plan one chunk of the stream against the sync state (or, reconciling, HubSpot's records), and add
    the associations its existing records lack. Returns the resolved rows, their hashes, the plan and the
    links HubSpot has."""
    stream = mapping.streams[stream_name]
    frame, rejected = resolve_references(stream, chunk, ids, strict=choices.writes)
    hashes = row_hashes(stream, frame, definitions)
    key_property = mapping.key_property.name
    from_state = state is not None and not choices.reconcile
    if state is not None and from_state:
        known = state.load(stream_name, list(frame[KEY]))
        plan = plan_from_state(stream, frame, known, hashes, key_property)
    else:
        existing = _read_existing(hubspot, mapping, stream_name, frame, definitions)
        plan = plan_stream(stream, frame, existing, definitions, key_property)
    plan.rejected = rejected
    every_link = from_state or choices.reconcile  # a recreated record's id changed: check every link
    current = _link_existing(
        hubspot, mapping, stream_name, frame, plan, choices.writes, from_state, every_link
    )  # fmt: skip
    return frame, hashes, plan, current


def check_rejected_share(
    files: RunStorage, stream_name: str, accepted: int, unresolved: list[RejectedRow], allowed: float
) -> None:
    """Fail before writing a stream when more of its rows were rejected before sending (by validation,
    or for a referenced record HubSpot does not have) than ``allowed``: a run must not succeed quietly
    with most of a stream missing. The rows rejected here are written to the stream's file first."""
    validation = len(read_jsonl(files.rejected(stream_name, "validate")))
    total, rejected = accepted + validation, validation + len(unresolved)
    if total and rejected / total > allowed:
        write_jsonl(files.rejected(stream_name, "plan"), (row.to_json() for row in unresolved))
        raise SourceRowsRejected(
            f"{stream_name}: {rejected} of {total} rows were rejected before sending (allowed fraction "
            f"{allowed}), so none of {stream_name} is written. Reasons per row: "
            f"{files.rejected(stream_name, 'validate')} and {files.rejected(stream_name, 'plan')}"
        )


def _read_existing(
    hubspot: HubSpotApi, mapping: SyncMapping, stream_name: str, frame: pd.DataFrame, definitions: Any
) -> dict[str, dict]:
    """The stream's records HubSpot already has, by lookup value (none before the key property exists)."""
    stream = mapping.streams[stream_name]
    id_property = stream.upsert_by or mapping.key_property.name
    if frame.empty:
        log.info("%s: no rows to sync", stream_name)
        return {}
    if id_property not in definitions_by_name(definitions):
        log.info("%s has no property %s yet: every record is new", stream.object_type, id_property)
        return {}
    return hubspot.batch_read(
        stream.object_type,
        list(lookup_value(stream, frame).dropna().unique()),
        id_property=id_property,
        properties=stream.property_names,
    )


def _link_existing(
    hubspot: HubSpotApi,
    mapping: SyncMapping,
    stream_name: str,
    frame: pd.DataFrame,
    plan: StreamPlan,
    write: bool,
    from_state: bool = False,
    every_link: bool = False,
) -> dict[str, dict[str, dict[str, set[int]]]]:
    """Give existing records the associations the source now has and HubSpot lacks (the associations
    API). Sets ``plan.relinked``; a link HubSpot refuses rejects its row. Returns the links HubSpot has, per
    reference (every existing record's, for a mirror stream, which removes those the source lacks).

    Planned from the state, only changed rows can have new links (links are in the row's hash): theirs are
    created without reading first (creating a link HubSpot has is harmless); a mirror stream reads them."""
    stream = mapping.streams[stream_name]
    relinked: set[str] = set()
    current_by_ref: dict[str, dict[str, dict[str, set[int]]]] = {}
    desired = desired_links(stream, frame, plan.existing_ids, every_link)
    changed = plan.links_changed
    for ref in association_references(stream, every_link):
        links = [link for link in desired[ref.name] if not from_state or link.key in changed]
        scope = {k: i for k, i in plan.existing_ids.items() if not from_state or k in changed}
        from_ids = set(scope.values()) if stream.mirror else {link.from_id for link in links}
        if not from_ids:
            continue
        from_type, to_type = stream.object_type, mapping.streams[ref.stream].object_type
        current = {}
        if stream.mirror or not from_state:
            current = hubspot.read_association_types(from_type, to_type, sorted(from_ids))
        current_by_ref[ref.name] = current
        missing = missing_links(links, {from_id: set(to) for from_id, to in current.items()})
        if missing and write:
            refused = hubspot.create_associations(from_type, to_type, missing)
            plan.rejected.extend(
                RejectedRow(
                    stream_name,
                    from_type,
                    link.key,
                    f"HubSpot refused the {ref.name} link to {link.to_id}: {reason}",
                )
                for link, reason in refused
            )
        relinked |= {link.key for link in missing}
    plan.relinked = len(relinked - {record["key"] for record in plan.update})
    if relinked:
        log.info("%s: %d existing records get a missing association", stream_name, len(relinked))
    return current_by_ref


def _plan_mirror(
    hubspot: HubSpotApi,
    mapping: SyncMapping,
    stream_name: str,
    files: RunStorage,
    source_keys: pd.Series,
    full_refresh: bool,
    state: SyncState | None,
) -> MirrorPlan:
    """The records a mirror stream archives: those of rows the source marks deleted (their ids from the sync
    state, else read by key), and on a full refresh every record HubSpot holds for the stream whose key the
    source no longer has (rows rejected by validation are still in the source: they are kept)."""
    stream = mapping.streams[stream_name]
    key_name = mapping.key_property.name
    if key_name not in definitions_by_name(read_json(files.definitions(stream.object_type))):
        return MirrorPlan()  # no record was ever created with a source key: none is ours to archive
    deleted = read_json(files.deleted(stream_name))
    mirror = MirrorPlan(known=len(source_keys) + len(deleted))
    if full_refresh:
        held = hubspot.list_keys(stream.object_type, key_name)
        rejected = read_jsonl(files.rejected(stream_name, "validate"))
        source = set(source_keys) | {row["key"] for row in rejected}
        mirror.archive = stale_keys(stream, held, source)
        mirror.known = len(stale_keys(stream, held, ()))
    elif deleted and state is not None:
        known = state.load(stream_name, deleted)
        mirror.archive = {key: k.hubspot_id for key, k in known.items() if k.hubspot_id}
    elif deleted:
        found = hubspot.batch_read(stream.object_type, deleted, id_property=key_name)
        mirror.archive = {key: str(record["id"]) for key, record in found.items()}
    log.info("%s: mirror archives %d records", stream_name, len(mirror.archive))
    return mirror


def _to_synced_records(
    hubspot: HubSpotApi,
    mapping: SyncMapping,
    stream_name: str,
    ref_name: str,
    links: list[Link],
    ids: Mapping[str, IdIndex],
) -> list[Link]:
    """The links whose target the sync writes: a record of the referenced stream this run knows, or one
    carrying the source-key property. Other links are left alone: to records the sync did not write, and
    to upserted records (contacts) outside the run's rows, which only a full refresh knows all of."""
    stream = mapping.streams[stream_name]
    target = mapping.streams[next(ref.stream for ref in stream.references if ref.name == ref_name)]
    known = ids[target.name].id_set() if target.name in ids else set()
    unknown = sorted({link.to_id for link in links} - known)
    key_name = mapping.key_property.name
    found = {}
    if unknown and not target.upsert_by:
        found = hubspot.batch_read(target.object_type, unknown, properties=[key_name])
    synced = known | {i for i, record in found.items() if (record.get("properties") or {}).get(key_name)}
    if left := {link.to_id for link in links} - synced:
        log.info("%s: %d %s links to records this run does not know stay", stream_name, len(left), ref_name)
    return [link for link in links if link.to_id in synced]


def mirror_step(
    hubspot: HubSpotApi,
    mapping: SyncMapping,
    stream_name: str,
    files: RunStorage,
    dry_run: bool,
    max_archive_fraction: float,
    confirmed: bool,
    state: SyncState | None = None,
) -> dict[str, Any]:
    """Archive and unlink what the stream's mirror plan names, unless the guard stops it (more than
    ``max_archive_fraction`` of the stream, not ``confirmed``): then nothing is archived; the sync state
    forgets the archived records' ids (a row that comes back is created anew). A dry run only lists what it
    would do. Returns the counts and the list's URL."""
    stream = mapping.streams[stream_name]
    path = files.mirror_plan(stream_name)
    plan = MirrorPlan.from_json(read_json(path)) if path.exists() else MirrorPlan()
    refusal = archive_refusal(stream_name, plan, max_archive_fraction)
    if refusal and not confirmed:
        if not dry_run:
            raise MassArchiveRefused(refusal)
        log.warning("%s (a real run would stop here)", refusal)
    verb = "would be" if dry_run else "were"
    rows = [{"action": "archive", "key": key, "id": record_id} for key, record_id in plan.archive.items()]
    if not dry_run:
        hubspot.archive_records(stream.object_type, sorted(plan.archive.values()))
        if state is not None:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            state.save(StateRow(stream_name, key, None, None, "archived", None, now) for key in plan.archive)
    for ref in stream.references:
        links = plan.unlink.get(ref.name) or []
        if links and not dry_run:
            hubspot.remove_associations(stream.object_type, mapping.streams[ref.stream].object_type, links)
        rows += [{"action": "unlink", "key": x.key, "id": x.from_id, ref.name: x.to_id} for x in links]
    write_jsonl(files.mirrored(stream_name), rows)
    archived, unlinked = len(plan.archive), len(rows) - len(plan.archive)
    log.info("%s: %d records %s archived, %d links %s removed", stream_name, archived, verb, unlinked, verb)
    return {"archived": archived, "unlinked": unlinked, "path": str(files.mirrored(stream_name))}


def stream_rejections(files: RunStorage, stream: str) -> Iterator[dict[str, Any]]:
    """The stream's rows rejected before sending (by validation, then while planning), one at a time."""
    for stage in ("validate", "plan"):
        if (path := files.rejected(stream, stage)).exists():
            yield from iter_jsonl(path)


def collect_rejected(files: RunStorage, streams: Iterable[str]) -> None:
    """Every row rejected before sending, from each stream's files, into the run's one rejected-rows file
    (a line at a time)."""
    write_jsonl(files.all_rejected, (row for stream in streams for row in stream_rejections(files, stream)))


def output_rows(outputs: Iterable[Mapping[str, Any] | None], path_field: str) -> list[dict[str, Any]]:
    """The rows of the JSON lines files the write tasks' XCom values name in ``path_field``."""
    return [
        row
        for out in outputs
        if out and out.get(path_field)
        for row in read_jsonl(storage_path(out[path_field]))
    ]


def record_state(
    mapping: SyncMapping,
    files: RunStorage,
    results: Mapping[str, Mapping[str, Any] | None],
    states: Mapping[str, str | None],
    state: SyncState,
    plans: Mapping[str, Mapping[str, Any]],
) -> int:
    """Record each written stream's rows in the state table: unchanged and written rows with their hash and
    id, rows rejected before sending with their reason. A stream whose write task did not finish keeps its
    rows' state."""
    synced_at = datetime.now(UTC).isoformat(timespec="seconds")
    recorded = 0
    for name, stream in mapping.streams.items():
        if not plans.get(name, {}).get("written") or not files.planned_state(name).exists():
            continue
        actions = ("upsert",) if stream.upsert_by else ("create", "update")
        finished = all(states.get(f"{a}_{name}") in ("success", "skipped") for a in actions)
        outputs = [results.get(f"{name}.{action}") for action in actions]
        recorded += _record_stream(files, name, outputs, finished, state, synced_at)
    return recorded


def _record_stream(
    files: RunStorage,
    name: str,
    outputs: list[Mapping[str, Any] | None],
    finished: bool,
    state: SyncState,
    synced_at: str,
) -> int:
    """Record one stream's planned and rejected rows, a chunk at a time. The ids its write tasks landed
    (when all of them ``finished``) are read from their XCom values into an ``IdIndex``, 16 bytes a record."""
    written = IdIndex.from_pairs(p for out in outputs if out for p in iter_ids(out)) if finished else None
    refused = {
        str(row["key"]): f"{row.get('category')}: {row.get('message')}"
        for row in output_rows(outputs, "rejected_path")
    }
    existing = {str(row["key"]) for row in output_rows(outputs, "existing_path")}
    recorded = 0
    for planned in iter_table(files.planned_state(name), CHUNK_ROWS):
        recorded += state.save(outcome_rows(name, planned, written, refused, synced_at, existing))
    rejections = stream_rejections(files, name)
    while chunk := list(islice(rejections, CHUNK_ROWS)):
        before = {str(row["key"]): str(row["reason"]) for row in chunk}
        recorded += state.save(rejected_rows(name, before, state.load(name, list(before)), synced_at))
    return recorded


def report_step(
    mapping: SyncMapping,
    files: RunStorage,
    params: Mapping[str, Any],
    results: Mapping[str, Mapping[str, Any] | None],
    states: Mapping[str, str | None],
    state: SyncState | None = None,
) -> tuple[str, list[str]]:
    """Record the run's outcome in the sync state (``state``), then write the run's report, whatever
    happened: per stream extracted, created, updated, unchanged and rejected; where the rejected rows are;
    which streams did not finish and what to clear.

    ``results`` holds the XCom values of ``extract``, ``validate``, the write tasks (``<stream>.<action>``;
    None for a task that did not run) and the mirror tasks (``<stream>.mirror``); ``states`` every task's
    state. The run's copies of rows are removed only when nothing failed, since clearing a failed task needs
    them. Returns the text and the failed tasks.
    """
    dry_run = bool(params["dry_run"])
    plans = {name: read_json(files.plan(name)) for name in mapping.streams if files.plan(name).exists()}
    collect_rejected(files, mapping.streams)
    recorded = 0
    if state is not None and not dry_run:
        recorded = record_state(mapping, files, results, states, state, plans)
    writes = {name: value for name, value in results.items() if "." in name}
    hubspot_rejected = sorted(
        str(result["rejected_path"]) for result in writes.values() if result and result.get("rejected_path")
    )
    failed = failed_tasks(states)
    text = format_report(
        stream_counts(mapping, results.get("validate") or {}, plans, writes, dry_run),
        (results.get("extract") or {}).get("window", "(not extracted)"),
        dry_run,
        list(params["objects"]),
        str(files.all_rejected),
        hubspot_rejected,
        stream_status(mapping, states),
        failed,
    )
    run_plan = read_json(files.quota_plan) if files.quota_plan.exists() else None
    quota = quota_lines(mapping, plans, writes, run_plan)
    text = "\n".join([text, *mirror_lines(results, dry_run), *quota])
    if state is not None:
        text += f"\nsync state: {recorded} rows recorded in {state.table}"
    files.report.write_text(text + "\n")
    if not failed:
        files.remove_row_copies()
    return text, failed
