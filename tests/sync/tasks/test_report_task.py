"""The report task: the report written, rejections collected, row copies dropped; a failed run reported with
what did not finish, counts that add up, and, last, the cause and what to clear."""

from __future__ import annotations

import pandas as pd

from hubspot_commerce.errors import HubSpotRejectedRecords, SyncConfigurationError
from hubspot_commerce.storage import read_jsonl, storage_path, write_json, write_jsonl, write_table
from hubspot_commerce.sync.cause import TaskFailure
from hubspot_commerce.sync.run_options import RunOptions
from hubspot_commerce.sync.tasks.report_task import report_step
from hubspot_commerce.sync.tasks.task_context import RunContext


def _report(mapping, files, states: dict[str, str], writes: dict) -> tuple[str, list[TaskFailure]]:
    for name in mapping.streams:
        if states.get(f"prepare_{name}") == "success":
            write_json(
                files.plan(name), {"create": 1, "update": 0, "unchanged": 2, "rejected": 0, "written": True}
            )
        write_table(files.source(name), pd.DataFrame({"key": ["1"]}))
    write_jsonl(files.rejected("orders", "validate"), [{"stream": "orders", "key": "9", "reason": "bad"}])
    validation = {**{f"{name}.extracted": "3" for name in mapping.streams}, "orders.rejected": "1"}
    options = RunOptions(objects=tuple(mapping.streams), dry_run=False)
    results = {"extract": {"window": "full refresh"}, "validate": validation, **writes}
    return report_step(RunContext(mapping, files, options), results, states)


def _line(text: str, stream: str) -> list[str]:
    return next(line for line in text.splitlines() if line.startswith(f"{stream} ")).split()


def test_report_writes_the_report_collects_rejections_and_drops_row_copies(mapping, files):
    states = {f"prepare_{name}": "success" for name in mapping.streams}
    writes = {"orders.create": {"created": 1, "rejected": 0}, "orders.update": None}
    text, failed = _report(mapping, files, states, writes)
    assert failed == []
    assert files.report.read_text() == text + "\n"
    assert _line(text, "orders")[2:] == ["3", "1", "0", "2", "1", "0"]
    assert read_jsonl(files.all_rejected) == [{"stream": "orders", "key": "9", "reason": "bad"}]
    assert not files.source("orders").exists(), "the run's copies of rows are gone"
    assert storage_path(str(files.report)).exists()


def test_a_failed_run_is_reported_with_what_did_not_finish_and_what_to_clear(mapping, files):
    """``create_orders`` failed: its lines and payments never ran; products and carts finished."""
    states = {f"prepare_{name}": "success" for name in ("products", "contacts", "orders", "carts")}
    states |= {"create_orders": "failed", "update_orders": "success", "upsert_products": "success"}
    states |= {"prepare_order_line_items": "upstream_failed", "create_order_line_items": "upstream_failed"}
    states |= {"prepare_payments": "upstream_failed"}
    writes = {"orders.create": None, "products.upsert": {"created": 2, "rejected": 0}}
    refused = HubSpotRejectedRecords("2 of 3 orders records were rejected (allowed fraction 0.01); 1 landed")
    TaskFailure.of("create_orders", refused).save(files)  # as the task's failure callback does
    text, failed = _report(mapping, files, states, writes)
    assert failed == [TaskFailure.of("create_orders", refused)]
    assert _line(text, "orders")[-2:] == ["(FAILED:", "create_orders)"]
    assert "(not run: an earlier task failed)" in " ".join(_line(text, "order_line_items"))
    assert "(not run: an earlier task failed)" in " ".join(_line(text, "payments"))
    assert _line(text, "products")[2:] == ["3", "2", "0", "2", "0", "0"]
    assert text.splitlines()[-5:] == [
        "THE RUN IS INCOMPLETE: create_orders failed.",
        "create_orders: HubSpotRejectedRecords: 2 of 3 orders records were rejected (allowed fraction 0.01); "
        "1 landed",
        "  fix: fix the records HubSpot refused (its rejected-records file has why)",
        "Then clear create_orders with its downstream tasks (Clear, with 'Downstream'): records that landed",
        "are not written again, and the report is written anew.",
    ]
    assert files.source("orders").exists(), "kept: clearing the failed task needs the run's rows"


def test_a_run_whose_validate_failed_counts_what_extract_read_as_unfinished_and_ends_with_the_cause(
    mapping, files
):
    """extract read every stream, validate failed on the mapping: nothing was planned or written, the
    extracted rows are all unfinished (so every line adds up), and the report's last lines say why."""
    states = {"setup": "success", "extract": "success", "validate": "failed"}
    states |= {f"prepare_{name}": "upstream_failed" for name in mapping.streams}
    extraction = {
        "window": "full refresh",
        **{name: str(10 * (i + 1)) for i, name in enumerate(mapping.streams)},
    }
    error = SyncConfigurationError(
        "the mapping does not fit the portal (1 problems): products: no warehouse_bin"
    )
    TaskFailure.of("validate", error).save(files)
    options = RunOptions(objects=tuple(mapping.streams), dry_run=False)
    text, failed = report_step(RunContext(mapping, files, options), {"extract": extraction}, states)
    for i, name in enumerate(mapping.streams):
        line = _line(text, name)
        assert line[2:8] == [str(10 * (i + 1)), "0", "0", "0", "0", str(10 * (i + 1))], name
        assert " ".join(line[8:]) == "(not run: an earlier task failed)"
    assert text.splitlines()[-4:-2] == [
        "validate: SyncConfigurationError: the mapping does not fit the portal (1 problems): products: "
        "no warehouse_bin",
        "  fix: correct what it names (a SQL file, the mapping or the portal)",
    ]
    assert text.splitlines()[-2].startswith("Then clear validate with its downstream tasks")
    assert [failure.task for failure in failed] == ["validate"]
