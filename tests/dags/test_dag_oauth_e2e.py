"""The DAG end to end on an OAuth app connection whose access tokens live 5 seconds: the sync completes across
several refreshes, HubSpot matches the store record by record, and no access token, refresh token or client
secret appears in any task log, XCom or rendered field."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_dag_commerce_sync_e2e import assert_hubspot_matches_store, run

from hubspot_commerce.batch.quota import portal_day
from hubspot_commerce.client.oauth import OAuthToken
from hubspot_sandbox.process import SandboxProcess
from hubspot_sandbox.schema import PORTAL_ID

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(400)]

CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "commerce-app", "client-secret-e2e-0123", "refresh-token-e2e-4567"
ISSUED = re.compile(r"sandbox-oauth-[0-9a-f]{32}")  # every access token the sandbox issues looks like this
TOKEN_LIFE_S = 5


@pytest.fixture
def oauth_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxProcess]:
    """A sandbox issuing 5-second access tokens, slowed to a second an answer so that setup (six answers
    one after another) outlives its first token, and ``hubspot_default`` as an OAuth app connection to it."""
    with SandboxProcess(
        oauth_clients=[f"{CLIENT_ID}:{CLIENT_SECRET}:{REFRESH_TOKEN}"],
        latency_ms=1000,
        rate_limit=1_000_000,
        extra_args=["--oauth-expires-in", str(TOKEN_LIFE_S)],
    ) as sandbox:
        app = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}
        connection = {"conn_type": "hubspot", "host": sandbox.url, "extra": {**app, "daily_limit": 250_000}}
        monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(connection))
        yield sandbox


def _last_run_id(dag_id: str) -> str:
    """The run id of the DAG's latest run."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(DagRun.run_id).filter_by(dag_id=dag_id).order_by(DagRun.id.desc()).first()[0]


def _stored_values(dag_id: str, run_id: str) -> str:
    """Every XCom value and rendered template field the run stored in the metadata DB, as one text."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        xcoms = session.query(XComModel.value).filter_by(dag_id=dag_id, run_id=run_id).all()
        rendered = (
            session.query(RenderedTaskInstanceFields.rendered_fields)
            .filter_by(dag_id=dag_id, run_id=run_id)
            .all()
        )
    assert xcoms and rendered, "the run stored XComs and rendered fields"
    return json.dumps([row[0] for row in [*xcoms, *rendered]], default=str)


def _recorded_usage(store: Path) -> dict[tuple[str, str], int]:
    """The usage table the DAG keeps beside its sync state (in the source database)."""
    with sqlite3.connect(store) as db:
        return {(portal, day): n for portal, day, n in db.execute("SELECT * FROM hubspot_request_usage")}


def test_a_sync_on_5_second_oauth_tokens_completes_across_refreshes_and_leaks_no_token(
    sync_dag, store, oauth_sandbox, capfd, monkeypatch
) -> None:
    refreshes: dict[int, int] = {}  # hook's token source -> refreshes (dag.test runs tasks in this process)
    take = OAuthToken._take

    def counted(self: OAuthToken, body: dict) -> None:
        take(self, body)
        refreshes[id(self)] = self.refreshes

    monkeypatch.setattr(OAuthToken, "_take", counted)
    run(sync_dag, {"full_refresh": True})
    assert max(refreshes.values()) >= 2, f"no task outlived its first token: {sorted(refreshes.values())}"
    stats = oauth_sandbox.stats()
    grants = stats["by_path"].get("POST /oauth/2026-09/token", 0)
    assert grants >= 3, f"only {grants} token grants: the run did not cross several refreshes"
    assert "401" not in stats["by_status"], "tokens were refreshed before they expired"
    day = oauth_sandbox.day()
    today = portal_day(datetime.now(UTC), day["time_zone"])
    assert _recorded_usage(store) == {(str(PORTAL_ID), today): day["daily_used"]}, (
        "every task's requests (setup, plan, prepare, writes) are in the usage table, as HubSpot counted them"
    )
    assert_hubspot_matches_store(oauth_sandbox, store)
    introspect = stats["by_path"].get("POST /oauth/2026-09/token/introspect")
    assert introspect == 1, "setup checked the OAuth token's scopes once"

    # dag.test runs the tasks in this process and writes their logs (exceptions included) to its output, not
    # to files under the Airflow home: the captured output is every task's log.
    output = capfd.readouterr()
    logs = output.out + output.err
    assert "Done. Returned value was" in logs and "task_id='prepare_orders'" in logs, "task logs were read"
    seen = logs + _stored_values(sync_dag.dag_id, _last_run_id(sync_dag.dag_id))
    for secret in (CLIENT_SECRET, REFRESH_TOKEN):
        assert secret not in seen
    assert not ISSUED.findall(seen), "an access token leaked"
