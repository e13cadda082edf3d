"""Asking before a mass archive: whether the run's ``approve_archive`` task asks a person, the question it
asks (counts per stream, a sample, the file listing every record), and what the answer lets the mirror tasks
do. Pure; ``sync/tasks/approve_archive_task.py`` reads the plans and writes the list."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from hubspot_commerce.contract import ARCHIVE, KEEP, ArchiveAnswer
from hubspot_commerce.errors import MassArchiveRefused
from hubspot_commerce.sync.mirror import MirrorPlan, archive_refusal
from hubspot_commerce.sync.run_options import RunOptions

SAMPLE = 5  # source keys and HubSpot ids shown per stream


def guarded_counts(plans: Mapping[str, MirrorPlan], allowed: float) -> str:
    """The streams whose archive the guard stops, in words: ``20 of 60 orders, 48 of 150 payments``."""
    return ", ".join(
        f"{len(plan.archive)} of {plan.known} {name}"
        for name, plan in plans.items()
        if archive_refusal(name, plan, allowed)
    )


def why_not_ask(plans: Mapping[str, MirrorPlan], allowed: float, options: RunOptions) -> str | None:
    """Why ``approve_archive`` asks nothing and lets the mirror tasks go on at once, or None when it asks:
    no stream archives more than ``allowed`` of its records, ``confirm_archive`` is set, or a dry run."""
    over = guarded_counts(plans, allowed)
    if not over:
        return f"no mirror stream archives more than {allowed:.0%} of its records"
    if options.confirm_archive:
        return f"the Param confirm_archive is set, so the mirror tasks archive {over} without asking"
    if options.dry_run:
        return f"a dry run archives nothing; a real run would ask before archiving {over}"
    return None


def archive_rows(plans: Mapping[str, MirrorPlan]) -> list[dict[str, str]]:
    """Every record the mirror tasks would archive, for the file the question names."""
    return [
        {"stream": name, "key": key, "id": record_id}
        for name, plan in plans.items()
        for key, record_id in sorted(plan.archive.items())
    ]


def archive_question(
    plans: Mapping[str, MirrorPlan],
    object_types: Mapping[str, str],
    allowed: float,
    records: str,
    timeout: timedelta | None,
) -> tuple[str, str]:
    """The question's subject and Markdown body: per stream what would be archived (of how many, a sample
    of source keys and HubSpot ids), where the full list is (``records``), what each answer does."""
    total = sum(len(plan.archive) for plan in plans.values())
    subject = f"Archive {total} HubSpot records whose rows the source deleted?"
    table = [
        "| stream | HubSpot object | to archive | of | sample: source key → HubSpot id |",
        "|---|---|---:|---:|---|",
    ]
    for name, plan in plans.items():
        if not plan.archive:
            continue
        sample = ", ".join(f"`{key}` → `{id_}`" for key, id_ in sorted(plan.archive.items())[:SAMPLE])
        more = ", …" if len(plan.archive) > SAMPLE else ""
        over = " (over the guard)" if archive_refusal(name, plan, allowed) else ""
        table.append(
            f"| {name} | {object_types[name]} | {len(plan.archive)}{over} | {plan.known} | {sample}{more} |"
        )
    wait = (
        f"Without an answer within {duration_text(timeout)}, the run keeps them ({KEEP})."
        if timeout
        else "The run waits until someone answers."
    )
    body = [
        f"Mirror mode would archive more than {allowed:.0%} of a stream's records in HubSpot. Nothing is "
        "archived until someone answers.",
        "",
        *table,
        "",
        f"Every record (JSON lines: stream, key, id): `{records}`",
        "",
        f"* **{ARCHIVE}**: archive exactly these records.",
        f"* **{KEEP}**: archive none of them. The run goes on (stale links are still removed) and its "
        "report says the archive was refused; a later run that plans them asks again.",
        "",
        wait,
    ]
    return subject, "\n".join(body)


def duration_text(duration: timedelta) -> str:
    """``12 hours``, ``30 minutes``, ``90 seconds``: the largest unit that divides the duration."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def may_archive(
    stream: str, plan: MirrorPlan, allowed: float, options: RunOptions, answer: Mapping[str, Any] | None
) -> bool:
    """Whether a mirror task archives its plan: as ``approve_archive`` answered; without its answer (the
    task was skipped), only within the guard, with ``confirm_archive``, or on a dry run, else it fails."""
    if answer is not None:
        return ArchiveAnswer.from_xcom(answer).archive
    refusal = archive_refusal(stream, plan, allowed)
    if refusal and not options.confirm_archive and not options.dry_run:
        raise MassArchiveRefused(refusal)
    return True


def answer_text(answer: Mapping[str, Any] | None) -> str | None:
    """The report's line on the question, when one was asked: approved or refused, by whom and when."""
    if not answer or not (decided := ArchiveAnswer.from_xcom(answer)).asked:
        return None
    if decided.archive:
        return f"archive approved by {decided.by} at {decided.at}"
    if decided.timed_out:
        return f"archive refused: nobody answered by {decided.at}, so the run kept the records ({KEEP})"
    return f"archive refused by {decided.by} at {decided.at} ({KEEP}): nothing was archived"
