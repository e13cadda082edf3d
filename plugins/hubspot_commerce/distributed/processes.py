"""Long-lived child processes of the lab: started in their own session, logged to a file, stopped for sure.

Every server runs in a new session (``setsid``), so it is the leader of its own process group: stopping it
sends SIGTERM to the leader (a Celery worker's warm shutdown lets its running task finish), waits, and then
kills whatever is left of the group (uvicorn workers, prefork children), so nothing outlives the lab.
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
    """One server process of the lab, the leader of its own process group."""

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

    def stop(self, timeout: float) -> float:
        """SIGTERM the leader and wait up to ``timeout`` s; then kill the group. Returns the seconds taken."""
        started = time.monotonic()
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"  {self.name} did not stop within {timeout:.0f} s: killing it", flush=True)
        kill_group(self.popen.pid)
        if self.alive():
            self.popen.wait(10)
        return time.monotonic() - started


def kill_group(pgid: int, grace: float = 5.0) -> None:
    """Terminate, then kill, every process left in group ``pgid`` (children of a leader that exited)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        if not group_alive(pgid):
            return
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still exists (zombies of our own children do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(_in_group(pid, pgid) for pid in _live_pids())


def _live_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _in_group(pid: int, pgid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) member of ``pgid``, read from ``/proc/<pid>/stat``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0] != "Z" and int(fields[2]) == pgid
