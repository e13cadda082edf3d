"""HubSpot's associations v4 reads: a record's associations to one object type, and the type labels."""

from __future__ import annotations

from hubspot_commerce.sandbox.errors import ApiError
from hubspot_commerce.sandbox.schema import ASSOCIATION_TYPES, ObjectType
from hubspot_commerce.sandbox.store import Store


class AssociationsApi:
    """``/crm/v4`` association reads over a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def of_record(self, from_obj: ObjectType, record_id: str, to_obj: ObjectType) -> tuple[int, dict]:
        """``GET /crm/v4/objects/{from}/{id}/associations/{to}``."""
        with self.store.lock:
            if self.store.get(from_obj.name, record_id) is None:
                raise ApiError(404, "OBJECT_NOT_FOUND", "resource not found")
            links = dict(self.store.associations(from_obj.name, record_id, to_obj.name))
        results = [
            {
                "toObjectId": int(to_id),
                "associationTypes": [
                    {
                        "category": "HUBSPOT_DEFINED",
                        "typeId": type_id,
                        "label": ASSOCIATION_TYPES[type_id].label,
                    }
                    for type_id in sorted(type_ids)
                ],
            }
            for to_id, type_ids in sorted(links.items(), key=lambda item: int(item[0]))
        ]
        return 200, {"results": results}

    @staticmethod
    def labels(from_obj: ObjectType, to_obj: ObjectType) -> tuple[int, dict]:
        """``GET /crm/v4/associations/{from}/{to}/labels``: the type ids usable in that direction."""
        results = [
            {"category": "HUBSPOT_DEFINED", "typeId": definition.type_id, "label": definition.label}
            for definition in ASSOCIATION_TYPES.values()
            if definition.from_type == from_obj.name and definition.to_type == to_obj.name
        ]
        return 200, {"results": results}
