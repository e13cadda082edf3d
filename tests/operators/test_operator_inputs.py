"""The batch operator's inputs: a list, a JSON-lines or a JSON file; malformed inputs refused one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubspot_commerce.operators.batch_inputs import Inputs, UnreadableLine, WriteRecords
from hubspot_commerce.storage import write_json


def test_a_jsonl_file_is_read_a_line_at_a_time_and_a_bad_line_is_kept_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"key": "1", "properties": {}}\n\nnot json\n')
    items = list(Inputs(str(path)))
    assert items[0] == {"key": "1", "properties": {}}
    assert isinstance(items[1], UnreadableLine) and items[1].number == 3


def test_a_json_file_must_hold_a_list_and_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert list(Inputs(str(write_json(tmp_path / "in.json", [1, 2])))) == [1, 2]
    with pytest.raises(ValueError, match="expected a JSON list"):
        list(Inputs(str(write_json(tmp_path / "map.json", {"a": 1}))))
    with pytest.raises(FileNotFoundError):
        Inputs(str(tmp_path / "missing.jsonl"))
    assert Inputs([]).empty() and not Inputs(iter([{"key": "1"}])).empty()


def test_write_records_refuse_malformed_inputs_and_leave_out_keys_in_doubt() -> None:
    inputs = Inputs([{"key": "1", "properties": {}}, {"key": "2", "properties": {}}, {"no": "key"}])
    records = WriteRecords(inputs, leave_out=frozenset({"2"}))
    assert [record.key for record in records] == ["1"]
    assert records.total == 3 and [r.key for r in records.refused] == ["#2"]
    assert records.refused[0].code == "MALFORMED_INPUT"
