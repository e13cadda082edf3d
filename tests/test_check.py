"""``hubspot-commerce check``: the deployment's pre-flight, against the sandbox, a SQLite store and Airflow's
metadata database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubspot_commerce.check import Check, check_pool, main, recommended_pool_slots
from hubspot_commerce_lab.sample_store import StoreSize, generate_store
from hubspot_sandbox.process import SandboxProcess

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "shop.sqlite"
    generate_store(path, StoreSize(products=5, customers=5, orders=5, carts=2))
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_SOURCE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return path


def _check(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    status = main(["check", *args])
    return status, capsys.readouterr().out


@pytest.mark.parametrize(
    ("limit", "slots"), [pytest.param(190, 3, id="professional"), pytest.param(100, 2, id="starter")]
)
def test_the_pool_size_follows_the_burst_limit(limit: int, slots: int) -> None:
    assert recommended_pool_slots(limit) == slots
    assert check_pool("hubspot_api", slots, limit).status == "ok"
    too_many = check_pool("hubspot_api", slots + 5, limit)
    assert too_many.status == "warn" and f"airflow pools set hubspot_api {slots}" in too_many.fix
    missing = check_pool("hubspot_api", None, limit)
    assert missing == Check(
        "FAIL", "pool 'hubspot_api' does not exist", 'airflow pools set hubspot_api 3 "HubSpot API"'
    )


def test_a_ready_deployment_passes_every_check(shop, hubspot_conn, capsys) -> None:
    status, out = _check(capsys)
    assert status == 0, out
    assert "[  ok] source connection 'commerce_source' answers" in out
    assert "[  ok] HubSpot connection 'hubspot_default': Connection to HubSpot works" in out
    assert "[  ok] the token has every scope a full run needs" in out
    assert "[  ok] every mapped property exists in the portal" in out
    assert "checks passed" in out and "failed" not in out.splitlines()[-1]


def test_what_is_missing_is_named_with_its_fix(shop, monkeypatch, capsys) -> None:
    """A narrow token, a pool that does not exist, a source connection nobody defined."""
    monkeypatch.delenv("AIRFLOW_CONN_COMMERCE_SOURCE")
    granted = "crm.objects.products.read,crm.objects.products.write"
    with SandboxProcess(tokens=[f"narrow-token:{granted}"], rate_limit=190) as narrow:
        monkeypatch.setenv(
            "AIRFLOW_CONN_HUBSPOT_DEFAULT",
            json.dumps({"conn_type": "hubspot", "host": narrow.url, "password": "narrow-token"}),
        )
        status, out = _check(capsys, "--pool", "no_such_pool")
    assert status == 1
    assert "[FAIL] source connection 'commerce_source': AirflowNotFoundException" in out
    lacks = next(line for line in out.splitlines() if line.startswith("[FAIL] the token lacks"))
    assert "crm.objects.contacts.read" in lacks and "crm.schemas.orders.write" in lacks
    assert "crm.objects.products.write" not in lacks
    assert "[FAIL] pool 'no_such_pool' does not exist" in out
    assert 'fix: airflow pools set no_such_pool 3 "HubSpot API"' in out


def test_a_missing_sql_file_is_named(tmp_path, capsys) -> None:
    status, out = _check(capsys, "--sql-dir", str(tmp_path))
    assert status == 1
    assert f"SQL file {tmp_path}/products.sql does not exist" in out
