"""What a write task needs to describe its records' lineage, as a JSON-able value built when the DAG is
parsed: the source connection and query, and where each HubSpot property's value comes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

DIRECT, INDIRECT = "DIRECT", "INDIRECT"  # OpenLineage's transformation types
IDENTITY, TRANSFORMATION = "IDENTITY", "TRANSFORMATION"


@dataclass(frozen=True)
class FieldSource:
    """One source column a HubSpot property's value is made of, and how (OpenLineage's transformation)."""

    column: str
    type: str = DIRECT
    subtype: str = IDENTITY
    description: str | None = None


@dataclass(frozen=True)
class WriteLineage:
    """A write's lineage: ``query`` on ``source_conn_id`` gives the rows, ``fields`` per HubSpot property the
    query columns its value is made of (none for a constant), ``state_file`` the JSON file in the write's
    output directory that holds the stream's plan against the sync state (its counts)."""

    source_conn_id: str
    query: str
    fields: dict[str, tuple[FieldSource, ...]] = field(default_factory=dict)
    state_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The operator's ``lineage`` argument."""
        return asdict(self) | {"fields": {p: [asdict(s) for s in srcs] for p, srcs in self.fields.items()}}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> WriteLineage:
        fields = {
            name: tuple(FieldSource(**source) for source in sources)
            for name, sources in (value.get("fields") or {}).items()
        }
        return cls(value["source_conn_id"], value["query"], fields, value.get("state_file"))
