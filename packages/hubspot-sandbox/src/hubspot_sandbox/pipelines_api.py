"""HubSpot's pipelines API, read side (``/crm/v3/pipelines/{objectType}`` and its date-versioned twins).

A sandbox portal has HubSpot's default Order Pipeline, whose stage ids are the ``hs_pipeline_stage`` options
of ``schema.py``. HubSpot documents pipelines for orders but none for carts (its pipelines guide lists deals,
tickets, appointments, courses, listings, orders, services, leads and custom objects), so other object types
answer 400 (see the choices in docs/reference/sandbox.md).
"""

from __future__ import annotations

from hubspot_sandbox.error_bodies import ApiError, validation_error
from hubspot_sandbox.schema import ORDER_PIPELINE_ID, ORDER_STAGES, ObjectType

# "The default pipelines will have createdAt = 0" (HubSpot's pipelines spec), so do their stages.
EPOCH = "1970-01-01T00:00:00.000Z"
PIPELINES: dict[str, tuple[tuple[str, str, dict[str, str]], ...]] = {
    "orders": ((ORDER_PIPELINE_ID, "Order Pipeline", ORDER_STAGES),),
}


class PipelinesApi:
    """The default pipelines of the object types that have them."""

    def list(self, obj: ObjectType) -> tuple[int, dict]:
        """``GET .../pipelines/{obj}``: every pipeline with its stages."""
        return 200, {"results": [_pipeline(*row) for row in _pipelines(obj)]}

    def get(self, obj: ObjectType, pipeline_id: str) -> tuple[int, dict]:
        """``GET .../pipelines/{obj}/{pipelineId}``: one pipeline, or 404."""
        for row in _pipelines(obj):
            if row[0] == pipeline_id:
                return 200, _pipeline(*row)
        raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find pipeline {pipeline_id} for {obj.type_id}")


def _pipelines(obj: ObjectType) -> tuple[tuple[str, str, dict[str, str]], ...]:
    """The pipelines of an object type; 400 for types without any."""
    rows = PIPELINES.get(obj.name)
    if rows is None:
        # HubSpot's answer for an object type without pipelines is not documented.
        raise validation_error(f"Object type {obj.type_id} does not support pipelines")
    return rows


def _pipeline(pipeline_id: str, label: str, stages: dict[str, str]) -> dict:
    """A pipeline as the API returns it; ``writePermissions`` is required on stages from 2026-03 on."""
    return {
        "id": pipeline_id,
        "label": label,
        "displayOrder": 0,
        "stages": [
            {
                "id": stage_id,
                "label": stage_label,
                "displayOrder": order,
                "metadata": {},
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                "createdAt": EPOCH,
                "updatedAt": EPOCH,
                "archived": False,
            }
            for order, (stage_id, stage_label) in enumerate(stages.items())
        ],
        "createdAt": EPOCH,
        "updatedAt": EPOCH,
        "archived": False,
    }
