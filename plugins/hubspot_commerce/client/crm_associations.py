"""HubSpot's associations API: the links between records, read, created and removed in batches."""

from __future__ import annotations

from collections.abc import Sequence

from hubspot_commerce.batch.records import Link
from hubspot_commerce.batch.refusals import split_refused
from hubspot_commerce.batch.requests import chunked
from hubspot_commerce.client.api_call import ApiCall
from hubspot_commerce.client.api_paths import ApiPaths
from hubspot_commerce.errors import HubSpotValidationError

ASSOCIATION_BATCH = 1000  # inputs per association batch request (HubSpot allows 1,000 reads, 2,000 creates)


class AssociationsApi:
    """Reads, creates and removes associations between two object types, 1,000 inputs a request."""

    def __init__(self, request: ApiCall, paths: ApiPaths) -> None:
        self.request = request
        self.paths = paths

    def read_types(
        self, from_type: str, to_type: str, from_ids: Sequence[str]
    ) -> dict[str, dict[str, set[int]]]:
        """``{from id: {associated id: {association type ids}}}`` through the association batch read."""
        current: dict[str, dict[str, set[int]]] = {}
        for chunk in chunked(list(from_ids), ASSOCIATION_BATCH):
            body = self.request(
                "POST",
                self.paths.association_batch(from_type, to_type, "read"),
                {"inputs": [{"id": record_id} for record_id in chunk]},
            )
            for result in body.get("results") or []:
                current[str(result["from"]["id"])] = {
                    str(to["toObjectId"]): {int(t["typeId"]) for t in to.get("associationTypes") or []}
                    for to in result.get("to") or []
                }
        return current

    def remove(self, from_type: str, to_type: str, links: Sequence[Link]) -> None:
        """Remove each link's association (every type between the two records, both directions; HubSpot
        removes labelled links with the unlabelled one) through the association batch archive."""
        targets: dict[str, list[str]] = {}
        for link in links:
            targets.setdefault(link.from_id, []).append(link.to_id)
        inputs = [{"from": {"id": f}, "to": [{"id": t} for t in to]} for f, to in targets.items()]
        endpoint = self.paths.association_batch(from_type, to_type, "archive")
        for chunk in chunked(inputs, ASSOCIATION_BATCH):
            self.request("POST", endpoint, {"inputs": chunk})

    def create(self, from_type: str, to_type: str, links: Sequence[Link]) -> list[tuple[Link, str]]:
        """Create associations through the association batch create (HubSpot answers 201, or 200 from
        ``2026-09`` on); return the links HubSpot refused, with its reason. A request refused whole (400) is
        split until the bad links stand alone."""
        refused: list[tuple[Link, str]] = []
        for chunk in chunked(list(links), ASSOCIATION_BATCH):
            self._create_chunk(from_type, to_type, chunk, refused)
        return refused

    def _create_chunk(
        self, from_type: str, to_type: str, chunk: list[Link], refused: list[tuple[Link, str]]
    ) -> None:
        """One association batch create of ``chunk``; refused links (with HubSpot's reason) go to ``refused``.
        The category is sent on every version: the OpenAPI files of each still require it."""
        inputs = [
            {
                "from": {"id": link.from_id},
                "to": {"id": link.to_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": link.type_id}],
            }
            for link in chunk
        ]
        try:
            body = self.request(
                "POST", self.paths.association_batch(from_type, to_type, "create"), {"inputs": inputs}
            )
        except HubSpotValidationError as exc:
            reason = exc.message
            split_refused(
                chunk,
                exc,
                send_part=lambda half: self._create_chunk(from_type, to_type, half, refused),
                reject=lambda link: refused.append((link, reason)),
            )
            return
        made = {(str(r["fromObjectId"]), str(r["toObjectId"])) for r in body.get("results") or []}
        reason = "; ".join(str(error.get("message")) for error in body.get("errors") or []) or "no result"
        refused.extend((link, reason) for link in chunk if (link.from_id, link.to_id) not in made)
