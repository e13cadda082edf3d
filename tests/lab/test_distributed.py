"""``make distributed`` end to end: the lab on the default sample store, judged by its DISTRIBUTED line.

It starts PostgreSQL, Redis, moto, the HubSpot sandbox and Airflow with two Celery workers: about five
minutes on two cores, so it runs in ``make lab``, not in ``make test``. The lab tears itself down, and no
process of it may survive.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hubspot_commerce_lab.distributed.summary import MAX_429_SHARE, parse_line

ROOT = Path(__file__).resolve().parents[2]
LAB_TIMEOUT = 1000  # seconds before the lab is told to stop (SIGTERM: it still tears down)

pytestmark = [pytest.mark.lab, pytest.mark.timeout(LAB_TIMEOUT + 200)]


def run_lab() -> tuple[int, str]:
    """``python -m hubspot_commerce_lab.distributed`` with nothing of the caller's Airflow or lab settings."""
    skipped = ("STORE", "HUBSPOT_URL", "HUBSPOT_TOKEN", "KEEP")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k not in skipped}
    command = [sys.executable, "-m", "hubspot_commerce_lab.distributed"]
    lab = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = lab.communicate(timeout=LAB_TIMEOUT)
    except subprocess.TimeoutExpired:
        lab.send_signal(signal.SIGTERM)
        output, _ = lab.communicate(timeout=180)
    return lab.returncode, output


def lab_processes(lab_dir: str) -> list[str]:
    """Running processes whose working directory, command line or environment is in the lab directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if cwd.startswith(lab_dir) or lab_dir.encode() in seen:
            found.append(f"{entry.name}: {seen[:200]!r}")
    return found


def test_make_distributed_syncs_the_sample_store_on_two_workers() -> None:
    code, output = run_lab()
    tail = output[-6000:]
    assert output.strip().splitlines()[-1].startswith("DISTRIBUTED "), tail
    fields = parse_line(output)
    assert code == 0, tail
    assert fields["executor"] == "CeleryExecutor" and fields["workers"] == "2", tail
    assert fields["workers_with_hubspot_writes"] == "2", tail
    assert int(fields["runs"]) >= 4 and fields["runs"] == fields["runs_ok"], tail
    assert (fields["graph"], fields["duplicates"], fields["missing"]) == ("ok", "0", "0"), tail
    assert fields["limit"] == "190" and int(fields["peak_requests_10s"]) <= 190, tail
    requests = int(re.search(r"DAG traffic through the relay: requests=(\d+)", output).group(1))
    assert requests > 0 and int(fields["http_429"]) <= MAX_429_SHARE * requests, tail
    lab_dir = re.search(r"lab directory (\S+)", output).group(1)
    assert not Path(lab_dir).exists(), "the lab directory is removed"
    assert lab_processes(lab_dir) == [], "no process of the lab survives it"
