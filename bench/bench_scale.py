"""Benchmark (issue 13): the whole ``hubspot_commerce_sync`` DAG on stores of 100,000 and 1,000,000 orders.

For each size it generates the sample store (orders with their lines and payments, carts with theirs, the
customers and products they name), starts the sandbox with its rate and daily limits out of the way and no
latency, so the client's own cost shows, runs the DAG with ``full_refresh`` through ``airflow dags test``
(as ``bench_dag.py`` does) and prints one line:

    SCALE records= seconds= records_per_s= peak_task_rss_mb= client_cpu_us_per_record= sandbox_peak_rss_mb=

* ``records``: rows in the store; each one becomes one HubSpot record.
* ``seconds``: from the first task's start to the run's end, as Airflow logged them (``bench_dag.py``).
* ``peak_task_rss_mb``: ``airflow dags test`` runs every task in the CLI's own process, one after another,
  so that one process is all the task processes. The figure is that process's peak resident memory
  (``VmHWM``) at the first sample after its last task ended, which bounds every task. It is an upper bound
  for the RSS of any one task: the process also holds Airflow's own footprint (imports, the in-process API
  server, the metadata DB) and whatever earlier tasks left allocated (CPython seldom gives freed memory back
  to the OS), which a task process on a worker would not carry.
* ``process_peak_rss_mb``: the process's peak over its whole life, ``ru_maxrss`` from ``os.wait4`` (the
  process and any children it waited for), including what happens after the last task (the CLI's exit).
* ``client_cpu_us_per_record``: user + system CPU time of that process (``os.wait4``) per record. It includes
  Airflow's start-up and scheduling, so it too is an upper bound for the tasks' own.
* ``sandbox_peak_rss_mb``: ``VmHWM`` of the sandbox process, read before it is stopped.

Every tenth of a second the harness samples the process's RSS, peak RSS and CPU time from ``/proc``; per task
it writes seconds, CPU seconds, RSS at its start, its highest RSS and how much it raised the process's peak to
``.bench/scale-<orders>-tasks.txt`` (Airflow's log is ``.bench/scale-<orders>.log``). A run longer than
``--timeout`` seconds or above ``--max-rss-gb`` is killed, and ``SCALE_STOPPED`` says how far it got. After a
run of at most ``--check-up-to`` orders, HubSpot's state is checked through its public API (``SCALE_CHECK``):
the records per object type are as many as the store's rows, no source key is there twice, every record
holds its row's values, and 1,000 random orders (with their lines and payments) and carts (with their
lines) have exactly their links.

    python bench/bench_scale.py [--orders 100000 1000000] [--timeout 3600] [--max-rss-gb 12]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_dag import run_seconds
from bench_sandbox_memory import process_memory_kb

from hubspot_commerce_lab.demo import DAG_ID, prepare_airflow, sync_environment
from hubspot_commerce_lab.distributed.graph_check import Links, check_graph
from hubspot_commerce_lab.distributed.hubspot_reader import HubSpotReader
from hubspot_commerce_lab.sample_store import StoreSize, generate_store
from hubspot_sandbox.process import SandboxProcess

TOKEN = "bench-token"
OUT_OF_THE_WAY = 10**9  # requests per 10 s and per day: no limit the client could reach
SAMPLE_ORDERS = 1_000
POLL_SECONDS = 0.1
PROGRESS_SECONDS = 60
TICKS = os.sysconf("SC_CLK_TCK")
STARTED = re.compile(r"^(\S+?)Z? .*\[DAG TEST\] running task <TaskInstance: [^.\s]+\.(\S+) ")
ENDED = re.compile(r"^(\S+?)Z? .*\[DAG TEST\] end task task_id=(\S+)")


def scale_size(orders: int) -> StoreSize:
    """A store of ``orders`` orders: a product per 100 orders, 37 customers and 25 carts per 100 orders."""
    return StoreSize(
        products=max(500, orders // 100), customers=orders * 37 // 100, orders=orders, carts=orders // 4
    )


@dataclass(frozen=True)
class Sample:
    """One look at the DAG's process: when (epoch s), its RSS and peak RSS (kB), its CPU time so far (s)."""

    at: float
    rss_kb: int
    hwm_kb: int
    cpu_s: float


def sample(pid: int) -> Sample | None:
    """The process's memory and CPU time now (None once it is gone)."""
    try:
        memory = process_memory_kb(pid)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return Sample(time.time(), memory.get("VmRSS", 0), memory.get("VmHWM", 0), cpu)


@dataclass
class Run:
    """A finished or stopped ``airflow dags test``: exit code, resource usage, samples, why it was stopped."""

    exit_code: int
    usage: Any  # resource.struct_rusage of the process and the children it waited for
    samples: list[Sample] = field(default_factory=list)
    stopped: str = ""


def run_dag(env: dict[str, str], log: Path, limits: argparse.Namespace, sandbox_pid: int) -> Run:
    """``airflow dags test`` with ``full_refresh``: sampled, stopped past the time or memory limit."""
    command = [
        str(Path(sys.executable).with_name("airflow")),
        "dags",
        "test",
        DAG_ID,
        "-c",
        json.dumps({"full_refresh": True}),
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    started, samples, stopped = time.monotonic(), [], ""
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        now, elapsed = sample(process.pid), time.monotonic() - started
        samples += [now] if now else []
        if stopped := stop_reason(now, elapsed, limits):
            os.killpg(process.pid, signal.SIGKILL)
            _, status, usage = os.wait4(process.pid, 0)
            break
        if now and len(samples) % int(PROGRESS_SECONDS / POLL_SECONDS) == 0:
            sandbox_mb = process_memory_kb(sandbox_pid)["VmRSS"] // 1024
            say(
                f"{elapsed:.0f} s: DAG process RSS {now.rss_kb // 1024} MB (peak {now.hwm_kb // 1024} MB), "
                f"CPU {now.cpu_s:.0f} s; sandbox RSS {sandbox_mb} MB"
            )
        time.sleep(POLL_SECONDS)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, with its resource usage
    return Run(process.returncode, usage, samples, stopped)


def stop_reason(now: Sample | None, elapsed: float, limits: argparse.Namespace) -> str:
    """Why a DAG run must be stopped now ("" if it may go on)."""
    if now and now.rss_kb > limits.max_rss_gb * 1024 * 1024:
        return f"RSS {now.rss_kb // 1024} MB above --max-rss-gb {limits.max_rss_gb}"
    if elapsed > limits.timeout:
        return f"still running after --timeout {limits.timeout} s"
    return ""


def task_intervals(log: Path) -> list[tuple[str, float, float | None]]:
    """(task id, start, end or None) of each task, in the order they ran, from ``[DAG TEST]`` log lines."""
    intervals: list[tuple[str, float, float | None]] = []
    for line in log.read_text(errors="replace").splitlines():
        if match := STARTED.match(line):
            intervals.append((match.group(2), epoch(match.group(1)), None))
        elif (match := ENDED.match(line)) and intervals and intervals[-1][0] == match.group(2):
            intervals[-1] = (intervals[-1][0], intervals[-1][1], epoch(match.group(1)))
    return intervals


def epoch(stamp: str) -> float:
    """A log line's UTC timestamp in epoch seconds."""
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


def task_profile(log: Path, samples: Sequence[Sample]) -> list[str]:
    """Per task: seconds, CPU seconds, RSS at its start, its highest RSS, how much it raised the peak (MB)."""
    lines = []
    for task, start, end in task_intervals(log):
        end = end if end is not None else samples[-1].at
        before = [s for s in samples if s.at <= start] or samples[:1]
        after = [s for s in samples if s.at >= end] or samples[-1:]
        inside = [s for s in samples if start <= s.at <= end] + before[-1:] + after[:1]
        lines.append(
            f"task={task} seconds={end - start:.1f} cpu_s={after[0].cpu_s - before[-1].cpu_s:.1f} "
            f"rss_start_mb={before[-1].rss_kb // 1024} rss_peak_mb={max(s.rss_kb for s in inside) // 1024} "
            f"raised_peak_mb={(after[0].hwm_kb - before[-1].hwm_kb) // 1024}"
        )
    return lines


class CountingReader:
    """A ``GraphReader`` that counts the records it lists per object type."""

    def __init__(self, reader: HubSpotReader) -> None:
        self.reader = reader
        self.counts: dict[str, int] = {}

    def list_objects(self, object_type: str, properties: Sequence[str]) -> list[dict[str, Any]]:
        """Every record of a type (counted)."""
        records = self.reader.list_objects(object_type, properties)
        self.counts[object_type] = len(records)
        return records

    def associations(self, from_type: str, to_type: str, ids: Sequence[str]) -> Links:
        """Links of the records ``ids`` to records of ``to_type``."""
        return self.reader.associations(from_type, to_type, ids)


def check_state(sandbox: SandboxProcess, store: Path, rows: dict[str, int]) -> bool:
    """HubSpot against the store: records per type, no key twice, values, the links of a sample."""
    started = time.monotonic()
    reader = CountingReader(HubSpotReader(sandbox.url, sandbox.token, budget=OUT_OF_THE_WAY))
    result = check_graph(reader, store, sample=SAMPLE_ORDERS)
    expected = {
        "products": rows["products"],
        "contacts": rows["customers"],
        "orders": rows["orders"],
        "line_items": rows["order_lines"] + rows["cart_lines"],
        "commerce_payments": rows["payments"],
        "carts": rows["carts"],
    }
    same = reader.counts == expected
    print(
        f"SCALE_CHECK orders={rows['orders']} ok={result.ok and same} "
        f"counts={'same' if same else reader.counts} duplicates={len(result.duplicates)} "
        f"missing={len(result.missing)} mismatches={len(result.mismatches)} "
        f"links_checked={result.links_checked} seconds={time.monotonic() - started:.0f}",
        flush=True,
    )
    if not result.ok:
        say(result.describe())
    return result.ok and same


def tasks_peak_kb(log: Path, samples: Sequence[Sample]) -> int | None:
    """The process's peak RSS (kB) at the first sample after its last task ended; None without one."""
    ends = [end for _, _, end in task_intervals(log) if end is not None]
    if not ends:
        return None
    last_end = max(ends)
    return next((s.hwm_kb for s in samples if s.at >= last_end), None)


def report(orders: int, records: int, run: Run, log: Path, sandbox_peak_kb: int) -> bool:
    """The SCALE line, or SCALE_STOPPED / a failure naming the log; whether the run succeeded."""
    peak_mb, cpu = run.usage.ru_maxrss // 1024, run.usage.ru_utime + run.usage.ru_stime
    if run.stopped or run.exit_code != 0:
        why = run.stopped or f"airflow dags test exited with {run.exit_code}"
        done = [task for task, _, end in task_intervals(log) if end is not None]
        print(
            f"SCALE_STOPPED orders={orders} records={records} why={why!r} peak_rss_mb={peak_mb} "
            f"cpu_s={cpu:.0f} sandbox_peak_rss_mb={sandbox_peak_kb // 1024} tasks_done={','.join(done)} "
            f"log={log}",
            flush=True,
        )
        return False
    seconds, _ = run_seconds(log)
    tasks_mb = (tasks_peak_kb(log, run.samples) or run.usage.ru_maxrss) // 1024  # no sample after: the bound
    print(
        f"SCALE records={records} seconds={seconds:.1f} records_per_s={records / seconds:.0f} "
        f"peak_task_rss_mb={tasks_mb} client_cpu_us_per_record={cpu * 1e6 / records:.0f} "
        f"sandbox_peak_rss_mb={sandbox_peak_kb // 1024} process_peak_rss_mb={peak_mb}",
        flush=True,
    )
    return True


def run_size(orders: int, args: argparse.Namespace, work: Path) -> bool:
    """Generate, sync, measure, print, and check one store size; whether all went well."""
    store, log = work / f"scale-{orders}.sqlite", work / f"scale-{orders}.log"
    say(f"generating {store} ({orders} orders)")
    rows = generate_store(store, scale_size(orders))
    records = sum(rows.values())
    with SandboxProcess(tokens=[TOKEN], rate_limit=OUT_OF_THE_WAY, daily_limit=OUT_OF_THE_WAY) as sandbox:
        env = sync_environment(store, sandbox.url, sandbox.token)
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the result lines
            prepare_airflow(env)
        say(f"airflow dags test {DAG_ID} on {records} records; log {log}")
        run = run_dag(env, log, args, sandbox.pid)
        sandbox_peak_kb = process_memory_kb(sandbox.pid)["VmHWM"]
        profile = task_profile(log, run.samples) if run.samples else []
        (work / f"scale-{orders}-tasks.txt").write_text("".join(f"{line}\n" for line in profile))
        say("\n".join(profile))
        ok = report(orders, records, run, log, sandbox_peak_kb)
        if ok and orders <= args.check_up_to:
            ok = check_state(sandbox, store, rows)
    return ok


def say(text: str) -> None:
    """Progress, on stderr (stdout carries only the result lines)."""
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run every size given; exit 1 if any run failed, was stopped or its check found a problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a DAG run may take")
    parser.add_argument("--max-rss-gb", type=float, default=12, help="RSS at which a DAG run is stopped")
    parser.add_argument(
        "--check-up-to", type=int, default=100_000, help="check HubSpot after runs this small"
    )
    args = parser.parse_args(argv)
    work = Path.cwd() / ".bench"
    work.mkdir(exist_ok=True)
    results = [run_size(orders, args, work) for orders in args.orders]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
