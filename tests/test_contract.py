"""The contract between the sync's tasks: task ids, write actions, result keys, the ids XCom value read and
written both ways, and the sync importing nothing from the operators."""

from __future__ import annotations

import ast
from pathlib import Path

from hubspot_commerce.contract import (
    MAX_INLINE_IDS,
    IdsValue,
    RunStorage,
    count_key,
    parse_result_key,
    read_ids,
    result_key,
    stream_task_ids,
    task_id,
    write_actions,
)
from hubspot_commerce.storage import write_json, write_jsonl
from hubspot_commerce.sync.mapping import load_mapping

PACKAGE = Path(__file__).resolve().parents[1] / "plugins" / "hubspot_commerce"


def test_upsert_streams_have_one_write_and_the_others_a_create_and_an_update() -> None:
    streams = load_mapping().streams
    assert write_actions(streams["products"]) == ("upsert",)
    assert write_actions(streams["orders"]) == ("create", "update")
    assert [task_id(a, "orders") for a in write_actions(streams["orders"])] == [
        "create_orders",
        "update_orders",
    ]


def test_a_streams_tasks_in_the_order_they_run() -> None:
    assert stream_task_ids("carts") == (
        "prepare_carts", "upsert_carts", "create_carts", "update_carts", "mirror_carts",
    )  # fmt: skip


def test_result_keys_name_a_stream_and_an_action() -> None:
    assert result_key("orders", "mirror") == "orders.mirror"
    assert parse_result_key("orders.create") == ("orders", "create")
    assert parse_result_key("extract") is None and parse_result_key("validate") is None
    assert count_key("orders", "rejected") == "orders.rejected"


def test_ids_travel_inline_up_to_the_limit_and_by_url_above_it(tmp_path: Path) -> None:
    pairs = [("1", "11"), ("2", "12")]
    path = tmp_path / "ids.jsonl"

    def file() -> Path:
        return write_jsonl(path, ({"key": k, "id": i} for k, i in pairs))

    inline = IdsValue.of(2, lambda: pairs, file, max_inline=2)
    assert inline.to_xcom() == {"ids": {"1": "11", "2": "12"}} and not path.exists()
    by_url = IdsValue.of(2, lambda: pairs, file, max_inline=1)
    assert by_url.ids == str(path) and read_ids(by_url.to_xcom()) == {"1": "11", "2": "12"}
    assert MAX_INLINE_IDS == 10_000


def test_ids_are_read_from_a_json_map_and_as_strings(tmp_path: Path) -> None:
    path = write_json(RunStorage.for_run(f"file://{tmp_path}", "sync", "run").root / "ids.json", {"3": 13})
    assert list(IdsValue.from_xcom({"ids": str(path), "created": 1}).pairs()) == [("3", "13")]
    assert list(IdsValue({"4": "14"}).pairs()) == [("4", "14")]


def test_the_run_storage_layout() -> None:
    files = RunStorage.for_run("file:///work", "sync", "manual__2026-11-28T10:00:00+00:00")
    run = str(files.root)
    assert str(files.write_input("orders", "create")) == f"{run}/orders/create.jsonl"
    assert str(files.rejected("orders", "plan")) == f"{run}/orders/rejected-plan.jsonl"
    assert str(files.source("orders")) == f"{run}/source/orders.parquet"
    assert str(files.archive_list) == f"{run}/archive-list.jsonl"


def test_the_sync_imports_nothing_from_the_operators() -> None:
    """The sync and the operator share the contract module; neither reaches into the other's modules (the
    DAG factory, ``sync_dag.py``, wires the operator between the sync's tasks from outside ``sync/``)."""
    offending = []
    paths = sorted((PACKAGE / "sync").rglob("*.py"))
    assert len(paths) > 15, "the sync package should be found"
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            offending += [f"{path.name}: {n}" for n in names if n.startswith("hubspot_commerce.operators")]
    assert offending == []
