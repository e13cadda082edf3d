"""HubSpotBatchOperator against the sandbox: XCom shape, file inputs, rejected records, resume, secrets."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from airflow.sdk.exceptions import AirflowSkipException, TaskDeferred
from task_state_store import FakeTaskStateStore

from hubspot_commerce.client.api_paths import ApiPaths
from hubspot_commerce.client.crm_properties import key_property_definition
from hubspot_commerce.contract import read_ids
from hubspot_commerce.errors import (
    HubSpotAuthError,
    HubSpotRejectedRecords,
    HubSpotUnavailable,
    HubSpotUncertainWrites,
)
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.operators import batch_inputs
from hubspot_commerce.operators import resume as resume_module
from hubspot_commerce.operators.batch import HubSpotBatchOperator
from hubspot_commerce.storage import read_jsonl, storage_path, write_jsonl
from hubspot_sandbox.process import SandboxProcess

KEY = "src_key"
UPSERT_PATH = "POST /crm/objects/2026-09/products/batch/upsert"
ORDERS_CREATE = f"POST /{ApiPaths().batch('orders', 'create')}"  # the sandbox's stats label, default version


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
        "not_attempted": 0,
        "not_attempted_path": None,
        "existing_path": None,
        "quota": result["quota"],
        "deferred_until": [],
    }
    assert result["quota"]["needed"] == 2 and result["quota"]["available"] > 2
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
    expected = f"file://{tmp_path}/hubspot_commerce/adhoc_airflow/manual__2026-11-22/create_orders.ids.jsonl"
    assert result["ids"] == expected, "the default output directory is the run's under work_dir"
    assert read_ids(result) == _state(sandbox)
    assert len(read_ids(result)) == 120
    lines = read_jsonl(storage_path(expected))
    assert [set(line) for line in lines] == [{"key", "id"}] * 120, "one {key, id} object a line"


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
    assert result["ids"] == f"{s3_dir}/orders/create_orders.ids.jsonl"
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


def test_a_task_stopped_by_a_non_hubspot_error_keeps_its_checkpoint(
    sandbox, orders_ready, tmp_path, monkeypatch
):
    """A task timeout (or any other exception) mid-call must not lose the ids of batches that landed: they
    are in a part file the store counts, and the next try sends only the rest."""
    store = FakeTaskStateStore()
    op = _create_op(_inputs(150), tmp_path)
    real_write = op.hook.batch_write

    def write_then_time_out(spec, records, **kwargs):
        landed = real_write(spec, list(records)[:100], **kwargs)
        assert (landed.created, landed.ids) == (100, {}), "the ids went to the operator's files, not here"
        raise TimeoutError("execution_timeout")  # what Airflow raises in the task's thread

    monkeypatch.setattr(op.hook, "batch_write", write_then_time_out)
    with pytest.raises(TimeoutError):
        op.execute(context={"task_state_store": store})
    assert store.values == {"ids.parts": 1}, "the checkpoint holds a count, not the ids"
    part = read_jsonl(storage_path(tmp_path / "create_orders.ids" / "part-00000.jsonl"))
    assert {row["key"]: row["id"] for row in part} == _state(sandbox) and len(part) == 100

    creates_before = sandbox.stats()["by_path"].get(ORDERS_CREATE, 0)
    result = _create_op(_inputs(150), tmp_path).execute(context={"task_state_store": store})
    assert (result["created"], result["resumed"], result["existing"]) == (50, 100, 0)
    assert sandbox.stats()["by_path"].get(ORDERS_CREATE, 0) - creates_before == 1, "only the last 50 sent"
    assert result["ids"] == _state(sandbox) and len(result["ids"]) == 150, "every order once"


def test_a_task_stopped_by_the_daily_limit_still_writes_what_hubspot_refused(sandbox, orders_ready, tmp_path):
    inputs = _inputs(300)
    for i in (0, 100, 200):  # one bad input in every batch, whichever batch goes out first
        inputs[i]["properties"]["no_such_property"] = "x"
    sandbox.set_limits(daily_limit=2)  # the quota check takes one request: one batch fits, then the reset
    op = _create_op(inputs, tmp_path, quota_reserve=0)
    with pytest.raises(TaskDeferred):
        op.execute(context={})
    assert len(_state(sandbox)) == 99
    lines = _rejected_lines(tmp_path / "create_orders.rejected.jsonl")
    assert len(lines) == 1
    assert lines[0]["key"] in {"o-0", "o-100", "o-200"}
    assert lines[0]["code"] == "PROPERTY_DOESNT_EXIST"


def _quick_retries(op: HubSpotBatchOperator) -> HubSpotBatchOperator:
    """The engine's backoff shortened so that eight failed attempts take a moment, not a minute."""
    op.hook.engine.backoff_s, op.hook.engine.max_backoff_s = 0.01, 0.02
    return op


def _upsert_products(n: int) -> HubSpotBatchOperator:
    inputs = [{"key": f"p{i}", "id": f"SKU-{i}", "properties": {"name": f"P{i}"}} for i in range(n)]
    op = HubSpotBatchOperator(
        task_id="upsert_products",
        object_type="products",
        action="upsert",
        inputs=inputs,
        id_property="hs_sku",
    )
    return _quick_retries(op)


def test_an_outage_mid_upsert_is_retried_by_the_next_try_never_rejected(sandbox, hubspot_conn, tmp_path):
    """HubSpot writes what it gets but no answer comes back: the try ends unavailable (retryable), names
    the cause in full, rejects nothing; the next try completes with no duplicate."""
    store = FakeTaskStateStore()
    sandbox.fault(kind="drop_after_commit", count=1000, path="/batch/")  # the quota check is answered
    first = _upsert_products(250)
    first.output_dir = str(tmp_path)
    with pytest.raises(HubSpotUnavailable) as caught:
        first.execute(context={"task_state_store": store})
    assert "no answer from HubSpot (" in str(caught.value) and "gave up after 8 attempts" in str(caught.value)
    assert list(tmp_path.iterdir()) == [], "no rejected-records file: HubSpot refused nothing"
    sandbox.clear_faults()
    result = _upsert_products(250).execute(context={"task_state_store": store})
    skus = [r["properties"]["hs_sku"] for r in sandbox.dump("products")]
    assert sorted(skus) == sorted(f"SKU-{i}" for i in range(250)), "every product once"
    assert (result["rejected"], len(result["ids"])) == (0, 250)


def test_creates_in_doubt_are_read_back_by_the_next_try_before_anything_is_resent(
    sandbox, orders_ready, tmp_path
):
    """Creates HubSpot committed while every answer was lost, and the read-backs too: they stay in doubt,
    not rejected; the next try finds them by their keys and sends no create for them."""
    store = FakeTaskStateStore()
    sandbox.fault(kind="drop_after_commit", count=1000, path="/batch/")
    with pytest.raises(HubSpotUnavailable):
        _quick_retries(_create_op(_inputs(150), tmp_path)).execute(context={"task_state_store": store})
    in_doubt = store.get("in_doubt.0")
    assert in_doubt and set(in_doubt) <= {f"o-{i}" for i in range(150)}
    committed = _state(sandbox)
    assert set(in_doubt) <= set(committed), "the lost answers were for creates HubSpot did write"
    sandbox.clear_faults()
    creates_before = sandbox.stats()["by_path"].get(ORDERS_CREATE, 0)
    result = _create_op(_inputs(150), tmp_path).execute(context={"task_state_store": store})
    assert result["ids"] == _state(sandbox) and len(result["ids"]) == 150, "every order once"
    assert (result["rejected"], result["resumed"]) == (0, len(committed))
    creates = sandbox.stats()["by_path"].get(ORDERS_CREATE, 0) - creates_before
    assert creates == -(-(150 - len(committed)) // 100), "only what HubSpot did not have was created"


def test_creates_without_a_key_property_that_got_no_answer_fail_as_in_doubt(sandbox, orders_ready, tmp_path):
    sandbox.fault(kind="drop_after_commit", count=1, path="orders/batch/create")
    op = HubSpotBatchOperator(
        task_id="create_orders", object_type="orders", action="create", inputs=_inputs(3),
        output_dir=str(tmp_path),
    )  # fmt: skip
    with pytest.raises(HubSpotUncertainWrites, match="3 of 3 orders creates got no answer") as caught:
        op.execute(context={})
    assert "were not resent so that none is duplicated" in str(caught.value)
    assert [row["key"] for row in read_jsonl(storage_path(tmp_path / "create_orders.in_doubt.jsonl"))] == [
        "o-0", "o-1", "o-2"
    ]  # fmt: skip
    assert len(sandbox.dump("orders")) == 3, "written once, never resent"


def test_hubspot_down_mid_upsert_fails_the_try_as_an_outage_and_the_next_try_completes(monkeypatch):
    """The sandbox process is stopped (SIGSTOP) while an upsert runs and started again after the try gave up:
    nothing is rejected, the retry writes the rest, and every product exists once."""
    with SandboxProcess(tokens=["outage-token"], rate_limit=1_000_000) as hubspot:
        connection = {"conn_type": "hubspot", "host": hubspot.url, "password": "outage-token"}
        connection["extra"] = {"timeout": 1}
        monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(connection))
        store = FakeTaskStateStore()
        first = _upsert_products(2000)
        first.max_workers = first.hook.engine.max_workers = 2  # slow enough to be caught mid-call

        def stop_hubspot_after_the_first_batches() -> None:
            while hubspot.stats()["by_path"].get(UPSERT_PATH, 0) < 3:
                time.sleep(0.01)
            hubspot.freeze()

        threading.Thread(target=stop_hubspot_after_the_first_batches, daemon=True).start()
        with pytest.raises(HubSpotUnavailable, match="ReadTimeoutError") as caught:
            first.execute(context={"task_state_store": store})
        hubspot.thaw()
        assert caught.value.partial_outcome is not None and caught.value.partial_outcome.rejected == []
        assert store.get("ids.parts", 0) > 0, "what landed is kept"
        result = _upsert_products(2000).execute(context={"task_state_store": store})
        assert result["resumed"] > 0, "what landed before the outage is not sent again"
        skus = [record["properties"]["hs_sku"] for record in hubspot.dump("products")]
    assert (result["rejected"], len(result["ids"])) == (0, 2000)
    assert sorted(skus) == sorted(f"SKU-{i}" for i in range(2000)), "every product exactly once"


def test_a_jsonl_line_that_is_not_json_is_refused_as_that_input_and_the_rest_lands(
    sandbox, orders_ready, tmp_path
):
    path = tmp_path / "orders.jsonl"
    lines = [json.dumps(item) for item in _inputs(5)]
    lines[2] = '{"key": "o-2", "properties": {"hs_order_name": '  # cut off mid-line
    path.write_text("\n".join(lines) + "\n")
    op = _create_op(str(path), tmp_path / "out", max_rejected_fraction=0.5)
    result = op.execute(context={})
    assert (result["created"], result["rejected"]) == (4, 1)
    assert sorted(_state(sandbox)) == ["o-0", "o-1", "o-3", "o-4"]
    (refused,) = read_jsonl(storage_path(result["rejected_path"]))
    assert (refused["key"], refused["code"]) == ("#2", "MALFORMED_INPUT")
    assert refused["message"].startswith(f"line 3 of file://{path} is not JSON")


def test_an_input_file_is_read_as_batches_land_never_far_ahead(sandbox, orders_ready, tmp_path, monkeypatch):
    """3,000 inputs from a file, 2 workers: at every create, the file has been read at most the batches in
    flight (4) ahead of the answers, never whole."""
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in _inputs(3_000)))
    read: list[int] = []  # lines read by each pass over the file
    real_json_lines = batch_inputs._json_lines

    def counting_json_lines(location):
        read.append(0)
        for item in real_json_lines(location):
            read[-1] += 1
            yield item

    monkeypatch.setattr(batch_inputs, "_json_lines", counting_json_lines)
    op = _create_op(str(path), tmp_path / "out", max_workers=2)
    send, answered, ahead = op.hook.engine.transport, [0], []

    def noting_send(method, endpoint, payload):
        creating = endpoint.endswith("orders/batch/create")
        if creating:
            ahead.append(read[-1] - 100 * answered[0])
        response = send(method, endpoint, payload)
        answered[0] += creating
        return response

    op.hook.engine.transport = noting_send
    result = op.execute(context={})
    assert result["created"] == 3_000 and len(read_ids(result)) == 3_000 == len(_state(sandbox))
    assert read[-1] == 3_000 and len(ahead) == 30
    assert max(ahead) <= op.hook.engine.max_in_flight * 100 == 400, ahead


def test_the_checkpoint_counts_id_parts_and_a_retry_resumes_from_them(
    sandbox, orders_ready, tmp_path, monkeypatch
):
    """Ids go to part files as batches land (100 a part here); the task state store holds one number
    whatever the write's size; the next try reads the parts, sends only the rest, and the XCom's id file
    holds every id once."""
    monkeypatch.setattr(resume_module, "PART_IDS", 100)
    store = FakeTaskStateStore()
    sandbox.fault(kind="delay", delay_ms=1, count=5, path="orders/batch/create")  # five creates land,
    sandbox.fault(status=403, count=1000, path="orders/batch/create")  # then the token loses its scope
    first = _create_op(_inputs(1_000), tmp_path, max_workers=2, max_inline_ids=500)
    with pytest.raises(HubSpotAuthError):
        first.execute(context={"task_state_store": store})
    assert store.values == {"ids.parts": 5, "in_doubt.chunks": 0}
    parts = sorted((tmp_path / "create_orders.ids").iterdir())
    assert [part.name for part in parts] == [f"part-0000{n}.jsonl" for n in range(5)]
    assert {row["key"]: row["id"] for part in parts for row in read_jsonl(storage_path(part))} == _state(
        sandbox
    )

    sandbox.clear_faults()
    creates_before = sandbox.stats()["by_path"].get(ORDERS_CREATE, 0)
    result = _create_op(_inputs(1_000), tmp_path, max_inline_ids=500).execute(
        context={"task_state_store": store}
    )
    assert (result["created"], result["resumed"], result["existing"], result["rejected"]) == (500, 500, 0, 0)
    assert sandbox.stats()["by_path"].get(ORDERS_CREATE, 0) - creates_before == 5, "only the other 500"
    assert result["ids"] == f"file://{tmp_path}/create_orders.ids.jsonl"
    rows = read_jsonl(storage_path(result["ids"]))
    assert len(rows) == 1_000 and {row["key"]: row["id"] for row in rows} == _state(sandbox)
    assert store.values["ids.parts"] == 10
