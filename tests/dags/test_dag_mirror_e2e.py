"""Mirror mode end to end: the real DAG with ``mirror: true`` on orders and their lines, against the sandbox.

The DAG file is the project's own; the mapping and queries come from Airflow's configuration
(``[hubspot_commerce] mapping_path`` and ``sql_dir``), as a user points the DAG at theirs: the default
mapping with orders mirrored (soft deletes through ``deleted_at``) and order lines mirrored. A mass archive's
question is answered through the REST API of a real ``airflow api-server`` on the tests' metadata DB, while
``dag.test`` keeps the run waiting for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from test_dag_commerce_sync_e2e import KEY, assert_hubspot_matches_store, by_key, rows, run

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.storage import read_jsonl
from hubspot_commerce.sync.resources import include_path
from hubspot_commerce_lab.distributed.airflow_api import AirflowApi, AirflowApiError
from hubspot_commerce_lab.distributed.processes import ManagedProcess, free_port, wait_until

pytestmark = [pytest.mark.usefixtures("airflow_db", "hubspot_conn"), pytest.mark.timeout(300)]
DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = "hubspot_commerce_sync"
OBJECT_TYPES = {"orders": "orders", "order_line_items": "line_items", "payments": "commerce_payments"}


class HitlApi(AirflowApi):
    """The REST API's human-in-the-loop endpoints, as a person answering from elsewhere uses them, on the
    API server ``server`` (logged in as admin once it is up)."""

    def __init__(self, base_url: str, server: ManagedProcess) -> None:
        super().__init__(base_url, "admin", "admin")
        self.server = server

    def wait_ready(self) -> None:
        """Wait for the server's start-up, which goes on beside the test's first run; then log in."""
        if "Authorization" not in self.session.headers:
            wait_until(lambda: self.server.alive() and self.logged_in(), 120, "the API server")

    def logged_in(self) -> bool:
        try:
            self.login()
        except (requests.RequestException, AirflowApiError):  # not up yet
            return False
        return True

    def questions(self, run_id: str = "~", **filters: Any) -> list[dict]:
        """The run's HITL details (``~``: every run's), with their task instance."""
        self.wait_ready()
        path = f"/dags/{DAG_ID}/dagRuns/{run_id}/hitlDetails"
        return list(self.call("GET", path, params=filters)["hitl_details"])

    def answer(self, run_id: str, option: str) -> dict:
        path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/approve_archive/-1/hitlDetails"
        return self.call("PATCH", path, json={"chosen_options": [option], "params_input": {}})


@pytest.fixture(scope="module")
def api_server(airflow_db: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HitlApi]:
    """A real ``airflow api-server`` (core API only) on the tests' metadata DB, as admin; started here and
    waited for on first use."""
    home = tmp_path_factory.mktemp("api-server")
    (home / "passwords.json").write_text(json.dumps({"admin": "admin"}))
    env = {
        **os.environ,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
    }
    port = free_port()
    command = [str(Path(sys.executable).with_name("airflow")), "api-server", "--apps", "core"]
    server = ManagedProcess.start(
        "api-server", [*command, "--port", str(port), "--workers", "1"], env, home, home / "api-server.log"
    )
    try:
        yield HitlApi(f"http://127.0.0.1:{port}", server)
    finally:
        server.stop(timeout=20)


class Answerer(threading.Thread):
    """Answers the first question approve_archive waits on, over the REST API, while the run waits."""

    def __init__(self, api: HitlApi, option: str) -> None:
        super().__init__(daemon=True)
        self.api, self.option = api, option
        self.question: dict | None = None
        self.error: Exception | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        since = datetime.now(UTC).isoformat()  # not a question an aborted earlier test left waiting
        try:
            while not self.stop.is_set():
                waiting = self.api.questions(
                    task_id="approve_archive", state="awaiting_input", created_at_gte=since
                )
                if waiting:
                    self.question = waiting[0]
                    self.api.answer(self.question["task_instance"]["dag_run_id"], self.option)
                    return
                time.sleep(0.5)
        except Exception as error:  # reported by run_answering, in the test's thread
            self.error = error


def run_answering(dag: Any, api: HitlApi, option: str) -> tuple[RunStorage, dict]:
    """A full-refresh run whose question is answered ``option`` over the REST API; its files and question."""
    api.wait_ready()
    answerer = Answerer(api, option)
    answerer.start()
    try:
        files = run(dag, {"full_refresh": True})
    finally:
        answerer.stop.set()
        answerer.join(10)
    assert answerer.error is None, answerer.error
    assert answerer.question is not None, "the run asked nothing"
    return files, answerer.question


def latest_run_id(api: HitlApi) -> str:
    runs = api.call("GET", f"/dags/{DAG_ID}/dagRuns", params={"order_by": "-run_after", "limit": 1})
    return str(runs["dag_runs"][0]["dag_run_id"])


@pytest.fixture
def mirror_dag(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sync DAG with orders (soft deletes in ``deleted_at``, a new column of the store's orders), order
    lines and payments mirrored."""
    mapping = include_path("mappings", "commerce.yaml").read_text()
    mapping = mapping.replace(
        '    key: "{order_id}"\n', '    key: "{order_id}"\n    mirror: true\n    deleted_column: deleted_at\n'
    )
    mapping = mapping.replace(
        '    key: "order:{order_id}:{line_number}"\n',
        '    key: "order:{order_id}:{line_number}"\n    mirror: true\n',
    )
    mapping = mapping.replace('    key: "{payment_id}"\n', '    key: "{payment_id}"\n    mirror: true\n')
    assert mapping.count("mirror: true") == 3
    (tmp_path / "mapping.yaml").write_text(mapping)
    sql_dir = tmp_path / "sql"
    shutil.copytree(include_path("sql"), sql_dir)
    orders_sql = sql_dir / "orders.sql"
    orders_sql.write_text(
        orders_sql.read_text().replace("placed_at, updated_at", "placed_at, updated_at, deleted_at")
    )
    with sqlite3.connect(store) as db:
        db.execute("ALTER TABLE orders ADD COLUMN deleted_at TEXT")
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__MAPPING_PATH", str(tmp_path / "mapping.yaml"))
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__SQL_DIR", str(sql_dir))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["hubspot_commerce_sync"]
    assert {"mirror_orders", "mirror_order_line_items", "mirror_payments"} <= set(dag.task_ids)
    for task in dag.tasks:
        task.retries = 0
    return dag


def delete_orders(store: Path, order_ids: list[int]) -> None:
    """Delete orders from the source with their lines and payments (a hard delete)."""
    marks = ",".join("?" * len(order_ids))
    with sqlite3.connect(store) as db:
        for table in ("order_lines", "payments", "orders"):
            db.execute(f"DELETE FROM {table} WHERE order_id IN ({marks})", order_ids)


def order_contacts(sandbox: Any) -> dict[str, set[str]]:
    """Each order's source key -> the HubSpot ids of the contacts it is linked to."""
    return {
        record["properties"][KEY]: set(record["associations"].get("contacts", []))
        for record in sandbox.dump("orders")
    }


def mirrored(files: Any, stream: str) -> list[dict]:
    return [json.loads(line) for line in files.mirrored(stream).read_text().splitlines()]


def deleted_records(store: Path, sandbox: Any, order_ids: list[int]) -> dict[str, dict[str, str]]:
    """Per mirror stream, the source keys of the orders' rows (the orders, their lines, their payments) and
    the HubSpot ids of their records."""
    marks = ",".join("?" * len(order_ids))
    lines = rows(store, f"SELECT * FROM order_lines WHERE order_id IN ({marks})", *order_ids)
    payments = rows(store, f"SELECT * FROM payments WHERE order_id IN ({marks})", *order_ids)
    keys = {
        "orders": {str(order_id) for order_id in order_ids},
        "order_line_items": {f"order:{r['order_id']}:{r['line_number']}" for r in lines},
        "payments": {str(r["payment_id"]) for r in payments},
    }
    records = {name: by_key(sandbox.dump(kind)) for name, kind in OBJECT_TYPES.items()}
    return {name: {key: records[name][key]["id"] for key in keys[name]} for name in OBJECT_TYPES}


def held_ids(sandbox: Any) -> dict[str, set[str]]:
    """The HubSpot ids of the mirror streams' records the sandbox holds, per object type."""
    return {kind: {record["id"] for record in sandbox.dump(kind)} for kind in OBJECT_TYPES.values()}


def listed_ids(files: RunStorage) -> dict[str, set[str]]:
    """The HubSpot ids in the run's list of records to archive, per object type."""
    listed: dict[str, set[str]] = {kind: set() for kind in OBJECT_TYPES.values()}
    for row in read_jsonl(files.archive_list):
        listed[OBJECT_TYPES[row["stream"]]].add(row["id"])
    return listed


def assert_question(question: dict, files: RunStorage, expected: dict[str, dict[str, str]]) -> None:
    """The question as the REST API shows it: Archive or Keep (Keep by default), the count of every record
    to archive, per stream its count of all and a sample, and the list, which names exactly the deleted
    rows' records (``expected``: per stream, source key -> the HubSpot id it had)."""
    assert (question["options"], question["defaults"], question["assigned_users"]) == (
        ["Archive", "Keep"], ["Keep"], []
    )  # fmt: skip
    total = sum(len(ids) for ids in expected.values())
    assert question["subject"] == f"Archive {total} HubSpot records whose rows the source deleted?"
    listed = read_jsonl(files.archive_list)
    assert {name: {r["key"]: r["id"] for r in listed if r["stream"] == name} for name in expected} == expected
    body = question["body"]
    assert f"Every record (JSON lines: stream, key, id): `{files.archive_list}`" in body
    sample = ", ".join(f"`{key}` → `{id_}`" for key, id_ in sorted(expected["orders"].items())[:5])
    assert f"| orders | orders | 20 (over the guard) | 60 | {sample}, … |" in body
    assert "Without an answer within 12 hours, the run keeps them (Keep)." in body


def test_mirror_archives_deleted_orders_and_unlinks_a_moved_orders_old_contact(
    mirror_dag, store, sandbox, monkeypatch
) -> None:
    """Prepare plans 7 rows at a time here: the archive and unlink plans gather across its chunks."""
    monkeypatch.setattr("hubspot_commerce.sync.tasks.task_context.CHUNK_ROWS", 7)
    run(mirror_dag, {"full_refresh": True})
    contacts = {r["properties"]["email"]: r["id"] for r in sandbox.dump("contacts")}
    customers = {
        r["customer_id"]: contacts[r["email"].lower()] for r in rows(store, "SELECT * FROM customers")
    }
    deleted, moved = 100004, rows(store, "SELECT * FROM orders WHERE customer_id IS NOT NULL LIMIT 1")[0]
    new_customer = next(c for c in customers if c != moved["customer_id"])
    deleted_lines = {
        f"order:{deleted}:{r['line_number']}"
        for r in rows(store, "SELECT * FROM order_lines WHERE order_id = ?", deleted)
    }
    assert deleted_lines and str(deleted) in order_contacts(sandbox)
    deleted_payments = len(rows(store, "SELECT 1 FROM payments WHERE order_id = ?", deleted))
    delete_orders(store, [deleted])
    with sqlite3.connect(store) as db:
        db.execute("UPDATE orders SET customer_id = ? WHERE order_id = ?", (new_customer, moved["order_id"]))
    before = sandbox.stats()["write_requests"]

    files = run(mirror_dag, {"full_refresh": True, "dry_run": True})
    assert sandbox.stats()["write_requests"] == before, "a dry run writes nothing"
    assert {(r["action"], r["key"]) for r in mirrored(files, "orders")} == {
        ("archive", str(deleted)),
        ("unlink", str(moved["order_id"])),
    }
    assert {r["key"] for r in mirrored(files, "order_line_items")} == deleted_lines
    assert "orders: 1 would be archived, 1 would be unlinked" in files.report.read_text()

    files = run(mirror_dag, {"full_refresh": True})
    orders = by_key(sandbox.dump("orders"))
    assert str(deleted) not in orders, "the deleted order is archived"
    assert not deleted_lines & set(by_key(sandbox.dump("line_items"))), "and its lines"
    assert order_contacts(sandbox)[str(moved["order_id"])] == {customers[new_customer]}, (
        "only the new contact"
    )
    assert customers[moved["customer_id"]] in {r["id"] for r in sandbox.dump("contacts")}, "the contact stays"
    assert "orders: 1 archived, 1 unlinked" in files.report.read_text()
    paid = len(rows(store, "SELECT 1 FROM payments WHERE order_id = ?", moved["order_id"]))
    assert f"payments: {deleted_payments} archived, {paid} unlinked" in files.report.read_text()
    assert_hubspot_matches_store(sandbox, store)

    before = sandbox.stats()["write_requests"]
    run(mirror_dag, {"full_refresh": True})
    assert sandbox.stats()["write_requests"] == before, "mirrored: the next run has nothing to do"


def test_a_soft_deleted_order_is_archived_with_its_lines_on_an_incremental_run(
    mirror_dag, store, sandbox
) -> None:
    run(mirror_dag, {"full_refresh": True})
    order_id = 100007
    lines = {
        f"order:{order_id}:{r['line_number']}"
        for r in rows(store, "SELECT * FROM order_lines WHERE order_id = ?", order_id)
    }
    with sqlite3.connect(store) as db:
        db.execute("UPDATE orders SET updated_at = '2024-06-01 00:00:00'")
        db.execute("UPDATE payments SET updated_at = '2024-06-01 00:00:00'")
        db.execute(
            "UPDATE orders SET deleted_at = '2025-03-01 05:00:00', updated_at = '2025-03-01 05:00:00' "
            "WHERE order_id = ?",
            (order_id,),
        )
    window = {"window_start": "2025-03-01T00:00:00+00:00", "window_end": "2025-03-02T00:00:00+00:00"}
    before = sandbox.stats()["by_path"]
    files = run(mirror_dag, window)
    reads = [p for p, n in sandbox.stats()["by_path"].items() if "/batch/read" in p and n > before.get(p, 0)]
    assert reads == [], "the deleted rows' ids come from the sync state"
    assert str(order_id) not in by_key(sandbox.dump("orders"))
    assert not lines & set(by_key(sandbox.dump("line_items")))
    assert files.all_rejected.read_text() == "", "the deleted order's lines and payments are not rejected"
    assert "orders: 1 archived, 0 unlinked" in files.report.read_text()
    remaining = {
        str(r["order_id"]) for r in rows(store, "SELECT order_id FROM orders WHERE deleted_at IS NULL")
    }
    assert set(by_key(sandbox.dump("orders"))) == remaining
    recorded = rows(store, "SELECT * FROM hubspot_sync_state WHERE source_key = ?", str(order_id))[0]
    assert (recorded["outcome"], recorded["hubspot_id"]) == ("archived", None)

    with sqlite3.connect(store) as db:  # restored in the source: created anew, with its lines
        db.execute(
            "UPDATE orders SET deleted_at = NULL, updated_at = '2025-03-01 06:00:00' WHERE order_id = ?",
            (order_id,),
        )
    run(mirror_dag, window)
    assert str(order_id) in by_key(sandbox.dump("orders"))
    assert lines <= set(by_key(sandbox.dump("line_items")))
    assert_hubspot_matches_store(sandbox, store)


def test_a_mass_archive_waits_for_an_answer_keep_archives_nothing_and_archive_archives_the_list(
    mirror_dag, store, sandbox, api_server
) -> None:
    """Over the guard, approve_archive asks before any mirror task archives, and waits: answered Keep over
    the REST API, nothing is archived and the run ends green; answered Archive, exactly the listed records
    are. A dry run and a run with confirm_archive ask nothing."""
    run(mirror_dag, {"full_refresh": True})
    order_ids = [r["order_id"] for r in rows(store, "SELECT order_id FROM orders ORDER BY order_id LIMIT 20")]
    expected = deleted_records(store, sandbox, order_ids)
    delete_orders(store, order_ids)
    held = held_ids(sandbox)

    files, question = run_answering(mirror_dag, api_server, "Keep")
    assert_question(question, files, expected)
    assert held_ids(sandbox) == held, "Keep: nothing archived"
    report = files.report.read_text()
    assert "orders: 0 archived, 20 kept (the archive was refused), 0 unlinked" in report
    assert re.search(r"archive refused by admin at 20\d\d-\d\d-\d\dT[\d:]+\+00:00 \(Keep\): nothing", report)
    assert {r["action"] for r in mirrored(files, "orders")} == {"keep"}

    files, question = run_answering(mirror_dag, api_server, "Archive")
    assert_question(question, files, expected)
    listed = listed_ids(files)
    now = held_ids(sandbox)
    assert now == {kind: held[kind] - listed[kind] for kind in held}, "Archive: exactly the listed records"
    report = files.report.read_text()
    assert "orders: 20 archived, 0 unlinked" in report and "archive approved by admin at 20" in report
    assert_hubspot_matches_store(sandbox, store)

    more = [r["order_id"] for r in rows(store, "SELECT order_id FROM orders ORDER BY order_id LIMIT 20")]
    delete_orders(store, more)
    held = held_ids(sandbox)
    files = run(mirror_dag, {"full_refresh": True, "dry_run": True})
    assert api_server.questions(latest_run_id(api_server)) == [], "a dry run asks nothing"
    assert "orders: 20 would be archived" in files.report.read_text() and held_ids(sandbox) == held
    files = run(mirror_dag, {"full_refresh": True, "confirm_archive": True})
    assert api_server.questions(latest_run_id(api_server)) == [], "confirm_archive asks nothing"
    assert "orders: 20 archived" in files.report.read_text()
    assert_hubspot_matches_store(sandbox, store)
