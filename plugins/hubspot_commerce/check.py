"""``hubspot-commerce check``: the sync's pre-flight for a deployment, without running the DAG.

It checks what a run would otherwise find out late, one line each with a fix, reading the settings the DAG
reads (``[hubspot_commerce] mapping_path``, ``sql_dir``, ``state_conn_id``, ``state_table``): the mapping,
each stream's query (run without fetching a row), the sync state table's rights, both connections, the
token's scopes, the mapped properties against the portal, and the ``hubspot_api`` pool. A check that cannot
run is skipped with its reason. Run it where the scheduler runs (it reads the pool from Airflow's metadata
database), with the connections the workers get. Exit status 1 when anything fails.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hubspot_commerce.errors import (
    HubSpotAuthError,
    HubSpotConnectionError,
    HubSpotError,
    StateTableRefused,
    SyncConfigurationError,
)
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.objects import describe_scopes, missing_scopes
from hubspot_commerce.sync.extract import SqlSource, Window, render_query, sql_source
from hubspot_commerce.sync.mapping import SyncMapping
from hubspot_commerce.sync.state import SyncState, first_line
from hubspot_commerce.sync.sync_config import configured_mapping, configured_state
from hubspot_commerce.sync.validate import mapping_problems

POOL_FIX = 'airflow pools set {name} {slots} "HubSpot API"'
DESCRIPTION = "The commands of airflow-hubspot-commerce, the HubSpot commerce sync for Apache Airflow."
CHECK_HELP = (
    "Check a deployment before its first run: the mapping and each stream's query, the sync state table's "
    "rights, both connections, the token's scopes, the mapped properties in the portal, and the pool. "
    "Reads the [hubspot_commerce] settings the DAG reads; run it where the scheduler runs. Exit status 1 "
    "when a check fails."
)


@dataclass(frozen=True)
class Check:
    """One line of the checklist: ``ok``, ``warn``, ``skip`` (could not run) or ``FAIL``, what was found,
    and what to do about it."""

    status: str
    what: str
    fix: str = ""

    def line(self) -> str:
        """The check as the checklist prints it, its fix on a second line."""
        return f"[{self.status:>4}] {self.what}" + (f"\n         fix: {self.fix}" if self.fix else "")


def summary(checks: Sequence[Check]) -> str:
    """``4 passed, 1 warning, 2 skipped, 1 failed of 8 checks``: every check counted once, by its status."""
    counts = Counter(check.status for check in checks)
    warnings = counts["warn"]
    parts = [f"{counts['ok']} passed"]
    parts += [f"{warnings} warning{'s' if warnings > 1 else ''}"] if warnings else []
    parts += [f"{counts['skip']} skipped"] if counts["skip"] else []
    parts += [f"{counts['FAIL']} failed"] if counts["FAIL"] else []
    return f"{', '.join(parts)} of {len(checks)} checks"


def recommended_pool_slots(rate_limit_max: int) -> int:
    """HubSpot tasks worth running at once: one write task alone reaches about 92% of the burst limit, so
    more only overlap (3 at 190 requests per 10 s, 2 at 100, 1 below)."""
    return 3 if rate_limit_max >= 190 else 2 if rate_limit_max >= 100 else 1


def check_pool(name: str, slots: int | None, rate_limit_max: int | None) -> Check:
    """The pool exists (a task in a missing pool waits forever) and is not far above the burst limit."""
    if slots is None:
        return Check("FAIL", f"pool {name!r} does not exist", POOL_FIX.format(name=name, slots=3))
    if rate_limit_max is None:
        return Check("ok", f"pool {name!r} has {slots} slots (HubSpot's burst limit not known)")
    best = recommended_pool_slots(rate_limit_max)
    if slots > best:
        return Check(
            "warn",
            f"pool {name!r} has {slots} slots; {best} keep {rate_limit_max} requests per 10 s busy",
            POOL_FIX.format(name=name, slots=best) + " (more tasks only share HubSpot's window)",
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
        return Check("FAIL", f"the token lacks {describe_scopes(missing)}", "add them to the app in HubSpot")
    return Check("ok", f"the token has every scope a full run needs ({len(granted)} granted)")


def check_properties(hook: HubSpotHook, mapping: SyncMapping) -> list[Check]:
    """Every mapped property against the portal's definitions: it exists, is writable, has the options."""
    problems = mapping_problems(mapping, hook.get_properties_by_type(mapping.object_types))
    checks = [Check("FAIL", problem, "change the mapping or the portal's property") for problem in problems]
    return checks or [Check("ok", "every mapped property exists in the portal, is writable, has its options")]


def check_source(conn_id: str) -> list[Check]:
    """The source connection resolves to a SQL hook, and its database answers a query."""
    sql_source(conn_id).get_df("SELECT 1 AS one")
    return [Check("ok", f"source connection {conn_id!r} answers")]


def check_queries(source: SqlSource, conn_id: str, mapping: SyncMapping) -> list[Check]:
    """Each stream's query, rendered for a nightly run's window as extract renders it, run on the source
    wrapped so that it returns no row: a misspelt column or table fails naming the SQL file."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    window = Window(end - timedelta(days=1), end)
    failed = []
    with closing(source.get_conn()) as connection:
        for name, stream in mapping.streams.items():
            sql_file = mapping.sql_dir / f"{stream.sql}.sql"
            try:
                sql = render_query(stream.sql, window, mapping.sql_dir).strip().rstrip(";")
                with closing(connection.cursor()) as cursor:
                    cursor.execute(f"SELECT * FROM (\n{sql}\n) AS q WHERE 1 = 0")
            except SyncConfigurationError as exc:
                failed.append(Check("FAIL", f"stream {name}: {exc}", "fix the template"))
            except Exception as exc:
                connection.rollback()  # PostgreSQL refuses the next query in a failed transaction
                what = f"stream {name}: the source refused {sql_file}: {first_line(exc)}"
                failed.append(Check("FAIL", what, "fix the query, or the table or view it reads"))
    count = len(mapping.streams)
    return failed or [Check("ok", f"the {count} streams' queries run on {conn_id!r} (no row fetched)")]


def check_state(conn_id: str, table: str) -> Check:
    """The sync state table exists or can be created, and takes writes (rolled back: nothing is left where
    the database's DDL is transactional)."""
    try:
        existed = SyncState(lambda: sql_source(conn_id), table, conn_id=conn_id).ensure_table(keep=False)
    except StateTableRefused as exc:
        return Check("FAIL", exc.problem, exc.fix)
    found = "exists and takes writes" if existed else "can be created and written (the first run does)"
    return Check("ok", f"sync state table {table} in {conn_id!r} {found}")


def check_hubspot(hook: HubSpotHook, conn_id: str) -> tuple[Check, str | None]:
    """The HubSpot connection answers one read; else why the checks that need HubSpot cannot run."""
    try:
        where = f"HubSpot connection {conn_id!r} ({hook.base_url})"
        hook.probe()
    except HubSpotConnectionError as exc:
        fix = "the connection's host (the API base URL), and the network from here to it"
        return Check("FAIL", f"{where}: {exc}", fix), "HubSpot unreachable"
    except HubSpotAuthError as exc:
        fix = "the connection's password (the access token)"
        return Check("FAIL", f"{where}: {exc}", fix), "HubSpot refused the token"
    except HubSpotError as exc:
        return Check("FAIL", f"{where}: {exc}", "the connection's host and password"), "HubSpot failed"
    except Exception as exc:  # the connection is not defined, or an extra is wrong
        what = f"HubSpot connection {conn_id!r}: {type(exc).__name__}: {first_line(exc)}"
        return Check("FAIL", what, "a hubspot connection the workers get"), "no HubSpot connection"
    return Check("ok", f"{where} works"), None


def guarded(what: str, fix: str, step: Callable[[], list[Check]]) -> list[Check]:
    """Run one group of checks; an error in it becomes one failed line, whole, instead of a traceback."""
    try:
        return step()
    except Exception as exc:
        return [Check("FAIL", f"{what}: {type(exc).__name__}: {first_line(exc)}", fix)]


def skipped(what: str, reason: str | None) -> list[Check]:
    """The line of a check that cannot run, saying why."""
    return [Check("skip", f"{what}: {reason}")]


def warehouse_checks(args: argparse.Namespace, mapping: SyncMapping | None) -> list[Check]:
    """The source connection, each stream's query on it, and the sync state table in its connection."""
    conn = args.source_conn_id
    checks = guarded(
        f"source connection {conn!r}",
        "a SQL connection the workers reach (AIRFLOW_CONN_* or a secrets backend)",
        lambda: check_source(conn),
    )
    source_down = "the source connection does not answer" if checks[0].status == "FAIL" else None
    if mapping is None or source_down:
        checks += skipped("queries", "the mapping did not load" if mapping is None else source_down)
    else:
        checks += guarded("queries", "fix the source", lambda: check_queries(sql_source(conn), conn, mapping))
    try:
        state_conn, table = configured_state(args.state_conn_id, args.state_table)
    except SyncConfigurationError as exc:
        return [*checks, Check("FAIL", f"sync state table: {exc}", "name it as table or schema.table")]
    state_conn = state_conn or conn
    if state_conn == conn and source_down:
        return checks + skipped("sync state table", source_down)
    return checks + guarded(
        f"sync state table {table} in {state_conn!r}",
        "a SQL connection the workers reach, or [hubspot_commerce] state_conn_id",
        lambda: [check_state(state_conn, table)],
    )


def hubspot_checks(args: argparse.Namespace, hook: HubSpotHook, mapping: SyncMapping | None) -> list[Check]:
    """The HubSpot connection, the token's scopes, the mapped properties; each skipped when it cannot run."""
    connection, down = check_hubspot(hook, args.hubspot_conn_id)
    checks = [connection]
    cannot = down or (None if mapping is not None else "the mapping did not load")
    if cannot or mapping is None:
        return checks + skipped("scopes", cannot) + skipped("mapped properties", cannot)
    checks += guarded(
        "scopes", "check the token in HubSpot", lambda: [check_scopes(hook.token_scopes(), mapping)]
    )
    if checks[-1].status == "FAIL":
        return checks + skipped("mapped properties", "not checked until the token has the scopes above")
    return checks + guarded(
        "mapped properties", "check the token's scopes in HubSpot", lambda: check_properties(hook, mapping)
    )


def run_checks(args: argparse.Namespace) -> list[Check]:
    """Every check, in the order a run meets them: mapping, warehouse, HubSpot, pool."""
    try:
        mapping: SyncMapping | None = configured_mapping(args.mapping, args.sql_dir)
    except Exception as exc:
        mapping = None
        checks = [
            Check("FAIL", f"mapping: {first_line(exc)}", "fix the mapping file or the SQL file it names")
        ]
    else:
        count, where = len(mapping.streams), mapping.sql_dir
        checks = [Check("ok", f"mapping with {count} streams and their SQL files in {where}")]
    checks += warehouse_checks(args, mapping)
    hook = HubSpotHook(args.hubspot_conn_id)
    checks += hubspot_checks(args, hook, mapping)
    return checks + guarded(
        f"pool {args.pool!r}",
        "run the check where Airflow's metadata database is reachable",
        lambda: [check_pool(args.pool, pool_slots(args.pool), hook.limiter.max)],
    )


def pool_slots(name: str) -> int | None:
    """The pool's size from Airflow's metadata database, or None when it does not exist."""
    from airflow.models.pool import Pool  # the ORM: only where the scheduler's database is reachable

    pool = Pool.get_pool(name)
    return None if pool is None else int(pool.slots)


def check_command(args: argparse.Namespace) -> int:
    """Print the checklist and its count; 1 when any check failed."""
    checks = run_checks(args)
    for check in checks:
        print(check.line())
    print(f"\n{summary(checks)}")
    return 1 if any(check.status == "FAIL" for check in checks) else 0


def parser() -> argparse.ArgumentParser:
    """``hubspot-commerce <command>``: every command, with plain-text help."""
    cli = argparse.ArgumentParser(prog="hubspot-commerce", description=DESCRIPTION)
    commands = cli.add_subparsers(title="commands", dest="command", required=True, metavar="<command>")
    check = commands.add_parser(
        "check", help="check a deployment before its first run", description=CHECK_HELP
    )
    check.add_argument(
        "--source-conn-id", default="commerce_source", help="the source connection (default: %(default)s)"
    )
    check.add_argument(
        "--hubspot-conn-id",
        default=HubSpotHook.default_conn_name,
        help="the HubSpot connection (default: %(default)s)",
    )
    check.add_argument(
        "--pool", default="hubspot_api", help="the pool of the HubSpot tasks (default: %(default)s)"
    )
    check.add_argument(
        "--mapping", help="the mapping YAML (default: [hubspot_commerce] mapping_path, else the package's)"
    )
    check.add_argument(
        "--sql-dir",
        help="the folder of the SQL files (default: [hubspot_commerce] sql_dir, else the package's)",
    )
    check.add_argument(
        "--state-conn-id",
        help="the sync state's connection (default: [hubspot_commerce] state_conn_id, else the source)",
    )
    check.add_argument(
        "--state-table",
        help="the sync state table (default: [hubspot_commerce] state_table, else hubspot_sync_state)",
    )
    check.set_defaults(run=check_command)
    return cli


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names (``sys.argv`` by default); its exit status."""
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
