"""The contract between the sync's tasks: their ids, the write actions of each stream, the XCom values they
hand each other (ids inline or by URL, result keys) and where a run keeps its files.

Both the operator and the sync DAG use it, so that what one task writes and the next reads is decided here
once, not as matching strings in several modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from airflow.sdk import ObjectStoragePath

from hubspot_commerce.storage import Location, iter_jsonl, path_safe, read_json, storage_path

# The run's tasks that are not per stream.
SETUP, EXTRACT, VALIDATE, PLAN_QUOTA, REPORT = "setup", "extract", "validate", "plan_quota", "report"
# A stream's tasks: prepare, its writes (``upsert``, or ``create`` and ``update``), mirror.
PREPARE, UPSERT, CREATE, UPDATE, MIRROR = "prepare", "upsert", "create", "update", "mirror"
STREAM_ACTIONS = (PREPARE, UPSERT, CREATE, UPDATE, MIRROR)  # in the order they run
# One task per run with mirror streams, before their mirror tasks: asks a person before a mass archive.
APPROVE_ARCHIVE = "approve_archive"
ARCHIVE, KEEP = "Archive", "Keep"  # its answers; Keep is taken when nobody answers in time
MAX_INLINE_IDS = 10_000  # larger id maps travel in XCom as the URL of a JSON-lines file


class Stream(Protocol):
    """What the contract needs to know of a stream (``sync.mapping.StreamMapping``)."""

    name: str
    upsert_by: str | None


def write_actions(stream: Stream) -> tuple[str, ...]:
    """The stream's write tasks' actions: one upsert (a stream with ``upsert_by``), or a create and an
    update."""
    return (UPSERT,) if stream.upsert_by else (CREATE, UPDATE)


def task_id(action: str, stream: str) -> str:
    """The id of a stream's task: ``prepare_orders``, ``create_orders``, ``mirror_orders``, ..."""
    return f"{action}_{stream}"


def stream_task_ids(stream: str) -> tuple[str, ...]:
    """Every task a stream may have, in the order they run (a stream has only some of the writes)."""
    return tuple(task_id(action, stream) for action in STREAM_ACTIONS)


def result_key(stream: str, action: str) -> str:
    """The report's key for a stream task's XCom value: ``orders.create``, ``orders.mirror``."""
    return f"{stream}.{action}"


def parse_result_key(key: str) -> tuple[str, str] | None:
    """``(stream, action)`` of a stream task's result key; None for ``extract`` and ``validate``."""
    stream, dot, action = key.partition(".")
    return (stream, action) if dot else None


def count_key(stream: str, count: str) -> str:
    """A key of validate's XCom value: ``orders.extracted``, ``orders.rejected``, ``orders.deleted``."""
    return f"{stream}.{count}"


@dataclass(frozen=True)
class IdsValue:
    """The ``ids`` of a write task's and of prepare's XCom value: ``{source key: HubSpot id}`` itself, or,
    for a large map, the URL of a file holding it: JSON lines ``{"key", "id"}`` (``.jsonl``) or one JSON
    object (``.json``)."""

    ids: dict[str, str] | str

    @classmethod
    def of(
        cls,
        count: int,
        pairs: Callable[[], Iterable[tuple[str, str]]],
        file: Callable[[], Location],
        max_inline: int = MAX_INLINE_IDS,
    ) -> IdsValue:
        """The ``count`` ids inline (``pairs``) up to ``max_inline``, else the URL of their file (``file``
        writes it, or names it when it exists)."""
        if count <= max_inline:
            return cls(dict(pairs()))
        return cls(str(file()))

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> IdsValue:
        """The ids of a task's XCom value."""
        return cls(value["ids"])

    def to_xcom(self) -> dict[str, dict[str, str] | str]:
        """The value as a task returns it."""
        return {"ids": self.ids}

    def pairs(self) -> Iterator[tuple[str, str]]:
        """``(source key, HubSpot id)`` pairs, one at a time (a file is read line by line)."""
        if not isinstance(self.ids, str):
            pairs: Iterable[tuple[Any, Any]] = self.ids.items()
        elif (path := storage_path(self.ids)).suffix == ".jsonl":
            pairs = ((row["key"], row["id"]) for row in iter_jsonl(path))
        else:
            pairs = read_json(path).items()
        for key, hubspot_id in pairs:
            yield str(key), str(hubspot_id)


def read_ids(xcom_value: Mapping[str, Any]) -> dict[str, str]:
    """``{source key: HubSpot id}`` from a write task's (or prepare's) XCom value, inline or by URL."""
    return dict(IdsValue.from_xcom(xcom_value).pairs())


@dataclass(frozen=True)
class ArchiveAnswer:
    """``approve_archive``'s XCom value: whether the mirror tasks archive what they planned, and, when a
    person was asked, who answered and when (``by`` None and ``timed_out``: nobody answered in time)."""

    archive: bool
    asked: bool = False
    by: str | None = None
    at: str | None = None  # UTC, ISO 8601
    timed_out: bool = False

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> ArchiveAnswer:
        return cls(**value)

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunStorage:
    """Where one DAG run keeps what its tasks hand each other, under ``<work_dir>/<dag_id>/<run_id>/`` on
    object storage, so the tasks of a run may run on workers that share no disk."""

    root: ObjectStoragePath

    @classmethod
    def for_run(cls, work_dir: Location, dag_id: str, run_id: str) -> RunStorage:
        """The run's directory: ``<work_dir>/<dag_id>/<run_id>``, the run id made safe for any store."""
        return cls(storage_path(work_dir) / path_safe(dag_id) / path_safe(run_id))

    def source(self, stream: str) -> ObjectStoragePath:
        return self.root / "source" / f"{stream}.parquet"

    def accepted(self, stream: str) -> ObjectStoragePath:
        return self.root / "validated" / f"{stream}.parquet"

    def definitions(self, object_type: str) -> ObjectStoragePath:
        return self.root / "properties" / f"{object_type}.json"

    def stream_dir(self, stream: str) -> ObjectStoragePath:
        """The stream's write inputs, plan and rejected rows; its write tasks' outputs go here too."""
        return self.root / stream

    def write_input(self, stream: str, action: str) -> ObjectStoragePath:
        return self.stream_dir(stream) / f"{action}.jsonl"

    def plan(self, stream: str) -> ObjectStoragePath:
        return self.stream_dir(stream) / "plan.json"

    def planned_state(self, stream: str) -> ObjectStoragePath:
        """Per row: key, known HubSpot id, hash and what the plan does, for the state table."""
        return self.stream_dir(stream) / "planned-state.parquet"

    def existing_ids(self, stream: str) -> ObjectStoragePath:
        """JSON lines ``{"key", "id"}``: the stream's records HubSpot holds already, as prepare found them."""
        return self.stream_dir(stream) / "existing-ids.jsonl"

    def deleted(self, stream: str) -> ObjectStoragePath:
        """Source keys of the rows the source marks deleted (a mirror stream's ``deleted_column``)."""
        return self.stream_dir(stream) / "deleted.json"

    def mirror_plan(self, stream: str) -> ObjectStoragePath:
        return self.stream_dir(stream) / "mirror-plan.json"

    @property
    def archive_list(self) -> ObjectStoragePath:
        """Every record the mirror streams would archive, when ``approve_archive`` asks about them: JSON
        lines ``{"stream", "key", "id"}``."""
        return self.root / "archive-list.jsonl"

    def mirrored(self, stream: str) -> ObjectStoragePath:
        """What mirroring archived and unlinked (or, on a dry run, would have): one JSON line each."""
        return self.stream_dir(stream) / "mirrored.jsonl"

    def rejected(self, stream: str, stage: str) -> ObjectStoragePath:
        """Rows of ``stream`` rejected at ``stage`` (``validate``: bad values or references; ``plan``: a
        referenced record has no HubSpot id)."""
        return self.stream_dir(stream) / f"rejected-{stage}.jsonl"

    @property
    def all_rejected(self) -> ObjectStoragePath:
        return self.root / "rejected.jsonl"

    @property
    def quota_plan(self) -> ObjectStoragePath:
        """The run's plan against the day's quota, made before its first write."""
        return self.root / "quota-plan.json"

    @property
    def report(self) -> ObjectStoragePath:
        return self.root / "report.txt"

    def failure(self, task: str) -> ObjectStoragePath:
        """Why ``task`` failed (its exception's type and first line, what to do), as its failure callback
        recorded it for the report."""
        return self.root / "failures" / f"{path_safe(task)}.json"

    def remove_row_copies(self) -> None:
        """Delete the run's copies of source and validated rows (the bulk of its files) once it reported;
        the report, rejected rows and write inputs stay."""
        for directory in (self.root / "source", self.root / "validated"):
            if directory.exists():
                directory.rmdir(recursive=True)
