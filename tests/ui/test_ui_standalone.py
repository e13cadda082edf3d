"""``make ui-test``: what a data engineer does in the Airflow UI, in headless Chromium (Debian's ``chromium``,
driven by Playwright), against ``airflow standalone`` as ``make standalone`` sets it up, the sandbox and a
small sample store. Screenshots of every step go to ``.ui-test/``. Run only with ``-m ui``."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hubspot_commerce.sample_store import StoreSize, generate_store
from hubspot_commerce.sandbox.process import SandboxProcess

pytestmark = [pytest.mark.ui, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ".ui-test"
UI = "http://localhost:8080"
DAG_ID = "hubspot_commerce_sync"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def standalone() -> Iterator[SandboxProcess]:
    """The sandbox and ``airflow standalone`` in a fresh Airflow home, set up as ``make standalone`` does."""
    from hubspot_commerce.demo import start_standalone, stop_standalone

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    os.environ["AIRFLOW_HOME"] = str(OUT / "airflow")
    store = OUT / "store.sqlite"
    generate_store(store, StoreSize(products=30, customers=40, orders=60, carts=20))
    with SandboxProcess(tokens=["ui-token"], rate_limit=1_000, daily_limit=10_000_000) as sandbox:
        airflow = start_standalone(store, sandbox.url, sandbox.token)
        try:
            wait_until(
                lambda: requests.get(f"{UI}/api/v2/monitor/health", timeout=5).ok, 180, "the API server"
            )
            yield sandbox
        finally:
            stop_standalone(airflow)


def wait_until(check: Any, seconds: float, what: str) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except requests.RequestException:
            pass
        time.sleep(2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class Api:
    """Airflow's REST API as the logged-in user, to wait for runs and read what the UI shows."""

    def __init__(self) -> None:
        answer = requests.post(
            f"{UI}/auth/token", json={"username": "admin", "password": "admin"}, timeout=10
        )
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def get(self, path: str, **params: Any) -> Any:
        answer = requests.get(f"{UI}/api/v2/{path}", headers=self.headers, params=params, timeout=30)
        answer.raise_for_status()
        return answer.json() if "json" in answer.headers.get("content-type", "") else answer.text

    def runs(self) -> list[dict]:
        return self.get(f"dags/{DAG_ID}/dagRuns", order_by="run_after")["dag_runs"]

    def finished(self, count: int) -> list[dict]:
        """Wait until the DAG has ``count`` runs and none is queued or running; returns them."""

        def done() -> list[dict] | None:
            runs = self.runs()
            return (
                runs
                if len(runs) >= count and all(r["state"] in ("success", "failed") for r in runs)
                else None
            )

        return wait_until(done, 600, f"{count} finished runs")

    def report_log(self, run_id: str) -> str:
        return str(
            self.get(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/report/logs/1", full_content="true")
        )


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def trigger_with_form(page: Any, switches: list[str]) -> None:
    """Open the trigger form, turn on the named switches, trigger a single run."""
    page.goto(f"{UI}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    for label in switches:
        dialog.get_by_text(label, exact=True).locator("xpath=../..").locator(
            "[role=switch], input"
        ).first.click()
    shot(page, f"trigger-{'-'.join(s.lower().replace(' ', '_') for s in switches)}")
    dialog.get_by_role("button", name="Trigger").last.click()


def test_a_data_engineer_in_the_airflow_ui(standalone: SandboxProcess) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(UI)
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("admin")
        shot(page, "01-login")
        page.get_by_role("button", name="Sign in").click()
        api = Api()

        wait_until(lambda: api.get("dags", dag_id_pattern=DAG_ID)["total_entries"] == 1, 180, "the DAG")
        assert api.get("importErrors")["total_entries"] == 0
        page.goto(f"{UI}/dags")
        page.get_by_text(DAG_ID).first.wait_for()
        shot(page, "02-dags")

        page.goto(f"{UI}/connections")
        page.get_by_text("hubspot_default").first.wait_for()
        page.get_by_role("row", name="hubspot_default").get_by_role("button", name="Edit Connection").click()
        page.get_by_text("Access token (service key, private app or OAuth)").wait_for()
        shot(page, "03-connection-form")
        page.keyboard.press("Escape")

        trigger_with_form(page, ["Dry run", "Full refresh"])
        dry = api.finished(1)[-1]
        shot(page, "04-dry-run")
        assert dry["state"] == "success"
        assert "DRY RUN: nothing written" in api.report_log(dry["dag_run_id"])
        assert all(standalone.dump(t) == [] for t in ("products", "contacts", "orders", "line_items"))

        trigger_with_form(page, ["Full refresh"])
        full = api.finished(2)[-1]
        shot(page, "05-full-run")
        assert full["state"] == "success"
        assert len(standalone.dump("orders")) == 60 and len(standalone.dump("products")) == 30

        page.goto(f"{UI}/dags/{DAG_ID}")
        page.get_by_role("button", name="Trigger").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Backfill", exact=True).click()
        inputs = dialog.locator("input[type=datetime-local]")
        inputs.nth(0).fill("2025-03-01T00:00")
        inputs.nth(1).fill("2025-03-03T00:00")
        shot(page, "06-backfill-dialog")
        dialog.get_by_role("button", name="Run Backfill").click()
        runs = api.finished(5)
        shot(page, "07-backfill-runs")
        backfill = [r for r in runs if r["run_type"] == "backfill"]
        assert [(r["data_interval_start"][:16], r["data_interval_end"][:16]) for r in backfill] == [
            ("2025-02-28T03:00", "2025-03-01T03:00"),
            ("2025-03-01T03:00", "2025-03-02T03:00"),
            ("2025-03-02T03:00", "2025-03-03T03:00"),
        ]
        assert all(r["state"] == "success" for r in backfill)
        assert len(standalone.dump("orders")) == 60, "a backfill over synced data creates nothing"
        for run in backfill:
            events = api.get("assets/events", source_run_id=run["dag_run_id"])["asset_events"]
            assert events == [], f"{run['dag_run_id']} wrote nothing, so it emitted no Asset event"
        browser.close()
