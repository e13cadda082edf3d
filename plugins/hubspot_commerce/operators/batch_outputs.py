"""The files a batch task writes beside its XCom value, one set per task instance: the ids as they land and
large id maps, rejected records, records the day's quota left unsent, existing records and creates in
doubt, under ``<output_dir>/<task_id>[_<map_index>]``."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath

from hubspot_commerce.batch.records import Rejection
from hubspot_commerce.contract import IdsValue
from hubspot_commerce.operators.resume import LandedIds
from hubspot_commerce.storage import default_work_dir, path_safe, storage_path, write_jsonl

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchOutputs:
    """Where one task instance's output files go (``<directory>/<name><suffix>``), and how each is written."""

    directory: ObjectStoragePath
    name: str
    object_type: str

    @classmethod
    def for_task(
        cls, output_dir: str | None, dag_id: str, task_id: str, context: Any, object_type: str
    ) -> BatchOutputs:
        """``<output_dir>/<task_id>[_<map_index>]``; without ``output_dir``,
        ``<[hubspot_commerce] work_dir>/<dag_id>/<run_id>`` (dag_id is ``adhoc_<owner>`` outside a Dag)."""
        context = context if isinstance(context, Mapping) else {}
        if output_dir:
            directory = storage_path(output_dir)
        else:
            run_id = str(context.get("run_id") or "no_run")
            directory = default_work_dir() / path_safe(dag_id) / path_safe(run_id)
        map_index = getattr(context.get("ti"), "map_index", -1)
        mapped = f"_{map_index}" if isinstance(map_index, int) and map_index >= 0 else ""
        return cls(directory, f"{path_safe(task_id)}{mapped}", object_type)

    def file(self, suffix: str) -> ObjectStoragePath:
        """The task instance's file ending in ``suffix``."""
        return self.directory / f"{self.name}{suffix}"

    def ids_value(self, landed: LandedIds, max_inline: int) -> IdsValue:
        """The landed ids as the XCom value carries them: the map itself, or the URL of a JSON-lines file
        (``{"key", "id"}`` a line) holding it when it has more than ``max_inline`` ids."""
        file = self.file(".ids.jsonl")
        value = IdsValue.of(landed.count, landed.items, lambda: landed.copy_to(file), max_inline)
        if isinstance(value.ids, str):
            log.info("%d ids written to %s (the XCom carries its URL)", landed.count, value.ids)
        return value

    def write_rejections(self, rejected: list[Rejection]) -> str | None:
        """Write every rejection (key, category, code, message) as JSON lines; log a summary."""
        if not rejected:
            return None
        path = write_jsonl(
            self.file(".rejected.jsonl"),
            ({"key": r.key, "category": r.category, "code": r.code, "message": r.message} for r in rejected),
        )
        by_code = Counter(f"{r.category}/{r.code}" for r in rejected)
        log.warning(
            "%d %s records rejected (%s); every record with its reason: %s",
            len(rejected), self.object_type, ", ".join(f"{c}: {n}" for c, n in by_code.most_common()), path,
        )  # fmt: skip
        for r in rejected[:10]:
            log.warning("rejected %s: %s/%s: %s", r.key, r.category, r.code, r.message[:300])
        if len(rejected) > 10:
            log.warning("... and %d more in %s", len(rejected) - 10, path)
        return str(path)

    def write_not_attempted(self, keys: list[str]) -> str | None:
        """Write the keys the day's quota left unsent (``partial``) as JSON lines; log where."""
        if not keys:
            return None
        path = write_jsonl(self.file(".not_attempted.jsonl"), _keys(keys))
        log.warning(
            "%d %s records not attempted: today's HubSpot quota did not cover them (on_quota_short "
            "partial); a later run writes them. Their keys: %s", len(keys), self.object_type, path,
        )  # fmt: skip
        return str(path)

    def write_existing(self, keys: list[str]) -> str | None:
        """Write the keys of creates HubSpot already held a record for as JSON lines: their values were
        written by an update, their links were not checked."""
        if not keys:
            return None
        return str(write_jsonl(self.file(".existing.jsonl"), _keys(keys)))

    def write_in_doubt(self, keys: list[str]) -> ObjectStoragePath:
        """Write the keys of creates that got no answer and cannot be checked as JSON lines."""
        return write_jsonl(self.file(".in_doubt.jsonl"), _keys(keys))


def _keys(keys: Iterable[str]) -> Iterable[dict[str, str]]:
    return ({"key": key} for key in keys)
