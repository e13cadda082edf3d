"""Fixtures for the sandbox tests (the ``sandbox`` fixture itself is in tests/conftest.py)."""

from __future__ import annotations

import pytest
from sandbox_helpers import FAMILIES, Api


@pytest.fixture(params=FAMILIES)
def api(request: pytest.FixtureRequest, sandbox) -> Api:
    """A HubSpot API caller with the all-scopes test token on the (freshly reset) session sandbox, once per
    path family: tests that take it hold for the numbered paths and both date versions alike."""
    return Api(sandbox.url, family=request.param)
