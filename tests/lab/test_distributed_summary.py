"""The final DISTRIBUTED line: its format, what fails it, and the parser the lab test uses."""

from __future__ import annotations

import dataclasses

from hubspot_commerce_lab.distributed.summary import Outcome, parse_line

PASSING = Outcome(
    workers=2,
    workers_with_hubspot_writes=2,
    runs=5,
    runs_ok=5,
    graph_ok=True,
    duplicates=0,
    missing=0,
    peak_requests_10s=184,
    limit=190,
    http_429=1,
    requests=748,
    seconds=301.4,
    write_tasks=12,
)


def test_the_line_has_every_field_in_order_and_parses_back() -> None:
    line = PASSING.line()
    assert line == (
        "DISTRIBUTED executor=CeleryExecutor workers=2 workers_with_hubspot_writes=2 runs=5 runs_ok=5 "
        "graph=ok duplicates=0 missing=0 rejected=0 peak_requests_10s=184 limit=190 http_429=1 "
        "workers_killed=0 seconds=301"
    )
    fields = parse_line(f"progress\n{line}\n")
    assert fields["graph"] == "ok" and fields["seconds"] == "301" and len(fields) == 14
    assert parse_line("no line here") == {}


def test_a_passing_run_has_no_failures() -> None:
    assert PASSING.failures() == []


def test_each_requirement_fails_on_its_own() -> None:
    cases = {
        "workers_with_hubspot_writes": 1,
        "runs_ok": 4,
        "runs": 3,
        "graph_ok": False,
        "duplicates": 1,
        "missing": 2,
        "peak_requests_10s": 191,
        "http_429": 4,  # 4 of 748 is over 0.5%
        "lost_task_recovered": False,
        "secrets_found": 1,
    }
    for field, value in cases.items():
        changed = dataclasses.replace(PASSING, **{field: value})
        if field == "runs":
            changed = dataclasses.replace(changed, runs_ok=3)
        assert len(changed.failures()) == 1, (field, changed.failures())
    assert "graph=FAIL" in dataclasses.replace(PASSING, graph_ok=False).line()


def test_a_run_with_nothing_to_write_says_so() -> None:
    synced_before = dataclasses.replace(PASSING, workers_with_hubspot_writes=0, write_tasks=0)
    assert synced_before.failures() == [
        "only 0 of 2 workers ran a HubSpot write "
        "(no write task had anything to write: HubSpot already held the store)"
    ]


def test_runs_refused_by_the_rejected_rows_rule_and_rejected_rows_do_not_fail_the_lab() -> None:
    refused = dataclasses.replace(PASSING, runs_ok=4, runs_refused=1, rejected=3)
    assert refused.failures() == []
    assert "rejected=3" in refused.line()
    assert dataclasses.replace(refused, runs_refused=0).failures() == ["1 of 5 DAG runs did not succeed"]


def test_a_killed_worker_need_not_have_written_but_its_task_must_have_recovered() -> None:
    killed = dataclasses.replace(PASSING, workers_with_hubspot_writes=1, workers_killed=1)
    assert killed.failures() == []
    assert "workers_killed=1" in killed.line()
    lost = dataclasses.replace(killed, lost_task_recovered=False)
    assert lost.failures() == ["the killed worker's task did not succeed on another worker"]
