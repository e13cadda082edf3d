"""HubSpot's error bodies: the ``Error`` of a refused request and the ``StandardError`` items of a 207."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hubspot_sandbox.schema import PORTAL_ID


def iso_now() -> str:
    """Now as HubSpot writes timestamps: ISO-8601 UTC with milliseconds."""
    return iso_from_ms(datetime.now(UTC).timestamp() * 1000)


def iso_from_ms(epoch_ms: float) -> str:
    """Epoch milliseconds as ``2024-08-15T17:09:13.648Z``."""
    moment = datetime.fromtimestamp(round(epoch_ms) / 1000, UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


class ApiError(Exception):
    """A refused request; ``body()`` is HubSpot's ``Error`` shape (message, correlationId, category...)."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        context: dict[str, list[str]] | None = None,
        errors: list[dict] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.context = context
        self.errors = errors
        self.extra = extra or {}

    def body(self, correlation_id: str) -> dict:
        """HubSpot's Error body for this error."""
        body: dict[str, Any] = {"status": "error", "message": self.message, "correlationId": correlation_id}
        if self.errors is not None:
            body["errors"] = self.errors
        if self.context is not None:
            body["context"] = self.context
        body.update(self.extra)
        if self.category:
            body["category"] = self.category
        return body

    def batch_item(self, trace_id: str | None) -> dict:
        """This error as one entry of a 207's ``errors`` (every field the StandardError schema requires)."""
        context = dict(self.context or {})
        if trace_id is not None:
            context["objectWriteTraceId"] = [trace_id]
        return {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": context,
            "errors": self.errors or [],
            "links": {},
        }


def validation_error(message: str, **kwargs: Any) -> ApiError:
    """A 400 VALIDATION_ERROR with HubSpot's Error body."""
    return ApiError(400, "VALIDATION_ERROR", message, **kwargs)


def malformed(detail: str) -> ApiError:
    """A body HubSpot's JSON binding refuses before any record is looked at (always whole-batch)."""
    return validation_error(f"Invalid input JSON on line 1, column 1: {detail}")


def property_error(name: str, code: str, message: str) -> dict:
    """One entry of the JSON list inside ``Property values were not valid: [...]``."""
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
        "portalId": PORTAL_ID,
    }


def invalid_properties(problems: list[dict]) -> ApiError:
    """HubSpot's 400 for bad property values: the problems as JSON inside the message, and in ``errors``."""
    return validation_error(
        "Property values were not valid: " + json.dumps(problems, separators=(",", ":")),
        errors=[
            {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
            for p in problems
        ],
    )
