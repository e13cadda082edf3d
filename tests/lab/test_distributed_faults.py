"""``make distributed`` as a user runs it on their own store and HubSpot, with a Celery worker killed.

The store is the sample store with bad rows among the good ones: a line for a SKU that does not exist and a
payment for an order that does not exist (both on old rows, so only the full refresh reads them), and two
payments with a method HubSpot does not know on a backfilled day, where they exceed the 1% a stream may
lose, so that day's run refuses its payments (the rule working). HubSpot is a sandbox this test starts
(the lab reaches it by ``HUBSPOT_URL`` and ``HUBSPOT_TOKEN``, as it would a user's portal), and
``FAULT=kill-worker`` kills one Celery worker while it creates records.

The verdict must be true: every good row in HubSpot once, the four bad ones rejected with a reason and
counted as such, the refused day named and not a failure, the killed task retried to success on the other
worker, and the token nowhere in the output, the task logs, XCom or the run's files (the lab's secret scan).
It takes about eight minutes, so it runs in ``make lab``, not in ``make test``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from datetime import datetime, time
from pathlib import Path

import pytest

from hubspot_commerce_lab.distributed.backfill_days import backfill_days
from hubspot_commerce_lab.distributed.summary import parse_line
from hubspot_commerce_lab.sample_store import generate_store
from hubspot_sandbox.process import SandboxProcess

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "pat-na1-lab-faults-4f1c2b"  # a token the test knows, to search every output for it
LAB_TIMEOUT = 1500

pytestmark = [pytest.mark.lab, pytest.mark.timeout(LAB_TIMEOUT + 300)]


def messy_store(path: Path) -> dict[str, set[str]]:
    """The sample store with four bad rows; returns their source keys per stream."""
    generate_store(path)
    day = backfill_days(path, 3)[1]
    on_backfilled_day = datetime.combine(day, time(12)).strftime("%Y-%m-%d %H:%M:%S")
    db = sqlite3.connect(path)
    with db:
        old_order, lines = db.execute(
            "SELECT o.order_id, MAX(l.line_number) FROM orders o JOIN order_lines l USING (order_id) "
            "GROUP BY o.order_id ORDER BY o.updated_at LIMIT 1"
        ).fetchone()
        line = (old_order, lines + 1)
        db.execute("INSERT INTO order_lines VALUES (?, ?, 'SKU-DOES-NOT-EXIST', 1, 9.99, NULL)", line)
        old = db.execute("SELECT MIN(updated_at) FROM payments").fetchone()[0]
        db.execute(
            "INSERT INTO payments VALUES "
            "('PAY-NO-ORDER', 999999, 10.00, 'USD', 'card', 'succeeded', ?, NULL, ?)",
            (old, old),
        )
        barter = [row[0] for row in db.execute("SELECT payment_id FROM payments ORDER BY payment_id LIMIT 2")]
        db.executemany(
            "UPDATE payments SET method = 'barter', updated_at = ? WHERE payment_id = ?",
            [(on_backfilled_day, key) for key in barter],
        )
    db.close()
    return {
        "order_line_items": {f"order:{old_order}:{lines + 1}"},
        "payments": {"PAY-NO-ORDER", *barter},
    }


def test_a_messy_store_on_a_running_hubspot_with_a_worker_killed_mid_write(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    bad = messy_store(store)
    with SandboxProcess(tokens=[TOKEN], rate_limit=190, latency_ms=400, daily_limit=10_000_000) as hubspot:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        command = [
            "make", "--no-print-directory", "distributed", f"STORE={store}", f"HUBSPOT_URL={hubspot.url}",
            f"HUBSPOT_TOKEN={TOKEN}", "FAULT=kill-worker",
        ]  # fmt: skip
        lab = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=LAB_TIMEOUT, check=False
        )
    output = lab.stdout + lab.stderr
    tail = output[-8000:]
    assert TOKEN not in output
    fields = parse_line(output)
    assert lab.returncode == 0, tail
    assert (fields["graph"], fields["duplicates"], fields["missing"]) == ("ok", "0", "0"), tail
    assert fields["rejected"] == str(sum(len(keys) for keys in bad.values())), tail
    assert fields["workers_killed"] == "1", tail
    assert "FAULT kill-worker: SIGKILL to" in output, tail
    assert "REFUSED " in output and "payments" in output.split("REFUSED ", 1)[1].splitlines()[0], tail
    assert "secret scan: the HubSpot token appears in none of" in output, tail
    recorded = sqlite3.connect(store).execute(
        "SELECT stream, source_key, reason FROM hubspot_sync_state WHERE outcome = 'rejected'"
    )
    by_stream: dict[str, set[str]] = {}
    for stream, key, reason in recorded:
        assert reason, (stream, key)
        by_stream.setdefault(stream, set()).add(key)
    assert by_stream == bad
