"""The Airflow side of the lab: one environment for every component, and the five Airflow processes.

Layout: the API server, scheduler and DAG processor share the ``control`` directory; each Celery worker has
its own directory that is its cwd, ``TMPDIR``, ``HOME`` and ``AIRFLOW_HOME`` (with its own copy of the DAG
file), so nothing can pass between tasks on different workers through a local disk: everything a task hands
on goes through S3 (the DAG's ``work_dir``, the XCom backend) or the metadata DB.

Task logs go to S3 too (remote logging): the workers share no disk, and their host names (``worker-a``,
``worker-b``, trap T2) do not resolve, so the API server could not fetch served logs from them; both workers
therefore run with ``--skip-serve-logs`` (which also avoids two log servers on one port, trap T4).
The JWT secret, API secret key and Fernet key are the same everywhere (T3), and every component is told the
execution API URL (T5).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hubspot_commerce_lab.distributed.processes import ManagedProcess
from hubspot_commerce_lab.distributed.services import AWS_KEY, AWS_REGION
from hubspot_commerce_lab.distributed.worker_fault import HEARTBEAT_TIMEOUT_S
from hubspot_commerce_lab.distributed.worker_name import WORKER_NAME_VARIABLE

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
USERNAME = PASSWORD = "admin"
WORKER_CONCURRENCY = 2  # task processes per worker: two workers on two cores
XCOM_THRESHOLD = 65536  # bytes; id maps above it go to S3, small values stay in the DB


@dataclass(frozen=True)
class Secrets:
    """Keys every component must share (a component with its own would reject the others' tokens)."""

    jwt_secret: str
    api_secret_key: str
    fernet_key: str

    @classmethod
    def generate(cls) -> Secrets:
        """Random keys (the Fernet key is 32 random bytes, URL-safe base64, as Fernet wants)."""
        fernet = base64.urlsafe_b64encode(os.urandom(32)).decode()
        return cls(secrets.token_urlsafe(64), secrets.token_urlsafe(64), fernet)


@dataclass(frozen=True)
class Endpoints:
    """What the Airflow components connect to."""

    database_url: str
    broker_url: str
    s3_endpoint: str
    bucket: str
    hubspot_url: str
    hubspot_token: str
    store: Path
    api_port: int
    log_server_port: int

    @property
    def api_url(self) -> str:
        """The API server's base URL."""
        return f"http://127.0.0.1:{self.api_port}"


@dataclass(frozen=True)
class Place:
    """One component's own directory: its cwd, TMPDIR, HOME and AIRFLOW_HOME (with a DAGs folder)."""

    name: str
    root: Path

    @property
    def airflow_home(self) -> Path:
        """This component's own AIRFLOW_HOME."""
        return self.root / "airflow"

    @property
    def dags(self) -> Path:
        """This component's own DAGs folder."""
        return self.airflow_home / "dags"

    def make(self, dag_file: Path) -> None:
        """Create the directories and copy the DAG file (unchanged) into the DAGs folder."""
        for directory in (self.root / "tmp", self.root / "home", self.dags):
            directory.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dag_file, self.dags / dag_file.name)

    def environment(self) -> dict[str, str]:
        """The variables that put a component in this place."""
        return {
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.airflow_home / "plugins"),
            "HOME": str(self.root / "home"),
            "TMPDIR": str(self.root / "tmp"),
        }


def caller_environment() -> dict[str, str]:
    """The caller's environment without any Airflow setting (``make`` exports its own AIRFLOW_HOME, pytest
    its own), with this virtualenv's bin first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def shared_settings(endpoints: Endpoints, keys: Secrets, passwords: Path) -> dict[str, str]:
    """The settings every component gets, as environment variables."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": endpoints.database_url,
        "AIRFLOW__CELERY__BROKER_URL": endpoints.broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{endpoints.database_url}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(endpoints.api_port),
        "AIRFLOW__API__BASE_URL": endpoints.api_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{endpoints.api_url}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": keys.jwt_secret,
        "AIRFLOW__API__SECRET_KEY": keys.api_secret_key,
        "AIRFLOW__CORE__FERNET_KEY": keys.fernet_key,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(endpoints.log_server_port),
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": f"s3://{endpoints.bucket}/logs",
        "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID": "aws_default",
        "AIRFLOW__LOGGING__DELETE_LOCAL_LOGS": "True",
        # The DAG file is there when the DAG processor starts; re-parsing it every 30 s only costs CPU.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        # A worker killed mid-task (FAULT=kill-worker) stops heartbeating: fail its try within a minute.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
        "AIRFLOW__CORE__XCOM_BACKEND": "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": f"s3://aws_default@{endpoints.bucket}/xcom",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": str(XCOM_THRESHOLD),
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION": "gzip",
        "AIRFLOW__HUBSPOT_COMMERCE__WORK_DIR": f"s3://aws_default@{endpoints.bucket}/hubspot_commerce",
        **connections(endpoints),
    }


def connections(endpoints: Endpoints) -> dict[str, str]:
    """``aws_default`` (moto), ``hubspot_default`` (the relay) and ``commerce_source`` (the SQLite store)."""
    aws_extra = {"endpoint_url": endpoints.s3_endpoint, "region_name": AWS_REGION}
    aws = {"conn_type": "aws", "login": AWS_KEY, "password": AWS_KEY, "extra": aws_extra}
    hubspot = {"conn_type": "hubspot", "host": endpoints.hubspot_url, "password": endpoints.hubspot_token}
    source = {"conn_type": "sqlite", "host": str(endpoints.store)}
    return {
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(aws),
        "AIRFLOW_CONN_HUBSPOT_DEFAULT": json.dumps(hubspot),
        "AIRFLOW_CONN_COMMERCE_SOURCE": json.dumps(source),
    }


class AirflowStack:
    """API server, scheduler and DAG processor in ``control``, and two Celery workers in their own places."""

    def __init__(self, lab: Path, endpoints: Endpoints, dag_file: Path, workers: tuple[str, ...]) -> None:
        """Plan the places and the shared settings (with fresh secrets); nothing starts yet."""
        self.lab = lab
        self.dag_file = dag_file
        self.control = Place("control", lab / "control")
        self.workers = [Place(name, lab / name) for name in workers]
        passwords = self.control.root / "passwords.json"
        self.settings = {**caller_environment(), **shared_settings(endpoints, Secrets.generate(), passwords)}
        self.processes: dict[str, ManagedProcess] = {}

    def env(self, place: Place) -> dict[str, str]:
        """The full environment of a component running in ``place``."""
        env = {**self.settings, **place.environment()}
        if place is not self.control:
            env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = (
                "hubspot_commerce_lab.distributed.worker_name.worker_name"
            )
            env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] = (
                "hubspot_commerce_lab.distributed.worker_preload.CELERY_CONFIG"
            )
            env[WORKER_NAME_VARIABLE] = place.name
        return env

    def prepare(self) -> None:
        """Directories, DAG copies, the admin password file; migrate the metadata DB."""
        for place in (self.control, *self.workers):
            place.make(self.dag_file)
        (self.control.root / "passwords.json").write_text(json.dumps({USERNAME: PASSWORD}))
        result = subprocess.run(
            [AIRFLOW, "db", "migrate"],
            env=self.env(self.control),
            cwd=self.control.root,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{(result.stdout + result.stderr)[-3000:]}")

    def start(self) -> None:
        """Start the API server, scheduler, DAG processor and the workers (each in its own session)."""
        for component in ("api-server", "scheduler", "dag-processor"):
            self._start(component, self.control, [AIRFLOW, component])
        for place in self.workers:
            command = [AIRFLOW, "celery", "worker", "-H", f"{place.name}@%h"]
            command += ["-c", str(WORKER_CONCURRENCY), "--skip-serve-logs"]
            self._start(place.name, place, command)

    def _start(self, name: str, place: Place, command: list[str]) -> None:
        """Start one component in its place, logging to ``<lab>/logs/<name>.log``."""
        log = self.lab / "logs" / f"{name}.log"
        self.processes[name] = ManagedProcess.start(name, command, self.env(place), place.root, log)

    def dead(self) -> list[ManagedProcess]:
        """Components that exited (none should, while the lab runs)."""
        return [process for process in self.processes.values() if not process.alive()]

    def workers_ready(self) -> bool:
        """Whether every worker's Celery node said it is ready."""
        for place in self.workers:
            process = self.processes.get(place.name)
            if process is None or " ready." not in process.log.read_text(errors="replace"):
                return False
        return True

    def kill(self, name: str) -> int:
        """SIGKILL one component and everything in its session; it is no longer watched or stopped.
        Returns how many processes died."""
        return self.processes.pop(name).kill()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds each running component used so far (its task processes included)."""
        return {name: process.cpu_seconds() for name, process in self.processes.items()}

    def stop(self) -> list[tuple[str, float]]:
        """Stop in the safe order: scheduler (no new work), the workers together (warm: running tasks
        finish), DAG processor, API server last (task runners report to it until their end).
        Returns the seconds each step took."""
        workers = [place.name for place in self.workers]
        steps = [(["scheduler"], 30), (workers, 90), (["dag-processor"], 30), (["api-server"], 30)]
        timings = []
        for names, timeout in steps:
            started = time.monotonic()
            processes = [self.processes.pop(name) for name in names if name in self.processes]
            for process in processes:
                process.request_stop()
            for process in processes:
                process.wait_stopped(timeout)
            if processes:
                timings.append((" and ".join(p.name for p in processes), time.monotonic() - started))
        return timings
