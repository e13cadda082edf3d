"""ArchiveApprovalOperator: ask a person, in Airflow's Required actions, before HubSpot records are archived.

A human-in-the-loop task (``HITLOperator``) whose question is composed when it runs: ``ask`` returns it, or
None when there is nothing to ask, and the task then ends at once. While it waits (``awaiting_input``), the
question is answered in the UI or through the REST API (``PATCH .../hitlDetails``); ``Keep`` is taken when
nobody answers within ``response_timeout``. Its XCom value is ``contract.ArchiveAnswer``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Context
from airflow.sdk.execution_time.hitl import HITLUser

from hubspot_commerce.contract import ARCHIVE, KEEP, ArchiveAnswer

Question = tuple[str, str]  # subject, Markdown body


class ArchiveApprovalOperator(HITLOperator):
    """Ask ``Archive`` or ``Keep`` when ``ask`` composes a question; return the answer as ``ArchiveAnswer``.

    :param ask: called in the task with its context; returns the question's subject and Markdown body, or
        None (nothing to ask: the task returns ``archive: True`` at once, without waiting).
    :param response_timeout: how long the question waits; then ``Keep`` is the answer (None: no limit).
    :param assigned_users: who may answer (``{"id", "name"}`` each, ids as the auth manager knows them);
        None: every user allowed to edit the DAG's human-in-the-loop details.
    """

    ui_color = "#ffd8a8"

    def __init__(
        self,
        *,
        ask: Callable[[Context], Question | None],
        response_timeout: timedelta | None = None,
        assigned_users: list[HITLUser] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            subject="Archive HubSpot records whose rows the source deleted?",  # replaced when it asks
            options=[ARCHIVE, KEEP],
            defaults=KEEP,
            multiple=False,
            response_timeout=response_timeout,
            assigned_users=assigned_users,
            **kwargs,
        )
        self.ask = ask

    def execute(self, context: Context) -> Any:
        """Ask, and wait in ``awaiting_input`` (``execute_complete`` resumes); or answer at once."""
        question = self.ask(context)
        if question is None:
            return ArchiveAnswer(archive=True).to_xcom()
        self.subject, self.body = question
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """The answer, once someone gave it or the timeout chose ``Keep``."""
        response = super().execute_complete(context, event)
        user = response["responded_by_user"]
        at = response["responded_at"]
        answer = ArchiveAnswer(
            archive=response["chosen_options"] == [ARCHIVE],
            asked=True,
            by=user["name"] if user else None,
            at=at.isoformat(timespec="seconds") if isinstance(at, datetime) else str(at),
            timed_out=bool(event.get("timedout")),
        )
        self.log.info("Answer: %s", answer)
        return answer.to_xcom()
