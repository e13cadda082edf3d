"""``python -m hubspot_commerce_lab.distributed`` (``make distributed``): run the lab once and end with the
``DISTRIBUTED ...`` line; exit 1 when any requirement is missed.

Options come from the environment (as ``make distributed STORE=... HUBSPOT_URL=... HUBSPOT_TOKEN=...``
passes them) or from the same-named flags: ``STORE`` syncs that SQLite store instead of the sample store,
``HUBSPOT_URL`` and ``HUBSPOT_TOKEN`` use an already-running HubSpot instead of starting the sandbox,
``KEEP=1`` keeps the lab directory (logs, configuration) after teardown, ``FAULT=kill-worker`` kills a
Celery worker mid-write (see ``worker_fault.py``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType

from hubspot_commerce_lab.distributed.lab import Lab, Options
from hubspot_commerce_lab.distributed.worker_fault import FAULTS


def parse_options(argv: list[str] | None = None) -> Options:
    """Flags, with the environment variables as their defaults."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", default=os.environ.get("STORE") or None, help="SQLite store to sync")
    parser.add_argument("--hubspot-url", default=os.environ.get("HUBSPOT_URL") or None)
    parser.add_argument("--hubspot-token", default=os.environ.get("HUBSPOT_TOKEN") or None)
    parser.add_argument("--keep", action="store_true", default=os.environ.get("KEEP", "") not in ("", "0"))
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds to wait for the DAG runs")
    parser.add_argument("--fault", default=os.environ.get("FAULT") or None, choices=FAULTS)
    args = parser.parse_args(argv)
    if bool(args.hubspot_url) != bool(args.hubspot_token):
        parser.error("HUBSPOT_URL and HUBSPOT_TOKEN go together")
    return Options(
        store=Path(args.store).resolve() if args.store else None,
        hubspot_url=args.hubspot_url,
        hubspot_token=args.hubspot_token,
        keep=args.keep,
        timeout=args.timeout,
        fault=args.fault,
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM stops the lab like Ctrl-C does: through the teardown."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the lab; print why it failed, if it did; tear down; print the DISTRIBUTED line."""
    options = parse_options(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    lab = Lab(options)
    try:
        lab.run()
    except KeyboardInterrupt:
        lab.problems.append("interrupted")
    except Exception as error:
        traceback.print_exc()
        lab.problems.append(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
    finally:
        if lab.outcome().failures() or lab.problems:
            lab.explain()
        lab.teardown()
    outcome = lab.outcome()
    failures = outcome.failures() + lab.problems
    for failure in failures:
        print(f"FAILED: {failure}")
    print(outcome.line(), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
