"""Mirror mode (``mirror: true``): archive what the source deleted, unlink what it no longer links.

Pure planning; the prepare and mirror tasks (``sync/tasks``) read HubSpot and act. Only records this sync
created are archived (they carry the source-key property, and their key has the stream's shape), only links
of the association type the mapping declares are removed, and only to records the sync writes; a guard
stops a run that would archive more than a set share of a stream.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from hubspot_commerce.batch.records import Link
from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.sync.diff import ASSOC_PREFIX, changeable_references
from hubspot_commerce.sync.mapping import KEY, StreamMapping, format_template, key_pattern

NEVER_GUARDED = 10  # a run archiving this many records of a stream or fewer is never stopped


@dataclass
class MirrorPlan:
    """What mirroring one stream would do: records to archive and links to remove (by reference name)."""

    archive: dict[str, str] = field(default_factory=dict)  # source key -> HubSpot id
    unlink: dict[str, list[Link]] = field(default_factory=dict)  # reference -> links to remove
    known: int = 0  # what the guard compares with: records HubSpot holds, or rows the run read

    def to_json(self) -> dict[str, Any]:
        links = {ref: [asdict(link) for link in links] for ref, links in self.unlink.items()}
        return {"archive": self.archive, "unlink": links, "known": self.known}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MirrorPlan:
        links = {ref: [Link(**link) for link in links] for ref, links in data["unlink"].items()}
        return cls(dict(data["archive"]), links, int(data["known"]))


def deleted_rows(stream: StreamMapping, frame: pd.DataFrame) -> pd.Series:
    """Rows the source marks deleted: a value in the stream's ``deleted_column`` (none without one)."""
    if not stream.deleted_column:
        return pd.Series(False, index=frame.index)
    if stream.deleted_column not in frame.columns:
        raise SyncConfigurationError(
            f"stream {stream.name}: deleted_column {stream.deleted_column!r} is not a column of its query"
        )
    return frame[stream.deleted_column].notna()


def refers_to_deleted(
    stream: StreamMapping, frame: pd.DataFrame, deleted: Mapping[str, Collection[str]]
) -> pd.Series:
    """Rows whose required reference names a row the source marks deleted (the lines and payments of a
    deleted order): they go with it instead of being rejected for a missing order."""
    gone = pd.Series(False, index=frame.index)
    for ref in stream.references:
        if not ref.optional and deleted.get(ref.stream) and not frame.empty:
            gone |= format_template(frame, ref.key).isin(list(deleted[ref.stream])).fillna(False)
    return gone


def keys_of(stream: StreamMapping, frame: pd.DataFrame) -> list[str]:
    """The source keys of a stream's rows."""
    return [] if frame.empty else format_template(frame, stream.key).dropna().tolist()


def stale_keys(
    stream: StreamMapping, held: Mapping[str, str], source_keys: Collection[str]
) -> dict[str, str]:
    """Records HubSpot holds for this stream (their key has the stream's shape) whose key the source no
    longer has: on a full refresh, what the source deleted."""
    pattern = key_pattern(stream.key)
    return {key: id_ for key, id_ in held.items() if pattern.fullmatch(key) and key not in source_keys}


def stale_links(
    stream: StreamMapping,
    frame: pd.DataFrame,
    existing_ids: Mapping[str, str],
    current: Mapping[str, Mapping[str, Mapping[str, set[int]]]],
) -> dict[str, list[Link]]:
    """Per association reference, the links of its type that the stream's existing records have in HubSpot
    (``current``: reference -> from id -> to id -> type ids) to another record than the source now names
    (an order moved to another customer keeps no link to the first; a guest order keeps none)."""
    stale: dict[str, list[Link]] = {}
    rows = frame[frame[KEY].isin(list(existing_ids))]
    for ref in changeable_references(stream):
        named = dict(zip(rows[KEY], rows[ASSOC_PREFIX + ref.name], strict=True))
        stale[ref.name] = [
            Link(key, existing_ids[key], to_id, int(ref.association or 0))
            for key, target in named.items()
            for to_id, types in current.get(ref.name, {}).get(existing_ids[key], {}).items()
            if ref.association in types and (pd.isna(target) or to_id != str(target))
        ]
    return stale


def archive_refusal(stream: str, plan: MirrorPlan, allowed: float) -> str | None:
    """Why the guard stops archiving (more than ``allowed`` of the stream's records at once), or None."""
    count = len(plan.archive)
    if count <= NEVER_GUARDED or count <= allowed * plan.known:
        return None
    return (
        f"{stream}: mirror would archive {count} of {plan.known} records (more than {allowed:.0%}); nothing "
        "was archived. If the source really deleted them, run again with the Param confirm_archive"
    )
