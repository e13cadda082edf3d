"""The client's associations API: one link HubSpot refuses costs no other link.

HubSpot's answer to a bad input in an association batch create is not documented (the sandbox lists it in a
207); here the stricter case, a whole-request 400, is played by a stand-in for the client's ``request``.
"""

from __future__ import annotations

from typing import Any

import pytest

from hubspot_commerce.batch.records import Link
from hubspot_commerce.client.api_paths import ApiPaths
from hubspot_commerce.client.crm_associations import AssociationsApi
from hubspot_commerce.errors import HubSpotValidationError


class WholeRequestRefusals:
    """Answers an association batch create 400 when any input points at a record that does not exist."""

    def __init__(self, missing: set[str], status: int = 400) -> None:
        self.missing = missing
        self.status = status
        self.linked: list[tuple[str, str]] = []
        self.requests = 0

    def request(self, method: str, endpoint: str, payload: Any = None, label: str | None = None) -> dict:
        self.requests += 1
        pairs = [(i["from"]["id"], i["to"]["id"]) for i in payload["inputs"]]
        bad = [to for _, to in pairs if to in self.missing]
        if bad:
            raise HubSpotValidationError(
                f"POST {endpoint}: HubSpot answered {self.status}: invalid ids {bad}", status=self.status
            )
        self.linked += pairs
        return {"results": [{"fromObjectId": f, "toObjectId": t} for f, t in pairs]}


def _api(stand_in: WholeRequestRefusals) -> AssociationsApi:
    return AssociationsApi(stand_in.request, ApiPaths())


def test_a_refused_link_is_isolated_and_every_other_link_is_made():
    links = [Link(f"k{i}", str(100 + i), "999" if i == 5 else str(200 + i), 586) for i in range(8)]
    hubspot = WholeRequestRefusals({"999"})
    refused = _api(hubspot).create("carts", "contacts", links)
    assert [(link.key, "999" in reason) for link, reason in refused] == [("k5", True)]
    assert sorted(hubspot.linked) == sorted((link.from_id, link.to_id) for link in links if link.key != "k5")


def test_unknown_object_types_fail_at_once():
    hubspot = WholeRequestRefusals({"1"}, status=404)
    links = [Link(f"k{i}", "1", "1", 1) for i in range(8)]
    with pytest.raises(HubSpotValidationError):
        _api(hubspot).create("carts", "nothings", links)
    assert hubspot.requests == 1
