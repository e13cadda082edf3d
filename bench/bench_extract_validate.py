"""Benchmark (issue 13): time and peak memory of the ``extract`` and ``validate`` tasks on large stores.

For each size it generates the sample store of ``bench_scale.py`` (kept in ``.bench/`` for the next run), then
runs ``extract_step`` and ``validate_step`` in a child process, as the two tasks run them: the store read
through an Airflow SQLite connection (common-sql), the run's files on the local disk, and the portal's
property definitions as the sandbox's schema defines them (what ``setup`` would have written; no HubSpot is
needed). It prints one line per size:

    EXTRACT_VALIDATE orders=<n> rows=<n> seconds=<s> peak_rss_mb=<n>

* ``rows``: source rows extracted, every stream together.
* ``seconds``: wall time of ``extract_step`` plus ``validate_step``.
* ``peak_rss_mb``: the child's peak resident memory (``ru_maxrss`` from ``os.wait4``), its imports included.

and, on stderr, where time and memory went: the RSS after the imports, and each step's seconds, CPU seconds
(the machine may be busy with other work) and peak RSS (reset between the steps through
``/proc/self/clear_refs``).

    python bench/bench_extract_validate.py [--orders 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_sandbox_memory import process_memory_kb
from bench_scale import scale_size

from hubspot_commerce_lab.sample_store import generate_store

CONN_ID = "bench_store"


def portal_definitions(object_types: set[str]) -> dict[str, list[dict]]:
    """The property definitions ``setup`` would write for a sandbox portal: the schema's properties, the
    source-key property on the object types the sync creates, pipeline stages as options."""
    from hubspot_commerce.sync.mapping import load_mapping
    from hubspot_commerce.sync.options import pipelined_object_types, with_pipelines
    from hubspot_sandbox.schema import OBJECTS_BY_KEY, ORDER_PIPELINE_ID, ORDER_STAGES

    mapping = load_mapping()
    key = {"name": mapping.key_property.name, "type": "string", "options": []}
    stages = [{"id": stage, "label": label} for stage, label in ORDER_STAGES.items()]
    pipelines = [{"id": ORDER_PIPELINE_ID, "label": "Order Pipeline", "stages": stages}]
    definitions = {}
    for object_type in object_types:
        found = [p.to_json() for p in OBJECTS_BY_KEY[object_type].properties.values()]
        definitions[object_type] = [*found, key] if object_type in mapping.keyed_object_types else found
    for object_type, pipeline in pipelined_object_types(mapping).items():
        definitions[object_type] = with_pipelines(definitions[object_type], pipelines, pipeline)
    return definitions


def child(store: Path, work: Path) -> None:
    """Run extract and validate on ``store`` into ``work``; print their figures as one JSON line."""
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps({"conn_type": "sqlite", "host": str(store)})
    from hubspot_commerce.contract import RunStorage
    from hubspot_commerce.storage import write_json
    from hubspot_commerce.sync.extract import Window, sql_source
    from hubspot_commerce.sync.mapping import load_mapping
    from hubspot_commerce.sync.tasks.extract_task import extract_step
    from hubspot_commerce.sync.tasks.task_context import RunContext
    from hubspot_commerce.sync.tasks.validate_task import validate_step

    mapping = load_mapping()
    files = RunStorage.for_run(f"file://{work}", "bench", "extract_validate")
    run = RunContext(mapping, files)
    for object_type, definitions in portal_definitions(mapping.object_types).items():
        write_json(files.definitions(object_type), definitions)
    figures: dict[str, float] = {"import_rss_mb": process_memory_kb(os.getpid())["VmRSS"] / 1024}
    started, cpu_started = time.monotonic(), time.process_time()
    counts = extract_step(run, sql_source(CONN_ID), Window(None, None, True))
    figures |= step_figures("extract", started, cpu_started)
    reset_peak()
    started, cpu_started = time.monotonic(), time.process_time()
    validate_step(run)
    figures |= step_figures("validate", started, cpu_started)
    figures["rows"] = sum(int(counts[name]) for name in mapping.streams)
    print(json.dumps(figures), flush=True)


def step_figures(step: str, started: float, cpu_started: float) -> dict[str, float]:
    """A step's wall time, CPU time (what counts on a loaded machine), peak RSS since the last reset."""
    return {
        f"{step}_seconds": time.monotonic() - started,
        f"{step}_cpu_seconds": time.process_time() - cpu_started,
        f"{step}_peak_rss_mb": process_memory_kb(os.getpid())["VmHWM"] / 1024,
    }


def reset_peak() -> None:
    """Make the peak RSS (``VmHWM``) start again from the current RSS (Linux ``clear_refs`` 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def run_size(orders: int, bench_dir: Path) -> None:
    """Generate (or reuse) the store, run the child on it, print the result line."""
    store = bench_dir / f"extract-validate-{orders}.sqlite"
    if not store.exists():
        say(f"generating {store} ({orders} orders)")
        generate_store(store, scale_size(orders))
    with tempfile.TemporaryDirectory(dir=bench_dir) as work:
        command = [sys.executable, __file__, "--child", str(store), work]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        output = process.stdout.read() if process.stdout else ""
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"the child failed on {orders} orders")
    figures = json.loads(output.strip().splitlines()[-1])
    seconds = figures["extract_seconds"] + figures["validate_seconds"]
    say(" ".join(f"{name}={value:.1f}" for name, value in figures.items()))
    print(
        f"EXTRACT_VALIDATE orders={orders} rows={figures['rows']:.0f} seconds={seconds:.1f} "
        f"peak_rss_mb={usage.ru_maxrss // 1024}",
        flush=True,
    )


def say(text: str) -> None:
    """Progress, on stderr (stdout carries only the result lines)."""
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    """Every size given, one after another (the child is the only process measured)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", nargs=2, metavar=("STORE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return
    bench_dir = Path.cwd() / ".bench"
    bench_dir.mkdir(exist_ok=True)
    for orders in args.orders:
        run_size(orders, bench_dir)


if __name__ == "__main__":
    main()
