"""``make ui-test``: what a data engineer does in the Airflow UI, in headless Chromium (Debian's ``chromium``,
driven by Playwright), against ``airflow standalone`` as ``make standalone`` sets it up, the sandbox and a
small sample store, with orders mirrored (``mirror: true``), so that a mass archive asks in Required actions.
Screenshots of every step go to ``.ui-test/``; on a failure also ``failure.png`` and ``failure.html``. Run
only with ``-m ui``."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hubspot_commerce import get_provider_info
from hubspot_commerce.sync.resources import include_path
from hubspot_commerce_lab.sample_store import StoreSize, generate_store
from hubspot_sandbox.process import SandboxProcess

pytestmark = [pytest.mark.ui, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ".ui-test"
UI = "http://localhost:8080"
DAG_ID = "hubspot_commerce_sync"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN_LABEL = get_provider_info()["connection-types"][0]["ui-field-behaviour"]["relabeling"]["password"]
WRITTEN = {"products": 30, "contacts": 40, "orders": 60}  # the sample store's rows, as HubSpot records
ORDER_KEY = '    key: "{order_id}"\n'  # the orders stream's key in the default mapping
# Three days of the sample store with rows in each stream: a backfill over them after a full run is unchanged.
BACKFILL = ("2025/09/24", "2025/09/27")
BACKFILL_INTERVALS = [
    ("2025-09-24T03:00", "2025-09-25T03:00"),
    ("2025-09-25T03:00", "2025-09-26T03:00"),
    ("2025-09-26T03:00", "2025-09-27T03:00"),
]


@pytest.fixture(scope="module")
def standalone() -> Iterator[SandboxProcess]:
    """The sandbox and ``airflow standalone`` in a fresh Airflow home, set up as ``make standalone`` does."""
    from hubspot_commerce_lab.demo import start_standalone, stop_standalone

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    os.environ["AIRFLOW_HOME"] = str(OUT / "airflow")
    store = OUT / "store.sqlite"
    generate_store(store, StoreSize(products=30, customers=40, orders=60, carts=20))
    mapping = include_path("mappings", "commerce.yaml").read_text()
    (OUT / "mapping.yaml").write_text(mapping.replace(ORDER_KEY, f"{ORDER_KEY}    mirror: true\n"))
    os.environ["AIRFLOW__HUBSPOT_COMMERCE__MAPPING_PATH"] = str(OUT / "mapping.yaml")
    with SandboxProcess(tokens=["ui-token"], rate_limit=1_000, daily_limit=10_000_000) as sandbox:
        airflow = start_standalone(store, sandbox.url, sandbox.token)
        try:
            wait_until(
                lambda: requests.get(f"{UI}/api/v2/monitor/health", timeout=5).ok, 180, "the API server"
            )
            yield sandbox
        finally:
            stop_standalone(airflow)


def wait_until(check: Callable[[], Any], seconds: float, what: str) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if result := check():
                return result
        time.sleep(2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class Api:
    """Airflow's REST API as the logged-in user, to wait for runs and read what the UI shows."""

    def __init__(self) -> None:
        answer = requests.post(
            f"{UI}/auth/token", json={"username": "admin", "password": "admin"}, timeout=10
        )
        self.headers = {
            "Authorization": f"Bearer {answer.json()['access_token']}",
            "Accept": "application/json",
        }

    def get(self, path: str, **params: Any) -> Any:
        answer = requests.get(f"{UI}/api/v2/{path}", headers=self.headers, params=params, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = requests.post(f"{UI}/api/v2/{path}", headers=self.headers, json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def runs(self) -> dict[str, dict]:
        """Every run of the DAG by run id."""
        runs = self.get(f"dags/{DAG_ID}/dagRuns", order_by="logical_date", limit=100)["dag_runs"]
        return {run["dag_run_id"]: run for run in runs}

    def finished(self, since: set[str], count: int, seconds: float = 300) -> list[dict]:
        """Wait for ``count`` runs not in ``since`` (the scheduler's own are not counted) to finish."""

        def done() -> list[dict] | None:
            runs = [run for run_id, run in self.runs().items() if run_id not in since]
            new = [run for run in runs if run["run_type"] != "scheduled"]
            finished = all(run["state"] in ("success", "failed") for run in runs)
            return new if len(new) >= count and finished else None

        return wait_until(done, seconds, f"{count} new runs to finish")

    def report_log(self, run_id: str) -> list[str]:
        """The messages of the ``report`` task's log, in order."""
        path = f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/report/logs/1"
        return [str(line.get("event", "")) for line in self.get(path, full_content="true")["content"]]

    def asset_events(self, run_id: str) -> list[dict]:
        return self.get("assets/events", source_dag_id=DAG_ID, source_run_id=run_id)["asset_events"]


def report_of(api: Api, run_id: str) -> tuple[str, dict[str, int]]:
    """The report in the run's ``report`` log (before "Done. Returned value was") and its total line."""
    messages = api.report_log(run_id)
    reports = [i for i, message in enumerate(messages) if message.startswith("Report (also in")]
    done = [i for i, message in enumerate(messages) if message.startswith("Done. Returned value was")]
    assert reports and done and reports[0] < done[0], f"{run_id}: report before Done in {messages}"
    text = messages[reports[0]]
    total = next(line.split()[1:] for line in text.splitlines() if line.startswith("total "))
    columns = ("extracted", "created", "updated", "unchanged", "rejected", "unfinished")
    return text, dict(zip(columns, map(int, total), strict=True))


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


@contextlib.contextmanager
def failure_saved(page: Any) -> Iterator[None]:
    """On a failure, save what the browser showed: ``failure.png`` and ``failure.html``."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            shot(page, "failure")
            (OUT / "failure.html").write_text(page.content())
        raise


def click_label_of(scope: Any, page: Any, role: str, name: str) -> None:
    """Chakra hides checkbox and radio inputs under their label: click the label, check the input."""
    scope.locator("label", has=page.get_by_role(role, name=name)).click()
    assert scope.get_by_role(role, name=name).is_checked(), f"{role} {name!r} is not checked"


def log_in(page: Any) -> None:
    page.goto(UI)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin")
    shot(page, "01-login")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Dags").first.wait_for()


def check_dags_and_connection_form(page: Any, api: Api) -> None:
    """The DAG is listed with no import error; the HubSpot connection's form shows the token's label."""
    wait_until(lambda: api.get("dags", dag_id_pattern=DAG_ID)["total_entries"] == 1, 120, "the DAG")
    assert api.get("importErrors")["total_entries"] == 0
    page.goto(f"{UI}/dags")
    page.get_by_role("link", name=DAG_ID).first.wait_for()
    shot(page, "02-dags")
    page.goto(f"{UI}/connections")
    row = page.get_by_role("row", name="hubspot_default")
    row.get_by_role("button", name="Edit Connection").click()
    form = page.get_by_role("dialog")
    form.get_by_role("textbox", name=TOKEN_LABEL).wait_for()
    assert form.get_by_role("textbox", name="Host").input_value().startswith("http://127.0.0.1:")
    shot(page, "03-connection-form")
    form.get_by_role("button", name="Close").click()


def trigger_with_form(page: Any, api: Api, switches: list[str]) -> dict:
    """Trigger a single run through the form with the named switches on; wait for it to finish."""
    before = set(api.runs())
    page.goto(f"{UI}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    for name in switches:
        click_label_of(dialog, page, "checkbox", name)
    shot(page, f"trigger-{'-'.join(s.lower().replace(' ', '_') for s in switches)}")
    dialog.get_by_role("button", name="Trigger").click()
    (run,) = api.finished(before, 1)
    assert run["run_type"] == "manual" and all(run["conf"][s.lower().replace(" ", "_")] for s in switches)
    return run


def pick_date(page: Any, dialog: Any, field: str, day: str) -> None:
    """Fill the backfill dialog's ``From`` or ``To`` date picker with ``day`` (YYYY/MM/DD) at 00:00 UTC."""
    dialog.get_by_role("group").filter(has=page.get_by_text(field, exact=True)).get_by_test_id(
        "datetime-input"
    ).click()
    picker = page.get_by_role("dialog").last
    picker.get_by_role("textbox", name=field).fill(day)
    picker.get_by_role("textbox", name="HH:mm").fill("00:00")
    page.keyboard.press("Escape")


def backfill_with_dialog(page: Any, api: Api) -> list[dict]:
    """Backfill three days through the Backfill dialog; wait for its runs."""
    before = set(api.runs())
    page.goto(f"{UI}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog").first
    click_label_of(dialog, page, "radio", "Backfill")
    pick_date(page, dialog, "From", BACKFILL[0])
    pick_date(page, dialog, "To", BACKFILL[1])
    dialog.get_by_text("3 runs will be triggered.").wait_for()
    shot(page, "06-backfill-dialog")
    dialog.get_by_role("button", name="Run Backfill").click()
    runs = api.finished(before, 3, seconds=420)
    page.goto(f"{UI}/dags/{DAG_ID}/runs")
    shot(page, "07-backfill-runs")
    return runs


def test_a_data_engineer_in_the_airflow_ui(standalone: SandboxProcess) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(20_000)
        with failure_saved(page):
            log_in(page)
            api = Api()
            check_dags_and_connection_form(page, api)
            check_dry_run(api, trigger_with_form(page, api, ["Dry run", "Full refresh"]), standalone)
            shot(page, "04-dry-run")
            check_full_run(api, trigger_with_form(page, api, ["Full refresh"]), standalone)
            shot(page, "05-full-run")
            check_backfill(api, backfill_with_dialog(page, api), standalone)
            keep_in_required_actions(page, api, standalone)
        browser.close()


def check_dry_run(api: Api, run: dict, sandbox: SandboxProcess) -> None:
    """Success, the report in the log says what would be written, nothing in HubSpot, no Asset event."""
    assert run["state"] == "success"
    text, total = report_of(api, run["dag_run_id"])
    assert "DRY RUN: nothing written" in text and total["created"] == total["extracted"] > 0
    assert all(sandbox.dump(name) == [] for name in WRITTEN)
    assert api.asset_events(run["dag_run_id"]) == []


def check_full_run(api: Api, run: dict, sandbox: SandboxProcess) -> None:
    """Success, every row created once, and Asset events for what it wrote."""
    assert run["state"] == "success"
    _, total = report_of(api, run["dag_run_id"])
    assert total["created"] == total["extracted"] > 0 and total["unfinished"] == 0
    assert {name: len(sandbox.dump(name)) for name in WRITTEN} == WRITTEN
    assert api.asset_events(run["dag_run_id"]), "a run that wrote emits Asset events"


def check_backfill(api: Api, runs: list[dict], sandbox: SandboxProcess) -> None:
    """One run per day with the day's data interval; rows read but unchanged, nothing written, no event."""
    runs = sorted(runs, key=lambda run: run["data_interval_start"])
    assert [run["run_type"] for run in runs] == ["backfill"] * 3
    assert [(r["data_interval_start"][:16], r["data_interval_end"][:16]) for r in runs] == BACKFILL_INTERVALS
    assert all(run["state"] == "success" for run in runs)
    unchanged = 0
    for run in runs:
        _, total = report_of(api, run["dag_run_id"])
        assert total["created"] == total["updated"] == total["rejected"] == 0, run["dag_run_id"]
        unchanged += total["unchanged"]
        assert api.asset_events(run["dag_run_id"]) == [], f"{run['dag_run_id']} wrote nothing: no event"
    assert unchanged > 0, "the backfill read rows (unchanged), so the no-event check means something"
    assert {name: len(sandbox.dump(name)) for name in WRITTEN} == WRITTEN


def keep_in_required_actions(page: Any, api: Api, sandbox: SandboxProcess) -> None:
    """20 of the 60 orders leave the source: a full refresh asks in Required actions before archiving them
    (more than 10%); Keep there archives nothing, the run succeeds and its report says who refused."""
    first = "SELECT order_id FROM orders ORDER BY order_id LIMIT 20"
    with sqlite3.connect(OUT / "store.sqlite") as db:
        for table in ("order_lines", "payments", "orders"):
            db.execute(f"DELETE FROM {table} WHERE order_id IN ({first})")
    before = set(api.runs())
    run_id = api.post(f"dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {"full_refresh": True}})[
        "dag_run_id"
    ]
    questions = f"dags/{DAG_ID}/dagRuns/{run_id}/hitlDetails"
    wait_until(lambda: api.get(questions, state="awaiting_input")["total_entries"], 300, "the question")
    page.goto(f"{UI}/dags/{DAG_ID}/runs/{run_id}/tasks/approve_archive/required_actions")
    page.get_by_text("Archive 20 HubSpot records whose rows the source deleted?").first.wait_for()
    page.get_by_text("20 (over the guard)").first.wait_for()  # the body: counts and samples per stream
    shot(page, "08-required-action")
    page.get_by_role("button", name="Keep", exact=True).first.click()
    (run,) = api.finished(before, 1)
    assert run["state"] == "success"
    text, _ = report_of(api, run_id)
    assert "orders: 0 archived, 20 kept (the archive was refused)" in text
    assert "archive refused by admin at " in text
    assert len(sandbox.dump("orders")) == WRITTEN["orders"], "Keep: nothing archived"
