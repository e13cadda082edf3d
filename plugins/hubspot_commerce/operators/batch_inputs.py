"""The batch operator's inputs, read anew on every pass and never held whole: a list, a JSON-lines file
line by line or a JSON file, as ``WriteRecord`` s; a malformed input is refused as that input."""

from __future__ import annotations

import json
import os
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath

from hubspot_commerce.batch.records import Rejection, WriteRecord
from hubspot_commerce.storage import Location, read_json, storage_path


@dataclass(frozen=True)
class UnreadableLine:
    """A line of a JSON-lines input file that is not JSON: refused as that input, not raised mid-write."""

    number: int
    error: str


class Inputs:
    """The operator's inputs, read anew on every pass and never held whole: a list (an XComArg's value) as
    it is, a ``.jsonl`` file (one JSON object a line) line by line, a ``.json`` file (a JSON list) at once;
    files at a local path or an object-storage URL."""

    def __init__(self, inputs: Location | Iterable[Any]) -> None:
        self.path: ObjectStoragePath | None = None
        self.items: Sequence[Any] = ()
        if isinstance(inputs, str | os.PathLike | ObjectStoragePath):
            self.path = storage_path(inputs)
            if not self.path.exists():
                raise FileNotFoundError(f"input file {self.path} does not exist")
        else:
            self.items = inputs if isinstance(inputs, Sequence) else list(inputs)

    def __iter__(self) -> Iterator[Any]:
        if self.path is None:
            yield from self.items
        elif self.path.suffix == ".jsonl":
            yield from _json_lines(self.path)
        else:
            data = read_json(self.path)
            if not isinstance(data, list):
                raise ValueError(f"{self.path}: expected a JSON list of records")
            yield from data

    def empty(self) -> bool:
        """True when there is no input (a file is opened and its first line read)."""
        return next(iter(self), _NOTHING) is _NOTHING


_NOTHING = object()


def _json_lines(path: ObjectStoragePath) -> Iterator[Any]:
    """The values of a JSON-lines file, one line at a time; a line that is no JSON as an UnreadableLine."""
    with path.open("r", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError as exc:
                yield UnreadableLine(number, f"line {number} of {path} is not JSON: {exc}")


class WriteRecords:
    """The inputs as ``WriteRecord`` s, one pass at a time. Each pass counts the inputs (``total``) and
    refuses the malformed ones (``refused``), which are not sent; keys in ``leave_out`` are neither sent nor
    refused (creates an earlier try left in doubt)."""

    def __init__(self, inputs: Inputs, leave_out: Container[str] = frozenset()) -> None:
        self.inputs = inputs
        self.leave_out = leave_out
        self.total = 0
        self.refused: list[Rejection] = []

    def __iter__(self) -> Iterator[WriteRecord]:
        self.total, self.refused = 0, []
        for n, item in enumerate(self.inputs):
            self.total += 1
            try:
                if isinstance(item, UnreadableLine):
                    raise ValueError(item.error)
                record = WriteRecord.from_dict(item)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                key = str(item.get("key")) if isinstance(item, Mapping) and item.get("key") else f"#{n}"
                self.refused.append(Rejection(key, "INVALID_INPUT", "MALFORMED_INPUT", str(exc)))
                continue
            if record.key not in self.leave_out:
                yield record
