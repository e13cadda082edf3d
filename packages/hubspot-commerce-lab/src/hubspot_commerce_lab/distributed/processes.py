"""Long-lived child processes of the lab: started in their own session, logged to a file, stopped for sure.

Every server runs in a new session (``setsid``) that it leads: stopping it sends SIGTERM to the leader (a
Celery worker's warm shutdown lets its running task finish), waits, and then kills whatever is left of the
session (uvicorn workers, prefork children, task processes), so nothing outlives the lab.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on now (the kernel's choice for port 0), so the lab never clashes."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.25) -> float:
    """Poll ``check`` until it is true; return the seconds it took, or raise naming ``what``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} was not ready after {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - started


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class ManagedProcess:
    """One server process of the lab, the leader of its own session."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(
        cls, name: str, command: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path
    ) -> ManagedProcess:
        """Start ``command`` in a new session with stdout and stderr in ``log`` and no stdin."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(command),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name, popen, log)

    def alive(self) -> bool:
        """Whether the leader is still running."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the process's log, to explain why it stopped."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """CPU time used so far by the process's session (live members and the children they reaped)."""
        return session_cpu_seconds(self.popen.pid)

    def request_stop(self) -> None:
        """SIGTERM the leader (a Celery worker starts its warm shutdown)."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the leader to exit; then kill whatever is left of its session."""
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"  {self.name} did not stop within {timeout:.0f} s: killing it", flush=True)
        kill_session(self.popen.pid)
        if self.alive():
            self.popen.wait(10)

    def kill(self) -> int:
        """SIGKILL every process of the session at once, as the kernel's OOM killer or a reclaimed machine
        would end them (no warm shutdown, no task told); returns how many there were."""
        members = session_members(self.popen.pid)
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        self.popen.wait(10)
        return len(members)

    def stop(self, timeout: float) -> float:
        """SIGTERM, wait up to ``timeout`` s, kill the session; returns the seconds it took."""
        started = time.monotonic()
        self.request_stop()
        self.wait_stopped(timeout)
        return time.monotonic() - started


def kill_session(sid: int, grace: float = 5.0) -> None:
    """Terminate, then kill, every process left in session ``sid``: children of a leader that exited, and
    task processes, which Airflow puts in process groups of their own (but not in sessions of their own)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        members = session_members(sid)
        if not members:
            return
        for pid in members:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + wait
        while session_members(sid) and time.monotonic() < deadline:
            time.sleep(0.1)


def session_members(sid: int) -> list[int]:
    """Running (not zombie) processes of session ``sid``."""
    return [pid for pid, fields in _stats() if fields[0] != "Z" and int(fields[3]) == sid]


def session_cpu_seconds(sid: int) -> float:
    """User and system CPU seconds of every live member of session ``sid``, reaped children included."""
    ticks = sum(sum(map(int, fields[11:15])) for _, fields in _stats() if int(fields[3]) == sid)
    return ticks / os.sysconf("SC_CLK_TCK")


def _stats() -> list[tuple[int, list[str]]]:
    """Every process's ``/proc/<pid>/stat`` fields after the command name (state, ppid, pgrp, session,
    ...; utime, stime, cutime, cstime at 11-14)."""
    stats = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            stats.append((int(entry), stat.rsplit(")", 1)[1].split()))
    return stats
