"""The ``hubspot-sandbox`` console script starts, announces its URL on one line and serves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from hubspot_sandbox.process import SandboxProcess


def test_console_script_announces_its_url_and_serves():
    script = Path(sys.executable).parent / "hubspot-sandbox"
    process = subprocess.Popen(
        [str(script), "--port", "0", "--token", "cli-token"], stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("HubSpot sandbox listening on http://127.0.0.1:")
        url = line.split(" on ", 1)[1].strip()
        response = requests.get(
            f"{url}/crm/v3/objects/products", headers={"Authorization": "Bearer cli-token"}
        )
        assert response.status_code == 200
        assert response.json() == {"results": []}
    finally:
        process.terminate()
        process.wait(timeout=5)
        process.stdout.close()
    assert process.returncode == 0  # SIGTERM is a clean stop


def test_sandbox_process_reports_a_failed_start(sandbox):
    port = int(sandbox.url.rsplit(":", 1)[1])
    with pytest.raises(RuntimeError, match="did not start"), SandboxProcess(port=port):
        pass
