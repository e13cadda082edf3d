"""``http_transport``: what a request without an answer is said to mean, by whether it could have written."""

from __future__ import annotations

import pytest

from hubspot_commerce.client.http_transport import no_answer_message

CAUSE = "NewConnectionError: [Errno 111] Connection refused"


@pytest.mark.parametrize(
    ("method", "endpoint"),
    [
        ("GET", "crm/properties/2026-09/products"),
        ("POST", "crm/objects/2026-09/orders/batch/read"),
        ("POST", "crm/associations/2026-09/orders/contacts/batch/read"),
        ("POST", "oauth/v2/private-apps/get/access-token-info"),
    ],
)
def test_a_read_without_an_answer_is_only_unanswered(method: str, endpoint: str) -> None:
    assert (
        no_answer_message(method, endpoint, CAUSE) == f"{method} {endpoint}: no answer from HubSpot ({CAUSE})"
    )


@pytest.mark.parametrize(
    ("method", "endpoint"),
    [
        ("POST", "crm/objects/2026-09/orders/batch/create"),
        ("POST", "crm/properties/2026-09/orders"),
        ("PATCH", "crm/objects/2026-09/orders/123"),
    ],
)
def test_a_write_without_an_answer_may_have_landed(method: str, endpoint: str) -> None:
    assert no_answer_message(method, endpoint, CAUSE) == (
        f"{method} {endpoint}: no answer from HubSpot ({CAUSE}); "
        "the request may or may not have been processed"
    )
