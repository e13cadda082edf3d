"""``make demo`` and ``make standalone``: the commerce sync end to end against the local HubSpot sandbox.

``make demo`` generates the sample store, starts the sandbox, runs ``hubspot_commerce_sync`` twice with
``airflow dags test`` (a full refresh, then the same again, which must write nothing), prints both reports
and stops the sandbox. ``make standalone`` starts the sandbox and ``airflow standalone`` next to it, so the
DAG can be triggered and backfilled from the UI (login admin / admin).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hubspot_commerce_lab.sample_store import StoreSize, generate_store
from hubspot_sandbox.process import SandboxProcess

DAG_ID = "hubspot_commerce_sync"
POOL = ("hubspot_api", "3", "HubSpot API: concurrent HubSpot tasks")
DEMO_TOKEN = "demo-token"
STANDALONE_PORT = 8765


def airflow_home() -> Path:
    return Path(os.environ.setdefault("AIRFLOW_HOME", str(Path.cwd() / ".airflow")))


def airflow(*args: str, env: dict[str, str] | None = None, log: Path | None = None) -> None:
    """Run an ``airflow`` CLI command with this interpreter's Airflow; fail loudly with its output."""
    command = [str(Path(sys.executable).with_name("airflow")), *args]
    if log is None:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        output = result.stdout + result.stderr
    else:
        with log.open("w") as out:
            result = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
        output = log.read_text()
    if result.returncode != 0:
        sys.exit(f"`airflow {' '.join(args)}` failed:\n{output[-4000:]}")


def prepare_airflow(env: dict[str, str]) -> None:
    """Migrate the metadata DB (idempotent); create the ``hubspot_api`` pool (tasks cannot create pools)."""
    print("Preparing Airflow's metadata DB and the hubspot_api pool ...", flush=True)
    airflow("db", "migrate", env=env)
    airflow("pools", "set", *POOL, env=env)


def connection_specs(store: Path, sandbox_url: str, token: str) -> dict[str, dict[str, str]]:
    """The two connections the DAG uses: the sample store and the sandbox."""
    return {
        "commerce_source": {"conn_type": "sqlite", "host": str(store.resolve())},
        "hubspot_default": {"conn_type": "hubspot", "host": sandbox_url, "password": token},
    }


def xcom_environment() -> dict[str, str]:
    """The object-storage XCom backend under Airflow's home, as Airflow environment variables."""
    return {
        "AIRFLOW__CORE__XCOM_BACKEND": "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": f"file://{airflow_home() / 'xcom'}",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "65536",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION": "gzip",
    }


def sync_environment(store: Path, sandbox_url: str, token: str) -> dict[str, str]:
    """The two connections (as ``AIRFLOW_CONN_*``) and the XCom backend, for ``airflow dags test``."""
    connections = {
        f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(spec)
        for conn_id, spec in connection_specs(store, sandbox_url, token).items()
    }
    return {**os.environ, **connections, **xcom_environment()}


def create_connections(env: dict[str, str], specs: dict[str, dict[str, str]]) -> None:
    """Put the connections in the metadata DB, where the UI edits them (an ``AIRFLOW_CONN_*`` variable
    would win over any edit); one the user already has is left as it is."""
    for conn_id, spec in specs.items():
        command = [str(Path(sys.executable).with_name("airflow")), "connections", "add", conn_id]
        result = subprocess.run(
            [*command, "--conn-json", json.dumps(spec)], env=env, capture_output=True, text=True, check=False
        )
        output = result.stdout + result.stderr
        if result.returncode != 0 or "already exists" in output:
            print(f"Connection {conn_id}: {'kept as it is' if 'already exists' in output else output}")


def standalone_environment(passwords: Path) -> dict[str, str]:
    """``airflow standalone``'s settings: login admin / admin, the Test button, the XCom backend."""
    passwords.parent.mkdir(parents=True, exist_ok=True)
    passwords.write_text(json.dumps({"admin": "admin"}))
    return {
        **os.environ,
        **xcom_environment(),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        # airflow standalone starts its components as `airflow ...` commands found on PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def start_standalone(store: Path, sandbox_url: str, token: str) -> subprocess.Popen:
    """Prepare the metadata DB, the pool and the connections; start ``airflow standalone``."""
    env = standalone_environment(airflow_home() / "standalone_passwords.json")
    prepare_airflow(env)
    create_connections(env, connection_specs(store, sandbox_url, token))
    command = [str(Path(sys.executable).with_name("airflow")), "standalone"]
    return subprocess.Popen(command, env=env, start_new_session=True)  # stop_standalone ends its group


def stop_standalone(standalone: subprocess.Popen) -> None:
    """End ``airflow standalone`` and every component it started (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(standalone.pid, signal.SIGTERM)
    try:
        standalone.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(standalone.pid, signal.SIGKILL)
        standalone.wait()


def latest_report(since: float) -> str:
    """The report file the last run wrote (the newest under the DAG's work directory)."""
    reports = [
        path
        for path in (airflow_home() / "hubspot_commerce" / DAG_ID).glob("*/report.txt")
        if path.stat().st_mtime >= since
    ]
    if not reports:
        return "(no report was written)"
    return max(reports, key=lambda path: path.stat().st_mtime).read_text()


def run_demo(size: StoreSize, runs: int) -> None:
    demo_dir = Path.cwd() / ".demo"
    demo_dir.mkdir(exist_ok=True)
    store = demo_dir / "store.sqlite"
    counts = generate_store(store, size)
    print(f"Sample store {store}: " + ", ".join(f"{n} {table}" for table, n in counts.items()), flush=True)
    with SandboxProcess(tokens=[DEMO_TOKEN], rate_limit=1_000, daily_limit=10_000_000) as sandbox:
        print(f"HubSpot sandbox at {sandbox.url} (in memory; stopped at the end of the demo)", flush=True)
        env = sync_environment(store, sandbox.url, sandbox.token)
        prepare_airflow(env)
        for run in range(1, runs + 1):
            before = sandbox.stats()
            what = "everything is new" if run == 1 else "same data again: nothing may be created or updated"
            print(
                f"\n=== Run {run}: airflow dags test {DAG_ID} -c '{{\"full_refresh\": true}}' ({what})",
                flush=True,
            )
            log = demo_dir / f"run-{run}.log"
            started = time.time()
            airflow("dags", "test", DAG_ID, "-c", json.dumps({"full_refresh": True}), env=env, log=log)
            after = sandbox.stats()
            print(latest_report(started))
            writes = after.get("write_requests", 0) - before.get("write_requests", 0)
            print(
                f"Run {run}: {time.time() - started:.0f} s, {after['requests'] - before['requests']} HubSpot "
                f"requests ({writes} writes); Airflow log: {log}",
                flush=True,
            )


def run_standalone() -> None:
    """The sandbox on a fixed port plus ``airflow standalone``; Ctrl-C stops both."""
    store = Path.cwd() / ".demo" / "store.sqlite"
    if not store.exists():
        generate_store(store)
    with SandboxProcess(
        tokens=[DEMO_TOKEN], rate_limit=1_000, daily_limit=10_000_000, port=STANDALONE_PORT
    ) as sandbox:
        standalone = start_standalone(store, sandbox.url, sandbox.token)
        print(f"HubSpot sandbox at {sandbox.url}; sample store {store}.")
        print(
            "Airflow UI: http://localhost:8080  (login admin / admin). Ctrl-C stops Airflow and the sandbox."
        )
        print(
            f"Trigger {DAG_ID} (try dry_run, objects, window_start/window_end) or backfill dates in 2025. "
            "The connections are in Admin -> Connections (edit them there; Test checks them).",
            flush=True,
        )
        try:
            standalone.wait()
        except KeyboardInterrupt:
            stop_standalone(standalone)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--standalone", action="store_true", help="start airflow standalone next to the sandbox"
    )
    parser.add_argument("--runs", type=int, default=2, help="DAG runs against one sandbox (default 2)")
    defaults = StoreSize()
    for field in ("products", "customers", "orders", "carts"):
        parser.add_argument(f"--{field}", type=int, default=getattr(defaults, field))
    args = parser.parse_args(argv)
    if args.standalone:
        run_standalone()
    else:
        run_demo(StoreSize(args.products, args.customers, args.orders, args.carts), args.runs)


if __name__ == "__main__":
    main()
