"""Fixtures for the sandbox tests (the ``sandbox`` fixture itself is in tests/conftest.py)."""

from __future__ import annotations

import pytest
from sandbox_helpers import Api


@pytest.fixture
def api(sandbox) -> Api:
    """A HubSpot API caller with the all-scopes test token on the (freshly reset) session sandbox."""
    return Api(sandbox.url)
