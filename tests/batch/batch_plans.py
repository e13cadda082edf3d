"""A whole write plan at once, for tests of the lazy planner (``iter_batches``) and of result folding."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hubspot_commerce.batch.records import BatchOutcome, Rejection, WriteRecord, WriteSpec
from hubspot_commerce.batch.requests import PlannedInput, iter_batches


@dataclass
class Plan:
    """The batches ``iter_batches`` yields, the records it refused before sending, how many it skipped and
    the keys it left unsent past its limit."""

    spec: WriteSpec
    batches: list[list[PlannedInput]]
    rejected: list[Rejection] = field(default_factory=list)
    skipped: int = 0
    not_attempted: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(batch) for batch in self.batches)


def plan_write(
    action: str,
    records: Iterable[WriteRecord],
    *,
    id_property: str | None = None,
    key_property: str | None = None,
    skip_keys: frozenset[str] | set[str] = frozenset(),
    limit: int | None = None,
) -> Plan:
    """Plan ``records`` for ``action`` on orders (the object type does not change the plan)."""
    spec = WriteSpec("orders", action, id_property=id_property, key_property=key_property)
    outcome = BatchOutcome()
    batches = list(iter_batches(spec, records, outcome, skip_keys=skip_keys, limit=limit))
    return Plan(spec, batches, outcome.rejected, outcome.skipped, outcome.not_attempted)
