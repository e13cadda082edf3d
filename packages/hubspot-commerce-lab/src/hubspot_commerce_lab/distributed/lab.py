"""One run of the lab: start every server, drive the DAG through the REST API, measure, check, tear down.

Start order: PostgreSQL, Redis, moto, the HubSpot sandbox (unless ``HUBSPOT_URL`` names a running HubSpot),
the recording relay, then Airflow. Teardown runs the other way round, always (errors, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from hubspot_commerce.sync.mapping import load_mapping
from hubspot_commerce_lab.distributed.airflow_api import AirflowApi
from hubspot_commerce_lab.distributed.backfill_days import backfill_days, backfill_range
from hubspot_commerce_lab.distributed.debian_packages import ServerBinaries, ensure_server_binaries
from hubspot_commerce_lab.distributed.graph_check import GraphCheck, check_graph
from hubspot_commerce_lab.distributed.hubspot_reader import HubSpotReader
from hubspot_commerce_lab.distributed.processes import free_port, wait_until
from hubspot_commerce_lab.distributed.relay import RecordingRelay, Traffic
from hubspot_commerce_lab.distributed.secret_scan import SecretScan, scan_bucket, scan_files, scan_xcom_table
from hubspot_commerce_lab.distributed.services import MotoServer, PostgresServer, RedisServer
from hubspot_commerce_lab.distributed.stack import (
    PASSWORD,
    USERNAME,
    AirflowStack,
    Endpoints,
    caller_environment,
)
from hubspot_commerce_lab.distributed.summary import Outcome
from hubspot_commerce_lab.distributed.sync_verdicts import (
    Refusal,
    recorded_rejections,
    refused_runs,
    rejected_keys,
)
from hubspot_commerce_lab.distributed.worker_fault import Victim, choose_victim, creates_in_flight, recovered
from hubspot_commerce_lab.sample_store import generate_store
from hubspot_sandbox.process import SandboxProcess

DAG_ID = "hubspot_commerce_sync"
WORKERS = ("worker-a", "worker-b")
BUCKET = "hubspot-commerce-lab"
RATE_LIMIT = 190  # HubSpot Professional/Enterprise: requests per rolling 10 s
LATENCY_MS = 400  # HubSpot's typical answer time for a batch call
# HubSpot tasks at once. One write task alone reaches over 90% of the ten-secondly limit, so more would not
# go faster; 3 of the 4 Celery slots let the streams and the overlapping runs (backfill next to the full
# refresh) interleave their HubSpot work, and keep one slot for the tasks that do not call HubSpot
# (extract, report), so a run never waits behind HubSpot tasks of another.
POOL_SLOTS = 3
BACKFILL_DAYS = 3
WRITE_TASK_PREFIXES = ("upsert_", "create_", "update_")
FINISHED = ("success", "failed")


@dataclass(frozen=True)
class Options:
    """What the user can choose (``STORE``, ``HUBSPOT_URL``, ``HUBSPOT_TOKEN``, ``KEEP``, ``FAULT``)."""

    store: Path | None = None
    hubspot_url: str | None = None
    hubspot_token: str | None = None
    keep: bool = False
    timeout: float = 1200.0
    fault: str | None = None  # kill-worker: see worker_fault.py


def dag_file() -> Path:
    """The project's DAG file (``dags/hubspot_commerce_sync.py`` of the checkout), copied unchanged."""
    for root in (Path(__file__).resolve().parents[5], Path.cwd()):
        candidate = root / "dags" / f"{DAG_ID}.py"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"dags/{DAG_ID}.py not found: run from the project's checkout")


def successful_writes(task_instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """HubSpot write task instances that succeeded (a write with nothing to do ends as skipped)."""
    return [
        ti
        for ti in task_instances
        if ti["task_id"].startswith(WRITE_TASK_PREFIXES) and ti["state"] == "success"
    ]


def workers_with_writes(task_instances: list[dict[str, Any]]) -> set[str]:
    """Host names of the workers that ran a HubSpot write task that succeeded."""
    return {str(ti["hostname"]) for ti in successful_writes(task_instances) if ti.get("hostname")}


class Lab:
    """The lab's state: what was started (to stop it), and what was measured (for the final line)."""

    def __init__(self, options: Options) -> None:
        """Make the lab directory; nothing is started yet."""
        self.options = options
        self.started = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix="hubspot-distributed-"))
        self.root.chmod(0o711)  # the postgres user must reach its own directory inside
        self._stops: list[tuple[str, Callable[[], Any]]] = []
        self.problems: list[str] = []
        self.store = options.store or self.root / "store.sqlite"
        self.hubspot_url = options.hubspot_url or ""
        self.token = options.hubspot_token or secrets.token_hex(16)
        self.relay: RecordingRelay | None = None
        self.stack: AirflowStack | None = None
        self.api: AirflowApi | None = None
        self.runs: list[dict[str, Any]] = []
        self.task_instances: list[dict[str, Any]] = []
        self.graph: GraphCheck | None = None
        self.victim: Victim | None = None
        self.refused: dict[str, list[Refusal]] = {}
        self.secrets = SecretScan()

    def say(self, message: str) -> None:
        """Print a progress line with the seconds since the start."""
        print(f"[{time.monotonic() - self.started:5.0f} s] {message}", flush=True)

    def on_teardown(self, name: str, stop: Callable[[], Any]) -> None:
        """Remember how to stop what was just started (teardown stops in reverse order)."""
        self._stops.append((name, stop))

    def run(self) -> None:
        """Everything between start-up and teardown."""
        self.say(f"lab directory {self.root}")
        binaries = ensure_server_binaries()
        self.prepare_store()
        self.start_backing_services(binaries)
        self.start_hubspot()
        self.start_airflow()
        self.drive_dag()
        self.task_instances = self.api.task_instances(DAG_ID)
        (self.root / "task_instances.json").write_text(json.dumps(self.task_instances, indent=1))
        for run in self.runs:
            self.say(f"  {run['dag_run_id']}: {run['state']} in {run_seconds(run):.0f} s")
        self.refused = refused_runs(self.task_instances, self.api.task_log)
        for refusal in (r for refusals in self.refused.values() for r in refusals):
            self.say(f"  REFUSED {refusal.describe()}")
        self.judge_fault()
        writers = workers_with_writes(self.task_instances)
        self.say(f"workers that ran successful HubSpot writes: {', '.join(sorted(writers)) or 'none'}")
        self.say(f"DAG traffic through the relay: {describe_traffic(self.traffic())}")
        self.check()
        self.scan_secrets()

    def prepare_store(self) -> None:
        """Generate the default sample store (the size ``make demo`` uses), or check STORE exists."""
        if self.options.store is None:
            counts = generate_store(self.store)
            self.say("sample store " + ", ".join(f"{n} {table}" for table, n in counts.items()))
        elif not self.store.exists():
            raise FileNotFoundError(f"STORE={self.store} does not exist")
        else:
            self.say(f"store {self.store}")

    def start_backing_services(self, binaries: ServerBinaries) -> None:
        """PostgreSQL, Redis and moto (with the bucket), each on a free port."""
        self.postgres = PostgresServer(binaries.postgres_bin, self.root / "postgres")
        self.on_teardown("postgres", self.postgres.stop)
        self.postgres.start()
        self.say(f"PostgreSQL on port {self.postgres.port}")
        self.redis = RedisServer(binaries.redis_server, self.root / "redis")
        self.on_teardown("redis", self.redis.stop)
        self.redis.start(caller_environment())
        self.say(f"Redis on port {self.redis.port}")
        self.moto = MotoServer(self.root / "moto", BUCKET)
        self.on_teardown("moto", self.moto.stop)
        self.moto.start(caller_environment())
        self.say(f"moto S3 on {self.moto.endpoint}, bucket {BUCKET}")

    def start_hubspot(self) -> None:
        """The sandbox at HubSpot's pace (unless HUBSPOT_URL is given), and the relay in front of it."""
        if not self.hubspot_url:
            sandbox = SandboxProcess(tokens=[self.token], rate_limit=RATE_LIMIT, latency_ms=LATENCY_MS)
            self.on_teardown("sandbox", sandbox.stop)
            self.hubspot_url = sandbox.start().url
            self.say(
                f"HubSpot sandbox on {self.hubspot_url} (--rate-limit {RATE_LIMIT} --latency-ms {LATENCY_MS})"
            )
        else:
            self.say(f"HubSpot at {self.hubspot_url} (already running: no sandbox)")
        self.relay = RecordingRelay(self.hubspot_url).start()
        self.on_teardown("relay", self.relay.stop)
        self.say(f"recording relay on {self.relay.url} -> {self.hubspot_url}")

    def start_airflow(self) -> None:
        """Migrate the DB, start the five Airflow processes, wait for them and the DAG, create the pool."""
        endpoints = Endpoints(
            database_url=self.postgres.database_url,
            broker_url=self.redis.url,
            s3_endpoint=self.moto.endpoint,
            bucket=BUCKET,
            hubspot_url=self.relay.url,
            hubspot_token=self.token,
            store=self.store.resolve(),
            api_port=free_port(),
            log_server_port=free_port(),
        )
        self.stack = AirflowStack(self.root, endpoints, dag_file(), WORKERS)
        self.stack.prepare()
        self.say("metadata DB migrated")
        self.on_teardown("airflow", self.stop_airflow)
        self.stack.start()
        self.api = AirflowApi(endpoints.api_url, USERNAME, PASSWORD)
        wait_until(lambda: self.alive() and self.api.healthy() and self.stack.workers_ready(), 240, "Airflow")
        self.say(f"API server {endpoints.api_url}, scheduler, DAG processor and {len(WORKERS)} workers ready")
        self.api.login()
        wait_until(self.dag_parsed, 180, f"DAG {DAG_ID}", interval=1)
        self.api.set_pool("hubspot_api", POOL_SLOTS, "HubSpot API: concurrent HubSpot tasks")
        self.say(f"DAG {DAG_ID} parsed; pool hubspot_api has {POOL_SLOTS} slots")

    def alive(self) -> bool:
        """True while every Airflow process runs; raises with the log of one that exited."""
        dead = self.stack.dead() if self.stack else []
        if dead:
            raise RuntimeError(
                f"{dead[0].name} exited (code {dead[0].popen.returncode}):\n{dead[0].log_tail(30)}"
            )
        return True

    def dag_parsed(self) -> bool:
        """Whether the DAG is in the API; an import error fails at once."""
        errors = self.api.import_errors()
        if errors:
            raise RuntimeError(f"the DAG file does not import:\n{errors[0].get('stack_trace', errors[0])}")
        return self.api.dag_exists(DAG_ID)

    def drive_dag(self) -> None:
        """Unpause, trigger a full refresh, backfill three days with updates; wait for every run.

        The backfill is created once the full refresh runs (after the scheduled run unpausing created, as
        the DAG runs one non-backfill run at a time): its runs then write while the full refresh writes
        the same records, and the scheduled run, which finds nothing in its window, does not hold them up.
        """
        days = backfill_days(self.store, BACKFILL_DAYS)
        first, last = backfill_range(days)
        self.api.unpause(DAG_ID)
        unpaused = time.monotonic()
        manual = self.api.trigger(DAG_ID, {"full_refresh": True})
        self.say(f"unpaused {DAG_ID}; triggered full refresh {manual}")
        self.wait_for(lambda: self.run_state(manual) not in (None, "queued"), "the full refresh to start")
        backfill = self.api.backfill(DAG_ID, first, last, max_active_runs=BACKFILL_DAYS)
        self.say(f"backfill {backfill['id']} of {', '.join(map(str, days))}: {backfill['logical_dates']}")
        if len(backfill["logical_dates"]) != len(days):
            raise RuntimeError(f"the backfill covers {len(backfill['logical_dates'])} runs, not {len(days)}")
        backfill_id = int(backfill["id"])
        self.wait_for(lambda: self.all_finished(manual, backfill_id, unpaused), "every DAG run to finish")

    def inject_fault(self, task_instances: list[dict[str, Any]]) -> None:
        """``FAULT=kill-worker``: once, SIGKILL the worker running a create task while its creates are in
        flight (see worker_fault.py); ``task_instances`` as just polled."""
        if self.options.fault != "kill-worker" or self.victim is not None or self.relay is None:
            return
        arrivals = [(e.at, e.path) for e in self.relay.exchanges[-300:]]
        in_flight = creates_in_flight(arrivals, time.monotonic())
        workers = [place.name for place in self.stack.workers]
        victim = choose_victim(task_instances, workers, create_object_types(), in_flight)
        if victim is None:
            return
        killed = self.stack.kill(victim.worker)
        self.victim = victim
        self.say(f"FAULT kill-worker: SIGKILL to {killed} processes of {victim.describe()}")

    def judge_fault(self) -> None:
        """Say what became of the killed worker's task (or that no write was caught to kill)."""
        if self.options.fault != "kill-worker":
            return
        if self.victim is None:
            self.problems.append("FAULT=kill-worker: no create task was caught mid-write, nothing was killed")
            return
        ti = next(
            (t for t in self.task_instances if (t["dag_run_id"], t["task_id"]) == (self.victim.run_id,
             self.victim.task_id)),
            {},
        )  # fmt: skip
        self.say(
            f"the killed task {self.victim.task_id} ended {ti.get('state')} on try {ti.get('try_number')} "
            f"on {ti.get('hostname') or '-'}"
        )

    def run_state(self, run_id: str) -> str | None:
        """The state of one run as last polled (None before it shows up)."""
        return next((run["state"] for run in self.runs if run["dag_run_id"] == run_id), None)

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Poll the runs every 3 s, printing progress when it changes, until ``condition`` holds."""
        deadline = time.monotonic() + self.options.timeout
        shown = ""
        while True:
            self.alive()
            self.runs = self.api.dag_runs(DAG_ID)
            task_instances = self.api.task_instances(DAG_ID)  # one poll for the fault and the progress
            self.inject_fault(task_instances)
            progress = self.progress(task_instances)
            if progress != shown:
                self.say(progress)
                shown = progress
            if condition():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {self.options.timeout:.0f} s for {what}")
            time.sleep(3)

    def all_finished(self, manual: str, backfill_id: int, unpaused: float) -> bool:
        """Every run finished, the manual one among them, the backfill completed, and the scheduled run
        there (or a minute passed without one)."""
        if not all(run["state"] in FINISHED for run in self.runs):
            return False
        if manual not in {run["dag_run_id"] for run in self.runs}:
            return False
        scheduled = any(run["run_type"] == "scheduled" for run in self.runs)
        if not scheduled and time.monotonic() - unpaused < 60:
            return False
        return self.api.backfill_state(backfill_id).get("completed_at") is not None

    def progress(self, task_instances: list[dict[str, Any]]) -> str:
        """Runs by state, task instances by state, and the DAG's HubSpot traffic so far."""
        runs = Counter(run["state"] for run in self.runs)
        tasks = Counter(ti["state"] or "none" for ti in task_instances)
        return (
            f"runs: {_counts(runs)} | tasks: {_counts(tasks)} | HubSpot: {describe_traffic(self.traffic())}"
        )

    def traffic(self) -> Traffic:
        """The DAG's HubSpot requests so far, as the relay recorded them."""
        return self.relay.traffic() if self.relay else Traffic(0, 0, 0, None)

    def check(self) -> None:
        """Read HubSpot through its public API (not through the relay) and compare it with the store."""
        reader = HubSpotReader(self.hubspot_url, self.token)
        self.say("checking HubSpot against the store record by record ...")
        rejections = recorded_rejections(self.store)
        for stream, keys in rejections.items():
            key, reason = next(iter(keys.items()))
            self.say(
                f"  the sync rejected {len(keys)} {stream} rows with a reason, e.g. {key}: {reason[:200]}"
            )
        self.graph = check_graph(reader, self.store, rejected=rejected_keys(rejections))
        if self.relay and self.relay.rate_limit_max is None:
            self.relay.rate_limit_max = reader.rate_limit_max
        self.say(self.graph.describe())

    def scan_secrets(self) -> None:
        """Search the bucket, the XCom table and the components' logs for the HubSpot token."""
        scan_bucket(self.moto.endpoint, BUCKET, self.token, self.secrets)
        scan_xcom_table(self.postgres.database_url, self.token, self.secrets)
        scan_files(self.root / "logs", self.token, self.secrets)
        self.say(self.secrets.describe())

    def explain(self) -> None:
        """Why the run failed: components that died, failed task instances (and those waiting to retry)
        with the end of their logs, and how many tasks they blocked."""
        for process in self.stack.dead() if self.stack else []:
            print(f"--- {process.name} exited; end of {process.log}:\n{process.log_tail(30)}")
        if self.api is None:
            return
        try:
            instances = self.api.task_instances(DAG_ID)
        except Exception as error:
            print(f"(task instances unavailable: {error})")
            return
        failed = [ti for ti in instances if ti["state"] in ("failed", "up_for_retry")]
        blocked = Counter(ti["dag_run_id"] for ti in instances if ti["state"] == "upstream_failed")
        for ti in failed:
            print(f"  {ti['state']}: {ti['dag_run_id']} {ti['task_id']} on {ti.get('hostname') or '-'}")
        for run_id, count in sorted(blocked.items()):
            print(f"  {count} task(s) of {run_id} did not run (upstream_failed)")
        for ti in failed[:4]:
            print(
                f"--- log of {ti['task_id']} in {ti['dag_run_id']} (try {ti.get('try_number')}), last lines:"
            )
            try:
                print("\n".join(self.api.task_log(ti)[-25:]))
            except Exception as error:
                print(f"(log unavailable: {error})")

    def stop_airflow(self) -> None:
        """Stop the Airflow processes, printing the CPU each used and how long each step took."""
        cpu = ", ".join(f"{name} {seconds:.0f}" for name, seconds in self.stack.cpu_seconds().items())
        self.say(f"  CPU seconds used: {cpu}")
        for name, seconds in self.stack.stop():
            self.say(f"  stopped {name} in {seconds:.1f} s")

    def teardown(self) -> None:
        """Stop everything in reverse start order (ignoring Ctrl-C meanwhile); remove the lab unless KEEP."""
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.say("tearing down (a worker first finishes the task it runs) ...")
        for name, stop in reversed(self._stops):
            began = time.monotonic()
            try:
                stop()
            except Exception as error:
                print(f"  stopping {name} failed: {error}")
            self.say(f"stopped {name} ({time.monotonic() - began:.1f} s)")
        if self.options.keep:
            self.say(f"KEEP=1: the lab directory stays at {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def outcome(self) -> Outcome:
        """The figures of the final line."""
        traffic = self.traffic()
        graph = self.graph
        return Outcome(
            workers=len(WORKERS),
            workers_with_hubspot_writes=len(workers_with_writes(self.task_instances)),
            runs=len(self.runs),
            runs_ok=sum(run["state"] == "success" for run in self.runs),
            graph_ok=graph is not None and graph.ok,
            duplicates=len(graph.duplicates) if graph else 0,
            missing=len(graph.missing) if graph else 0,
            peak_requests_10s=traffic.peak_requests_10s,
            limit=traffic.rate_limit_max or RATE_LIMIT,
            http_429=traffic.http_429,
            requests=traffic.requests,
            seconds=time.monotonic() - self.started,
            write_tasks=len(successful_writes(self.task_instances)),
            rejected=len(graph.rejected) if graph else 0,
            runs_refused=len(self.refused),
            workers_killed=int(self.victim is not None),
            secrets_found=len(self.secrets.hits),
            lost_task_recovered=self.victim is None or recovered(self.task_instances, self.victim),
        )


@cache
def create_object_types() -> dict[str, str]:
    """The DAG's create tasks and the object type each writes (``create_payments``: ``commerce_payments``),
    from the mapping the DAG file loads."""
    mapping = load_mapping()
    return {f"create_{name}": stream.object_type for name, stream in mapping.streams.items()}


def run_seconds(run: dict[str, Any]) -> float:
    """How long a DAG run took, from its start to its end (0 if it has not both)."""
    if not (run.get("start_date") and run.get("end_date")):
        return 0.0
    start, end = (datetime.fromisoformat(run[field]) for field in ("start_date", "end_date"))
    return (end - start).total_seconds()


def describe_traffic(traffic: Traffic) -> str:
    """The relay's figures as ``name=value`` pairs."""
    return (
        f"requests={traffic.requests} peak_10s={traffic.peak_requests_10s} "
        f"limit={traffic.rate_limit_max or '?'} http_429={traffic.http_429}"
    )


def _counts(counter: Counter[str]) -> str:
    """``"3 success, 1 running"``."""
    return ", ".join(f"{n} {state}" for state, n in sorted(counter.items())) or "none yet"
