"""What every task of one sync DAG needs to know (``SyncConfig``): the mapping, where runs keep their files,
the connections and the pool; and, inside a task, its run's context and a hook that records its requests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow.sdk import ObjectStoragePath, Param, get_current_context

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.storage import configured
from hubspot_commerce.sync.extract import sql_source
from hubspot_commerce.sync.guide import user_guide
from hubspot_commerce.sync.mapping import SyncMapping, load_mapping
from hubspot_commerce.sync.run_options import RunOptions
from hubspot_commerce.sync.state import DEFAULT_TABLE as DEFAULT_STATE_TABLE
from hubspot_commerce.sync.state import SyncState, checked_table
from hubspot_commerce.sync.tasks.task_context import RunContext


@dataclass(frozen=True)
class SyncConfig:
    """What every task of one sync DAG needs to know: the mapping, where runs keep their files, the
    connections and the pool."""

    dag_id: str
    mapping: SyncMapping
    work_root: ObjectStoragePath
    source_conn_id: str
    hubspot_conn_id: str
    pool: str
    max_archive_fraction: float = 0.1
    state_conn_id: str | None = None  # None: the source connection
    state_table: str = DEFAULT_STATE_TABLE

    def state(self, dry_run: bool = False) -> SyncState:
        """The sync state table, in the state connection (default: the source's); a dry run reads a table
        not created yet as empty."""
        conn_id = self.state_conn_id or self.source_conn_id
        return SyncState(lambda: sql_source(conn_id), self.state_table, conn_id=conn_id, missing_ok=dry_run)

    def storage(self, run_id: str | None = None) -> RunStorage:
        """The run's storage (the current task's run unless ``run_id`` is given)."""
        return RunStorage.for_run(self.work_root, self.dag_id, run_id or get_current_context()["run_id"])

    def run_context(self) -> RunContext:
        """The current task's run: the mapping, its storage, its options parsed from the Params, the state."""
        options = RunOptions.from_params(get_current_context()["params"])
        return RunContext(self.mapping, self.storage(), options, self.state(options.dry_run))

    @property
    def usage_conn_id(self) -> str:
        """Where the day's HubSpot requests are recorded per portal (with the state)."""
        return self.state_conn_id or self.source_conn_id

    @contextmanager
    def hubspot(self) -> Iterator[HubSpotHook]:
        """A task's hook; at the end its requests are added to the day's usage (kept only for a connection
        with a ``daily_limit``, an OAuth app's stand-in for HubSpot's daily headers)."""
        hook = HubSpotHook(hubspot_conn_id=self.hubspot_conn_id, usage_conn_id=self.usage_conn_id)
        try:
            yield hook
        finally:
            hook.record_usage_quietly()

    def guide(self, params: Mapping[str, Param], cron: str) -> str:
        """The DAG's user guide (its Docs tab), with the settings it was built with."""
        settings = {
            "source_conn_id": self.source_conn_id,
            "hubspot_conn_id": self.hubspot_conn_id,
            "pool": self.pool,
            "state_conn_id": self.state_conn_id or self.source_conn_id,
            "state_table": self.state_table,
            "cron": cron,
            "work_root": self.work_root,
        }
        return user_guide(self.dag_id, params, settings)

    def macros(self) -> dict[str, Any]:
        """Template helpers: the URL of a stream's write input and of its directory in the run's storage."""
        return {
            "sync_input": lambda run_id, stream, action: str(
                self.storage(run_id).write_input(stream, action)
            ),
            "sync_stream_dir": lambda run_id, stream: str(self.storage(run_id).stream_dir(stream)),
        }


def configured_mapping(
    mapping_path: str | Path | None = None, sql_dir: str | Path | None = None
) -> SyncMapping:
    """The mapping and its SQL folder as given, else the ``[hubspot_commerce]`` settings ``mapping_path`` and
    ``sql_dir``, else the package's ``include/``: what the DAG and ``hubspot-commerce check`` both read."""
    return load_mapping(mapping_path or configured("mapping_path"), sql_dir or configured("sql_dir"))


def configured_state(
    state_conn_id: str | None = None, state_table: str | None = None
) -> tuple[str | None, str]:
    """Where the sync state lives: as given, else the ``[hubspot_commerce]`` settings ``state_conn_id`` and
    ``state_table`` (``schema.table`` allowed), else the source connection (None), ``hubspot_sync_state``."""
    table = checked_table(state_table or configured("state_table") or DEFAULT_STATE_TABLE)
    return state_conn_id or configured("state_conn_id") or None, table
