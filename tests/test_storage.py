"""Files on object storage: the same JSON, JSON-lines and Parquet round trips on a local disk and on S3."""

from __future__ import annotations

import pandas as pd
import pytest
from airflow.sdk import ObjectStoragePath

from hubspot_commerce.storage import (
    default_work_dir,
    path_safe,
    read_json,
    read_jsonl,
    read_table,
    replace_json,
    storage_path,
    write_json,
    write_jsonl,
    write_table,
)


@pytest.fixture(params=["file", "s3"])
def root(request: pytest.FixtureRequest, tmp_path) -> ObjectStoragePath:
    """A directory on the local disk, or a prefix on the S3 server."""
    if request.param == "s3":
        return storage_path(request.getfixturevalue("s3_dir"))
    return storage_path(f"file://{tmp_path}")


def test_tables_keep_nullable_types_and_decimal_text(root):
    frame = pd.DataFrame(
        {
            "order_id": pd.array([100001, None], dtype="Int64"),
            "total": pd.array(["19.90", None], dtype="string"),
            "placed_at": pd.to_datetime(["2025-03-01 09:00:00", None]),
        }
    )
    path = write_table(root / "run" / "source" / "orders.parquet", frame)
    back = read_table(storage_path(str(path)))  # another task gets only the URL
    pd.testing.assert_frame_equal(back, frame)


def test_json_and_json_lines_round_trip(root):
    rows = [{"key": "order:1:1", "properties": {"name": "Lamp ü"}}, {"key": "2", "properties": {}}]
    write_jsonl(root / "orders" / "create.jsonl", rows)
    write_json(root / "orders" / "plan.json", {"create": 2})
    assert read_jsonl(storage_path(str(root / "orders" / "create.jsonl"))) == rows
    assert read_json(root / "orders" / "plan.json") == {"create": 2}
    assert read_jsonl(root / "orders" / "missing.jsonl") == []


def test_a_replaced_json_file_holds_the_new_value_and_nothing_is_left_beside_it(root):
    """``replace_json`` writes beside the file and renames over it: a reader sees one version or the other."""
    # fsspec's rename on S3 expands glob characters, such as this test's "[s3]"; a run's paths have none
    folder = storage_path(str(root).translate(str.maketrans("[]", "__"))) / "properties"
    path = write_json(folder / "orders.json", [{"name": "hs_order_name"}])
    replace_json(path, [{"name": "hs_order_name"}, {"name": "airflow_source_key"}])
    assert read_json(storage_path(str(path))) == [{"name": "hs_order_name"}, {"name": "airflow_source_key"}]
    assert [entry.name for entry in folder.iterdir()] == ["orders.json"]


def test_urls_keep_their_connection_and_plain_paths_become_file_urls(tmp_path):
    s3 = storage_path("s3://aws_warehouse@bucket/prefix/run")
    assert (s3.protocol, s3.conn_id, str(s3 / "x.json")) == (
        "s3",
        "aws_warehouse",
        "s3://aws_warehouse@bucket/prefix/run/x.json",
    )
    assert str(storage_path(tmp_path / "a b")) == f"file://{tmp_path}/a b"


def test_run_ids_become_one_safe_path_segment():
    assert path_safe("scheduled__2025-03-02T03:00:00+00:00") == "scheduled__2025-03-02T03_00_00_00_00"
    assert path_safe("manual run/1") == "manual_run_1"


def test_the_work_dir_comes_from_airflow_configuration(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW__HUBSPOT_COMMERCE__WORK_DIR", raising=False)
    assert str(default_work_dir()) == f"file://{tmp_path}/hubspot_commerce"
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__WORK_DIR", "s3://aws_default@lake/hubspot")
    assert str(default_work_dir()) == "s3://aws_default@lake/hubspot"
