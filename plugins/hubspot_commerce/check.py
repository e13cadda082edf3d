"""``hubspot-commerce check``: the sync's pre-flight for a deployment, without running the DAG.

It checks what a run would otherwise find out late, one line each with a fix: the mapping and its SQL files,
both connections, the ``hubspot_api`` pool and its size for the account's burst limit, the token's scopes, and
the mapped properties against the portal. Run it where the scheduler runs (it reads the pool from Airflow's
metadata database), with the same connections the workers get. Exit status 1 when anything fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.objects import missing_scopes
from hubspot_commerce.sync.mapping import SyncMapping, load_mapping
from hubspot_commerce.sync.validate import mapping_problems


@dataclass(frozen=True)
class Check:
    """One line of the checklist: ``ok``, ``warn`` or ``FAIL``, what was found, and what to do about it."""

    status: str
    what: str
    fix: str = ""

    def line(self) -> str:
        """The check as the checklist prints it, its fix on a second line."""
        return f"[{self.status:>4}] {self.what}" + (f"\n         fix: {self.fix}" if self.fix else "")


def recommended_pool_slots(rate_limit_max: int) -> int:
    """HubSpot tasks worth running at once: one write task alone reaches about 92% of the burst limit, so
    more only overlap (3 at 190 requests per 10 s, 2 at 100, 1 below)."""
    return 3 if rate_limit_max >= 190 else 2 if rate_limit_max >= 100 else 1


def check_pool(name: str, slots: int | None, rate_limit_max: int | None) -> Check:
    """The pool exists (a task in a missing pool waits forever) and is not far above the burst limit."""
    if slots is None:
        return Check("FAIL", f"pool {name!r} does not exist", f'airflow pools set {name} 3 "HubSpot API"')
    if rate_limit_max is None:
        return Check("ok", f"pool {name!r} has {slots} slots (HubSpot's burst limit not known)")
    best = recommended_pool_slots(rate_limit_max)
    if slots > best:
        return Check(
            "warn",
            f"pool {name!r} has {slots} slots; {best} keep {rate_limit_max} requests per 10 s busy",
            f'airflow pools set {name} {best} "HubSpot API" (more tasks only share HubSpot\'s window)',
        )
    return Check("ok", f"pool {name!r} has {slots} slots for {rate_limit_max} requests per 10 s")


def check_scopes(granted: set[str] | None, mapping: SyncMapping) -> Check:
    """The token's scopes against a full run (every stream written; the key property possibly created)."""
    if granted is None:
        return Check(
            "warn", "HubSpot did not say which scopes the token has", "writes will name missing ones"
        )
    types = mapping.object_types
    missing = missing_scopes(granted, types, types, mapping.keyed_object_types)
    if missing:
        return Check("FAIL", f"the token lacks {', '.join(missing)}", "add them to the app in HubSpot")
    return Check("ok", f"the token has every scope a full run needs ({len(granted)} granted)")


def check_properties(hook: HubSpotHook, mapping: SyncMapping) -> list[Check]:
    """Every mapped property against the portal's definitions: it exists, is writable, has the options."""
    problems = mapping_problems(mapping, hook.get_properties_by_type(mapping.object_types))
    checks = [Check("FAIL", problem, "change the mapping or the portal's property") for problem in problems]
    return checks or [Check("ok", "every mapped property exists in the portal, is writable, has its options")]


def check_source(conn_id: str) -> list[Check]:
    """The source connection resolves to a SQL hook, and its database answers a query."""
    from hubspot_commerce.sync.extract import sql_source

    sql_source(conn_id).get_df("SELECT 1 AS one")
    return [Check("ok", f"source connection {conn_id!r} answers")]


def pool_slots(name: str) -> int | None:
    """The pool's size from Airflow's metadata database, or None when it does not exist."""
    from airflow.models.pool import Pool  # the ORM: only where the scheduler's database is reachable

    pool = Pool.get_pool(name)
    return None if pool is None else int(pool.slots)


def guarded(what: str, fix: str, step: Callable[[], list[Check]]) -> list[Check]:
    """Run one group of checks; an error in it becomes one failed line instead of a traceback."""
    try:
        return step()
    except Exception as exc:
        return [Check("FAIL", f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}", fix)]


def run_checks(args: argparse.Namespace) -> list[Check]:
    """Every check, in the order a run meets them: mapping and SQL files, source, HubSpot, pool."""
    try:
        mapping = load_mapping(args.mapping, args.sql_dir)
    except (ValueError, OSError) as exc:
        return [Check("FAIL", f"mapping: {exc}", "fix the mapping file or the SQL file it names")]
    checks = [
        Check("ok", f"mapping with {len(mapping.streams)} streams and their SQL files in {mapping.sql_dir}")
    ]
    conn = args.source_conn_id
    checks += guarded(
        f"source connection {conn!r}", "a SQL connection the workers reach", lambda: check_source(conn)
    )
    hook = HubSpotHook(args.hubspot_conn_id)
    ok, message = hook.test_connection()
    fix = "" if ok else "the connection's host (API base URL) and password (the access token)"
    checks.append(
        Check("ok" if ok else "FAIL", f"HubSpot connection {args.hubspot_conn_id!r}: {message}", fix)
    )
    if ok:
        checks += guarded("scopes", "see the message", lambda: [check_scopes(hook.token_scopes(), mapping)])
        checks += guarded("properties", "see the message", lambda: check_properties(hook, mapping))
    checks += guarded(
        f"pool {args.pool!r}",
        "run the check where Airflow's metadata database is reachable",
        lambda: [check_pool(args.pool, pool_slots(args.pool), hook.limiter.max)],
    )
    return checks


def main(argv: list[str] | None = None) -> int:
    """Print the checklist; exit 1 when any check failed."""
    parser = argparse.ArgumentParser(prog="hubspot-commerce check", description=__doc__)
    parser.add_argument("command", choices=["check"])
    parser.add_argument("--source-conn-id", default="commerce_source")
    parser.add_argument("--hubspot-conn-id", default=HubSpotHook.default_conn_name)
    parser.add_argument("--pool", default="hubspot_api")
    parser.add_argument("--mapping", default=None, help="the mapping YAML (default: the package's)")
    parser.add_argument(
        "--sql-dir", default=None, help="the folder of the SQL files (default: the package's)"
    )
    args = parser.parse_args(argv)
    checks = run_checks(args)
    for check in checks:
        print(check.line())
    failed = sum(check.status == "FAIL" for check in checks)
    print(
        f"\n{len(checks) - failed} of {len(checks)} checks passed" + (f", {failed} failed" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
