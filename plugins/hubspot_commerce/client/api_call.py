"""The one call every API module makes: paced by the limiter, retried by the batch engine, a typed error on
failure, the JSON body on success."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ApiCall(Protocol):
    """One paced, retried call (reads and idempotent writes); ``label`` names it in errors instead of its
    path (for a path that holds the token)."""

    def __call__(
        self, method: str, endpoint: str, payload: Mapping[str, Any] | None = None, label: str | None = None
    ) -> dict: ...
