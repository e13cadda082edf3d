"""What the sync's tasks work with: the part of the hook they call, and one run's (or one stream's) mapping,
storage, options and sync state in one frozen value instead of a long list of arguments."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hubspot_commerce.batch.quota import QuotaPlan, QuotaRule
from hubspot_commerce.batch.records import Link
from hubspot_commerce.contract import RunStorage
from hubspot_commerce.sync.mapping import StreamMapping, SyncMapping
from hubspot_commerce.sync.run_options import RunOptions
from hubspot_commerce.sync.state import SyncState

# Rows extract, validate, prepare and the report hold at once: their memory is this many rows' worth,
# whatever a stream's size. Prepare and the report read it as ``task_context.CHUNK_ROWS`` when they run.
CHUNK_ROWS = 10_000


class HubSpotApi(Protocol):
    """The part of ``HubSpotHook`` the tasks use (tests pass stand-ins)."""

    hubspot_conn_id: str  # the connection messages name

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

    def plan_quota(self, needed: int, rule: QuotaRule) -> QuotaPlan: ...


@dataclass(frozen=True)
class RunContext:
    """One run as its tasks see it: the mapping, the run's storage, its options and the sync state (None:
    planned against HubSpot's records only)."""

    mapping: SyncMapping
    files: RunStorage
    options: RunOptions = field(default_factory=RunOptions)
    state: SyncState | None = None

    def stream(self, name: str, hubspot: HubSpotApi) -> StreamContext:
        """The context of one stream's task, which calls HubSpot through ``hubspot``."""
        return StreamContext(
            self.mapping, self.mapping.streams[name], self.files, self.options, self.state, hubspot
        )


@dataclass(frozen=True)
class StreamContext:
    """One stream's task: its mapping (and the whole mapping, for the streams it refers to), the run's
    storage, options and sync state, and the hook."""

    mapping: SyncMapping
    stream: StreamMapping
    files: RunStorage
    options: RunOptions
    state: SyncState | None
    hubspot: HubSpotApi

    @property
    def name(self) -> str:
        return self.stream.name

    @property
    def writes(self) -> bool:
        """Whether the run writes this stream (selected, not a dry run)."""
        return self.options.writes(self.name)

    @property
    def from_state(self) -> bool:
        """Whether the stream is planned from the sync state (not reconciled with HubSpot's records)."""
        return self.state is not None and not self.options.reconcile

    @property
    def key_property(self) -> str:
        """The unique property that holds the source key."""
        return self.mapping.key_property.name
