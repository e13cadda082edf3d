"""HubSpot's objects API for records: batch reads by key, every key a sync created, and archiving."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from hubspot_commerce.batch.requests import MAX_BATCH, chunked
from hubspot_commerce.batch.send import BatchEngine
from hubspot_commerce.client.api_call import ApiCall
from hubspot_commerce.client.api_paths import ApiPaths


class RecordsApi:
    """Reads, lists and archives the records of any object type (writes: ``write_policy.RecordWriter``).

    :param warm_up: builds the HTTP session in the calling thread before the engine's workers share it.
    """

    def __init__(
        self, request: ApiCall, engine: BatchEngine, paths: ApiPaths, warm_up: Callable[[], object]
    ) -> None:
        self.request = request
        self.engine = engine
        self.paths = paths
        self.warm_up = warm_up

    def batch_read(
        self,
        object_type: str,
        keys: Iterable[str],
        id_property: str | None = None,
        properties: Sequence[str] = (),
    ) -> dict[str, dict]:
        """``{key: {"id", "properties"}}`` for every key found by ``id_property`` (record id when None)."""
        self.warm_up()
        return self.engine.read(object_type, keys, id_property=id_property, properties=properties)

    def list_keys(self, object_type: str, key_property: str) -> dict[str, str]:
        """``{key: record id}`` of every record of ``object_type`` with a value for ``key_property``: the
        records a sync created. Pages through the object list, 100 records a request."""
        keys: dict[str, str] = {}
        after: str | None = None
        while True:
            query = f"?limit={MAX_BATCH}&properties={key_property}&archived=false"
            query += f"&after={after}" if after else ""
            page = self.request("GET", self.paths.objects(object_type) + query)
            for record in page.get("results") or []:
                if key := (record.get("properties") or {}).get(key_property):
                    keys[str(key)] = str(record["id"])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return keys

    def archive(self, object_type: str, record_ids: Sequence[str]) -> None:
        """Archive records by id, 100 a request (``batch/archive`` answers 204 whether or not each existed,
        so a retried request is harmless)."""
        for chunk in chunked(list(record_ids)):
            inputs = [{"id": record_id} for record_id in chunk]
            self.request("POST", self.paths.batch(object_type, "archive"), {"inputs": inputs})
