"""Where one DAG run keeps what its tasks hand each other: source and validated rows, property definitions,
write inputs, plans, rejected rows and the report, under ``<work_dir>/<dag_id>/<run_id>/``.

``work_dir`` is an object-storage URL (``storage.default_work_dir`` unless the DAG factory is given one), so
the tasks of a run may run on workers that share no disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow.sdk import ObjectStoragePath

from hubspot_commerce.storage import Location, path_safe, storage_path


@dataclass(frozen=True)
class RunStorage:
    """The layout of one run's directory on object storage."""

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

    def remove_row_copies(self) -> None:
        """Delete the run's copies of source and validated rows (the bulk of its files) once it reported;
        the report, rejected rows and write inputs stay."""
        for directory in (self.root / "source", self.root / "validated"):
            if directory.exists():
                directory.rmdir(recursive=True)
