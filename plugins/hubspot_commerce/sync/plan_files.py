"""A stream's plan written as prepare makes it, a chunk at a time, so no more than a chunk is in memory: the
write tasks' inputs, the rows rejected while planning, the planned state for the report, the ids of the
records that exist already, and at the end the counts (``plan.json``)."""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from typing import Any

import pandas as pd

from hubspot_commerce.contract import (
    CREATE,
    MAX_INLINE_IDS,
    UPDATE,
    UPSERT,
    IdsValue,
    RunStorage,
    write_actions,
)
from hubspot_commerce.storage import JsonLinesWriter, TableWriter, read_json, write_json
from hubspot_commerce.sync.diff import StreamPlan
from hubspot_commerce.sync.mapping import StreamMapping


class PlanFiles:
    """The files of one stream's plan, open for its chunks (``with PlanFiles(...) as out: out.add(...)``).

    ``writes``: whether the stream is written (else its write inputs stay empty: a dry run, a stream not
    selected); an ``upsert`` stream has one input, of its creates and updates together."""

    def __init__(self, files: RunStorage, stream: StreamMapping, *, writes: bool) -> None:
        self.files, self.stream, self.writes = files, stream.name, writes
        self.actions = write_actions(stream)
        self.definitions: list[dict[str, Any]] = read_json(files.definitions(stream.object_type))
        self.counts: Counter[str] = Counter()
        self.rejected_sample: list[dict[str, str]] = []  # the first few, for the log
        self._stack = ExitStack()

    def __enter__(self) -> PlanFiles:
        enter = self._stack.enter_context
        self._inputs = {
            a: enter(JsonLinesWriter(self.files.write_input(self.stream, a))) for a in self.actions
        }
        self._rejected = enter(JsonLinesWriter(self.files.rejected(self.stream, "plan")))
        self._planned = enter(TableWriter(self.files.planned_state(self.stream)))
        self._existing = enter(JsonLinesWriter(self.files.existing_ids(self.stream)))
        return self

    def add(self, plan: StreamPlan, keys: pd.Series, hashes: pd.Series) -> None:
        """Write one chunk's plan: its inputs (when the stream is written), rejections and planned state."""
        if self.writes:
            if UPSERT in self._inputs:
                self._inputs[UPSERT].write([*plan.create, *plan.update])
            else:
                self._inputs[CREATE].write(plan.create)
                self._inputs[UPDATE].write(plan.update)
        rejected = [row.to_json() for row in plan.rejected]
        self._rejected.write(rejected)
        self.rejected_sample.extend(rejected[: 5 - len(self.rejected_sample)])
        self._planned.write(plan.planned_state(keys, hashes))
        self.counts.update(plan.counts())
        self._existing.write({"key": key, "id": hubspot_id} for key, hubspot_id in plan.existing_ids.items())

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self._stack.close()
        if kind is None:
            write_json(self.files.plan(self.stream), {**self._totals(), "written": self.writes})

    def _totals(self) -> dict[str, int]:
        names = ("create", "update", "unchanged", "relinked", "rejected")
        return {name: int(self.counts[name]) for name in names}

    def ids_value(self) -> IdsValue:
        """The ids of the stream's records that exist already, as the write tasks give theirs to XCom: the
        map itself, or the URL of its JSON-lines file above ``MAX_INLINE_IDS`` ids."""
        path = self.files.existing_ids(self.stream)
        return IdsValue.of(self._existing.rows, IdsValue(str(path)).pairs, lambda: path, MAX_INLINE_IDS)

    def describe(self) -> str:
        """The counts in words, for the log."""
        totals = self._totals()
        return (
            f"{totals['create']} to create, {totals['update']} to update, {totals['unchanged']} unchanged, "
            f"{totals['rejected']} rejected"
        )
