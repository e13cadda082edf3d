"""No make target prints the HubSpot token: the demo and ``hubspot-commerce check`` run with a known token,
and their output, Airflow's task logs, XCom (the table and the object-storage backend's files) and the run's
files are searched for it. ``make distributed`` is searched by the lab itself, in its secret scan, which its
fault scenario asserts. The demo's search (a minute) runs with that scenario in ``make lab``;
``check``'s runs in ``make test``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hubspot_commerce_lab.demo import DEMO_TOKEN
from hubspot_commerce_lab.distributed.secret_scan import SecretScan, scan_files, scan_xcom_table
from hubspot_commerce_lab.sample_store import StoreSize, generate_store
from hubspot_sandbox.process import SandboxProcess

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "pat-na1-check-7d0e55"


def airflow_env(home: Path) -> dict[str, str]:
    """A fresh Airflow home of its own; the project's DAG and plugins folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return {
        **env,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    }


@pytest.mark.lab
def test_the_demo_shows_its_token_nowhere(tmp_path: Path) -> None:
    """One demo run on a small store: the report is printed, and the token is in no output or file."""
    home = tmp_path / "airflow"
    command = [sys.executable, "-m", "hubspot_commerce_lab.demo", "--runs", "1"]
    command += ["--products", "8", "--customers", "10", "--orders", "12", "--carts", "4"]
    demo = subprocess.run(
        command, cwd=tmp_path, env=airflow_env(home), capture_output=True, text=True, timeout=400, check=False
    )
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output[-4000:]
    assert "HubSpot commerce sync" in output and "created" in output, "the report was printed"
    assert DEMO_TOKEN not in output
    scan = SecretScan()
    scan_files(home, DEMO_TOKEN, scan)  # task logs, XCom files, the run's files, the metadata DB file
    scan_files(tmp_path / ".demo", DEMO_TOKEN, scan)  # the airflow dags test log of each run
    scan_xcom_table(f"sqlite:///{home / 'airflow.db'}", DEMO_TOKEN, scan)
    assert scan.files > 20 and scan.xcom_rows > 10, scan.describe()
    assert scan.hits == [], scan.describe()


def test_check_shows_its_token_nowhere(tmp_path: Path) -> None:
    """``hubspot-commerce check`` against a sandbox with a known token, and against one that refuses it."""
    store = tmp_path / "shop.sqlite"
    generate_store(store, StoreSize(products=5, customers=5, orders=5, carts=2))
    env = airflow_env(tmp_path / "airflow")
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    check = [str(Path(sys.executable).with_name("hubspot-commerce")), "check"]
    with SandboxProcess(tokens=[TOKEN]) as hubspot, SandboxProcess(tokens=["another-token"]) as refusing:
        for url in (hubspot.url, refusing.url):
            env["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = (
                f'{{"conn_type": "hubspot", "host": "{url}", "password": "{TOKEN}"}}'
            )
            env["AIRFLOW_CONN_COMMERCE_SOURCE"] = f'{{"conn_type": "sqlite", "host": "{store}"}}'
            result = subprocess.run(check, env=env, capture_output=True, text=True, timeout=120, check=False)
            output = result.stdout + result.stderr
            assert re.search(r"^\d+ passed\b.* of \d+ checks$", output, re.M), output[-3000:]
            assert TOKEN not in output
