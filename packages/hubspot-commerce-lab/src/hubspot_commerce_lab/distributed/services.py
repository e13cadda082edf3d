"""The lab's backing servers: PostgreSQL (Airflow's metadata DB), Redis (the Celery broker), moto (S3).

Each runs from the lab directory on a free port and keeps its state there (moto in memory), so the lab
touches no system service: Debian's own PostgreSQL cluster on 5432 is left alone.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import requests

from hubspot_commerce_lab.distributed.processes import ManagedProcess, free_port, wait_until

AWS_REGION = "us-east-1"
AWS_KEY = "testing"  # moto accepts any credentials


class PostgresServer:
    """A throwaway cluster in ``root`` on a free port, run as the ``postgres`` user when we are root
    (``initdb`` refuses root, and ``pg_ctl``'s log must be writable by the server: trap T9)."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        """Choose the port; nothing runs before :meth:`start`."""
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.started = False

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the ``airflow`` database (trust authentication on 127.0.0.1)."""
        return f"postgresql+psycopg2://airflow:airflow@127.0.0.1:{self.port}/airflow"

    def _run(self, *args: str) -> None:
        """Run a PostgreSQL tool as the cluster's owner; fail with its output."""
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> None:
        """initdb, start on 127.0.0.1 only (socket in ``root``), create the ``airflow`` user and database."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            shutil.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.root.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")
        self.started = True
        psql = ("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q")
        self._run(*psql, "-c", "CREATE USER airflow WITH PASSWORD 'airflow'")
        self._run(*psql, "-c", "CREATE DATABASE airflow OWNER airflow")

    def stop(self) -> None:
        """Fast shutdown (the lab's data is thrown away)."""
        if self.started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            self.started = False


class RedisServer:
    """``redis-server`` in the foreground on a free port, without persistence."""

    def __init__(self, binary: Path, root: Path) -> None:
        """Choose the port; nothing runs before :meth:`start`."""
        self.binary = binary
        self.root = root
        self.port = free_port()
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """The Celery broker URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, env: dict[str, str]) -> None:
        """Start the server and wait until it answers PING."""
        self.root.mkdir(parents=True, exist_ok=True)
        command = [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root)]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.process = ManagedProcess.start("redis", command, env, self.root, self.root / "redis.log")
        wait_until(self.ping, 20, "redis-server")

    def ping(self) -> bool:
        """Whether the server answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM (its state is thrown away), killed if it does not exit in 10 s."""
        if self.process is not None:
            self.process.stop(10)


class MotoServer:
    """moto's S3-compatible server (from the ``moto[server]`` extra) with one bucket; state in memory."""

    def __init__(self, root: Path, bucket: str) -> None:
        """Choose the port; nothing runs before :meth:`start`."""
        self.root = root
        self.bucket = bucket
        self.port = free_port()
        self.process: ManagedProcess | None = None

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL (``endpoint_url`` of the ``aws_default`` connection)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, env: dict[str, str]) -> None:
        """Start the server, wait for it, create the bucket."""
        self.root.mkdir(parents=True, exist_ok=True)
        command = [
            str(Path(sys.executable).with_name("moto_server")),
            "-H",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        self.process = ManagedProcess.start("moto", command, env, self.root, self.root / "moto.log")
        wait_until(self._answers, 30, "moto_server")
        self.client().create_bucket(Bucket=self.bucket)

    def _answers(self) -> bool:
        """Whether the server answers; raises if it exited."""
        if self.process is not None and not self.process.alive():
            raise RuntimeError(f"moto_server exited:\n{self.process.log_tail()}")
        try:
            return requests.get(f"{self.endpoint}/moto-api/", timeout=2).ok
        except requests.RequestException:
            return False

    def client(self) -> Any:
        """A boto3 S3 client on the server."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=AWS_REGION,
            aws_access_key_id=AWS_KEY,
            aws_secret_access_key=AWS_KEY,
        )

    def object_count(self, prefix: str) -> int:
        """How many objects the bucket holds under ``prefix`` (first 1,000), to show what went through S3."""
        answer = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return int(answer.get("KeyCount", 0))

    def stop(self) -> None:
        """SIGTERM (its state is thrown away), killed if it does not exit in 10 s."""
        if self.process is not None:
            self.process.stop(10)
