"""HubSpotBatchOperator against the sandbox: XCom shape, file inputs, rejected records, resume, secrets."""

from __future__ import annotations

import json
import logging

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from hubspot_commerce.errors import HubSpotAuthError, HubSpotDailyLimitReached, HubSpotRejectedRecords
from hubspot_commerce.hooks.hubspot import HubSpotHook, key_property_definition
from hubspot_commerce.operators.batch import HubSpotBatchOperator, read_ids
from hubspot_commerce.storage import read_jsonl, storage_path, write_jsonl

KEY = "src_key"


@pytest.fixture
def orders_ready(hubspot_conn) -> str:
    HubSpotHook(hubspot_conn_id=hubspot_conn).ensure_properties("orders", [key_property_definition(KEY)])
    return hubspot_conn


def _inputs(n: int, prefix: str = "o") -> list[dict]:
    return [{"key": f"{prefix}-{i}", "properties": {"hs_order_name": f"Order {i}"}} for i in range(n)]


def _state(sandbox) -> dict[str, str]:
    dump = sandbox.dump("orders")
    keys = [r["properties"][KEY] for r in dump]
    assert len(keys) == len(set(keys)), "duplicates"
    return {r["properties"][KEY]: r["id"] for r in dump}


def _create_op(
    inputs: list[dict], output_dir, task_id: str = "create_orders", **kwargs
) -> HubSpotBatchOperator:
    """An orders ``create`` operator with the key property and an output directory."""
    return HubSpotBatchOperator(
        task_id=task_id,
        object_type="orders",
        action="create",
        inputs=inputs,
        key_property=KEY,
        output_dir=str(output_dir),
        **kwargs,
    )


def _rejected_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class FakeTaskStateStore:
    """Stands in for Airflow 3.3's ``context["task_state_store"]`` (needs a task runner to exist)."""

    def __init__(self) -> None:
        self.values: dict = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, *, retention=None):
        self.values[key] = json.loads(json.dumps(value))


def test_execute_with_a_list_returns_a_flat_id_map(sandbox, orders_ready, tmp_path):
    op = _create_op(_inputs(150), tmp_path)
    result = op.execute(context={})
    assert result == {
        "ids": _state(sandbox),
        "created": 150,
        "updated": 0,
        "existing": 0,
        "resumed": 0,
        "rejected": 0,
        "rejected_path": None,
    }
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in result["ids"].items())
    json.dumps(result)  # a plain JSON XCom


def test_inputs_from_a_jsonl_file_and_large_id_maps_as_a_url(sandbox, orders_ready, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW__HUBSPOT_COMMERCE__WORK_DIR", raising=False)
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in _inputs(120)))
    op = HubSpotBatchOperator(
        task_id="create_orders",
        object_type="orders",
        action="create",
        inputs=str(path),
        key_property=KEY,
        max_inline_ids=100,
    )
    result = op.execute(context={"run_id": "manual__2026-11-22"})
    expected = f"file://{tmp_path}/hubspot_commerce/adhoc_airflow/manual__2026-11-22/create_orders.ids.json"
    assert result["ids"] == expected, "the default output directory is the run's under work_dir"
    assert read_ids(result) == _state(sandbox)
    assert len(read_ids(result)) == 120


def test_inputs_and_outputs_on_object_storage(sandbox, orders_ready, s3_dir):
    """What a Celery or Kubernetes worker does: inputs, large id maps and rejections all on S3."""
    inputs = write_jsonl(
        storage_path(s3_dir) / "orders" / "create.jsonl",
        [*_inputs(120), {"key": "bad-1", "properties": {"nope": "1", "hs_order_name": "x"}}],
    )
    op = HubSpotBatchOperator(
        task_id="create_orders",
        object_type="orders",
        action="create",
        inputs=str(inputs),
        key_property=KEY,
        output_dir=f"{s3_dir}/orders",
        max_inline_ids=100,
        max_rejected_fraction=0.5,
    )
    result = op.execute(context={})
    assert result["ids"] == f"{s3_dir}/orders/create_orders.ids.json"
    assert read_ids(result) == _state(sandbox) and len(read_ids(result)) == 120
    assert result["rejected_path"] == f"{s3_dir}/orders/create_orders.rejected.jsonl"
    rejected = read_jsonl(storage_path(result["rejected_path"]))
    assert [(r["key"], r["code"]) for r in rejected] == [("bad-1", "PROPERTY_DOESNT_EXIST")]


def test_nothing_to_write_ends_as_skipped_without_a_request(sandbox, orders_ready):
    """A skipped task emits no event on its outlets: nothing downstream runs for a write that never was."""
    requests_before = sandbox.stats()["requests"]
    op = HubSpotBatchOperator(
        task_id="create_orders", object_type="orders", action="create", inputs=[], skip_if_empty=True
    )
    with pytest.raises(AirflowSkipException, match="no orders records to create"):
        op.execute(context={})
    assert sandbox.stats()["requests"] == requests_before


def test_read_action_maps_keys_to_ids(sandbox, orders_ready):
    created = HubSpotBatchOperator(
        task_id="c", object_type="orders", action="create", inputs=_inputs(5), key_property=KEY
    ).execute(context={})
    read = HubSpotBatchOperator(
        task_id="r", object_type="orders", action="read", inputs=["o-1", "o-3", "missing"], id_property=KEY
    ).execute(context={})
    assert read["ids"] == {"o-1": created["ids"]["o-1"], "o-3": created["ids"]["o-3"]}


def test_rejected_records_file_log_and_threshold(sandbox, orders_ready, tmp_path, caplog):
    inputs = [
        *_inputs(30),
        {"key": "bad-1", "properties": {"nope": "1", "hs_order_name": "x"}},
        {"no": "key"},
    ]
    op = _create_op(inputs, tmp_path)
    with caplog.at_level(logging.INFO), pytest.raises(HubSpotRejectedRecords) as caught:
        op.execute(context={})
    assert "2 of 32 orders records were rejected" in str(caught.value)
    assert len(_state(sandbox)) == 30  # every good record landed before the task failed
    lines = _rejected_lines(tmp_path / "create_orders.rejected.jsonl")
    by_key = {line["key"]: line for line in lines}
    assert set(by_key) == {"bad-1", "#31"}
    assert by_key["bad-1"]["code"] == "PROPERTY_DOESNT_EXIST" and "nope" in by_key["bad-1"]["message"]
    assert by_key["#31"]["code"] == "MALFORMED_INPUT"
    assert set(by_key["bad-1"]) == {"key", "category", "code", "message"}
    assert "2 orders records rejected" in caplog.text
    assert "rejected bad-1: VALIDATION_ERROR/PROPERTY_DOESNT_EXIST" in caplog.text
    assert "orders create: 1/1 batches" in caplog.text  # progress line

    lenient = _create_op(inputs, tmp_path, "create_orders_again", max_rejected_fraction=0.1)
    result = lenient.execute(context={})
    assert (result["existing"], result["rejected"]) == (30, 2)
    assert result["rejected_path"] == f"file://{tmp_path}/create_orders_again.rejected.jsonl"
    assert len(_state(sandbox)) == 30


def test_a_retried_task_resumes_without_resending_finished_batches(sandbox, orders_ready):
    store = FakeTaskStateStore()
    sandbox.fault(status=429, policy="DAILY", count=1, path="orders/batch/create")
    op = HubSpotBatchOperator(
        task_id="create_orders", object_type="orders", action="create", inputs=_inputs(2500), key_property=KEY
    )
    with pytest.raises(HubSpotDailyLimitReached):
        op.execute(context={"task_state_store": store})
    landed = _state(sandbox)
    assert 0 < len(landed) < 2500
    creates_before = sandbox.stats()["by_path"]["POST /crm/v3/objects/orders/batch/create"]

    retry = HubSpotBatchOperator(
        task_id="create_orders", object_type="orders", action="create", inputs=_inputs(2500), key_property=KEY
    )
    result = retry.execute(context={"task_state_store": store})
    assert result["resumed"] == len(landed)
    assert result["created"] == 2500 - len(landed)
    assert result["ids"] == _state(sandbox)
    assert len(result["ids"]) == 2500
    creates_after = sandbox.stats()["by_path"]["POST /crm/v3/objects/orders/batch/create"]
    # only the batches that had not landed were sent again (landed ones are whole batches of 100)
    assert creates_after - creates_before == (2500 - len(landed)) // 100


def test_the_token_never_reaches_logs_or_errors(sandbox, monkeypatch, caplog, capsys):
    secret = "pat-na1-SECRET-TOKEN-VALUE-123"
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps({"conn_type": "hubspot", "host": sandbox.url, "password": secret}),
    )
    op = HubSpotBatchOperator(task_id="t", object_type="orders", action="create", inputs=_inputs(3))
    with caplog.at_level(logging.DEBUG), pytest.raises(HubSpotAuthError) as caught:
        op.execute(context={})
    assert caught.value.status == 401
    captured = capsys.readouterr()
    for text in (str(caught.value), repr(caught.value), caplog.text, captured.out, captured.err):
        assert secret not in text
    assert secret not in json.dumps([getattr(op, name) for name in op.template_fields])
    assert sandbox.stats()["requests"] == 1  # a bad token is not retried


def test_a_task_stopped_by_a_non_hubspot_error_keeps_its_checkpoint(sandbox, orders_ready, monkeypatch):
    """A task timeout (or any other exception) mid-call must not lose the ids of batches that landed."""
    store = FakeTaskStateStore()
    op = HubSpotBatchOperator(
        task_id="create_orders", object_type="orders", action="create", inputs=_inputs(150), key_property=KEY
    )
    real_write = op.hook.batch_write

    def write_then_time_out(spec, records, **kwargs):
        landed = real_write(spec, list(records)[:100], **kwargs)
        assert len(landed.ids) == 100
        raise TimeoutError("execution_timeout")  # what Airflow raises in the task's thread

    monkeypatch.setattr(op.hook, "batch_write", write_then_time_out)
    with pytest.raises(TimeoutError):
        op.execute(context={"task_state_store": store})
    assert store.get("ids.chunks") == 1
    assert store.get("ids.0") == _state(sandbox)
    assert len(store.get("ids.0")) == 100


def test_a_task_stopped_by_the_daily_limit_still_writes_what_hubspot_refused(sandbox, orders_ready, tmp_path):
    inputs = _inputs(300)
    for i in (0, 100, 200):  # one bad input in every batch, whichever batch goes out first
        inputs[i]["properties"]["no_such_property"] = "x"
    sandbox.set_limits(daily_limit=1)  # the first request is answered, the next ones meet the daily limit
    op = _create_op(inputs, tmp_path)
    with pytest.raises(HubSpotDailyLimitReached):
        op.execute(context={})
    assert len(_state(sandbox)) == 99
    lines = _rejected_lines(tmp_path / "create_orders.rejected.jsonl")
    assert len(lines) == 1
    assert lines[0]["key"] in {"o-0", "o-100", "o-200"}
    assert lines[0]["code"] == "PROPERTY_DOESNT_EXIST"
