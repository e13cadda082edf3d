"""The batch operator's output files: one set per task instance, the ids inline or by URL."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from hubspot_commerce.batch.records import Rejection
from hubspot_commerce.contract import read_ids
from hubspot_commerce.operators.batch_outputs import BatchOutputs
from hubspot_commerce.operators.resume import LandedIds
from hubspot_commerce.storage import read_jsonl


def test_a_mapped_task_instance_has_files_of_its_own(tmp_path: Path) -> None:
    context = {"ti": SimpleNamespace(map_index=2), "run_id": "r"}
    outputs = BatchOutputs.for_task(str(tmp_path), "dag", "create_orders", context, "orders")
    assert str(outputs.file(".rejected.jsonl")).endswith("/create_orders_2.rejected.jsonl")
    unmapped = BatchOutputs.for_task(str(tmp_path), "dag", "create_orders", None, "orders")
    assert str(unmapped.file(".ids")).endswith("/create_orders.ids")


def test_ids_above_the_limit_go_to_a_file_and_files_are_written_only_when_needed(tmp_path: Path) -> None:
    outputs = BatchOutputs.for_task(str(tmp_path), "dag", "create_orders", {}, "orders")
    landed = LandedIds(outputs.file(".ids"), None)
    landed.add({"1": "11", "2": "12"})
    assert outputs.ids_value(landed, 2).ids == {"1": "11", "2": "12"}
    by_url = outputs.ids_value(landed, 1)
    assert by_url.ids == str(outputs.file(".ids.jsonl")) and read_ids(by_url.to_xcom()) == {
        "1": "11",
        "2": "12",
    }
    assert outputs.write_rejections([]) is None and outputs.write_existing([]) is None
    path = outputs.write_rejections([Rejection("1", "VALIDATION_ERROR", "INVALID", "bad")])
    assert read_jsonl(outputs.file(".rejected.jsonl")) == [
        {"key": "1", "category": "VALIDATION_ERROR", "code": "INVALID", "message": "bad"}
    ] and path == str(outputs.file(".rejected.jsonl"))
