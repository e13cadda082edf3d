"""HubSpot's associations API (v4 and date-versioned): batch create / associate default / read / archive, a
record's associations, labels.

Only HUBSPOT_DEFINED types between the served objects exist (see ``schema.ASSOCIATION_TYPES``). The batch
endpoints take up to 1,000 (read) or 2,000 (create) inputs, answer 207 for the inputs they refuse, and are
exempt from the ten-secondly limit, as HubSpot documents.
"""

from __future__ import annotations

from typing import Any

from hubspot_sandbox.api_versions import Dialect
from hubspot_sandbox.error_bodies import ApiError, iso_now, malformed, validation_error
from hubspot_sandbox.schema import ASSOCIATION_TYPES, AssociationType, ObjectType
from hubspot_sandbox.store import Store

MAX_CREATE = 2000
MAX_READ = 1000
NUMBERED = Dialect("v4")


class AssociationsApi:
    """``/crm/v4`` association reads over a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def batch_create(
        self, from_obj: ObjectType, to_obj: ObjectType, body: Any, dialect: Dialect = NUMBERED
    ) -> tuple[int, dict]:
        """``POST .../associations/{from}/{to}/batch/create``: 201 (200 from 2026-09 on, as its spec says),
        or 207 listing refused inputs."""
        inputs = _inputs(body, MAX_CREATE, ("from", "to", "types"))
        results, errors = [], []
        with self.store.lock:
            for item in inputs:
                types = item["types"]
                if not isinstance(types, list) or not types:
                    raise malformed('"types" must be a non-empty array')
                try:
                    from_id, to_id = self._ends(from_obj, to_obj, item)
                    definitions = [self._definition(from_obj, to_obj, dialect, spec) for spec in types]
                    if dialect.rules is not None:
                        dialect.rules.on_association(from_obj.name, to_obj.name)
                except ApiError as error:
                    errors.append(error.batch_item(None))
                    continue
                for definition in definitions:
                    self.store.associate(
                        from_obj.name, from_id, to_obj.name, to_id, definition.type_id, definition.reverse_id
                    )
                results.append(
                    {
                        "fromObjectTypeId": from_obj.type_id,
                        "fromObjectId": int(from_id),
                        "toObjectTypeId": to_obj.type_id,
                        "toObjectId": int(to_id),
                        "labels": [d.label for d in definitions if d.label],
                    }
                )
        return _batch_response(200 if dialect.at_least("2026-09") else 201, results, errors)

    def batch_associate_default(
        self, from_obj: ObjectType, to_obj: ObjectType, body: Any, dialect: Dialect = NUMBERED
    ) -> tuple[int, dict]:
        """``POST .../associations/{from}/{to}/batch/associate/default``: the pair's unlabeled type."""
        inputs = _inputs(body, MAX_CREATE, ("from", "to"))
        default = next(
            (
                d
                for d in ASSOCIATION_TYPES.values()
                if d.from_type == from_obj.name and d.to_type == to_obj.name and d.label is None
            ),
            None,
        )
        if default is None:
            raise validation_error(
                f"No default association type exists from {from_obj.type_id} to {to_obj.type_id}"
            )
        results, errors = [], []
        with self.store.lock:
            for item in inputs:
                try:
                    from_id, to_id = self._ends(from_obj, to_obj, item)
                    if dialect.rules is not None:
                        dialect.rules.on_association(from_obj.name, to_obj.name)
                except ApiError as error:
                    errors.append(error.batch_item(None))
                    continue
                self.store.associate(
                    from_obj.name, from_id, to_obj.name, to_id, default.type_id, default.reverse_id
                )
                results.append(
                    {
                        "from": {"id": from_id},
                        "to": {"id": to_id},
                        "associationSpec": {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": default.type_id,
                        },
                    }
                )
        return _batch_response(200, results, errors)

    def batch_read(self, from_obj: ObjectType, to_obj: ObjectType, body: Any) -> tuple[int, dict]:
        """``POST .../associations/{from}/{to}/batch/read``: associations per record; 207 if unknown."""
        inputs = _inputs(body, MAX_READ, ("id",))
        results, missing = [], []
        with self.store.lock:
            for item in inputs:
                record_id = str(item["id"])
                if self.store.get(from_obj.name, record_id) is None:
                    missing.append(record_id)
                    continue
                links = self.store.associations(from_obj.name, record_id, to_obj.name)
                results.append({"from": {"id": record_id}, "to": _associated(links)})
        errors = []
        if missing:
            errors.append(
                ApiError(
                    404,
                    "OBJECT_NOT_FOUND",
                    f"Could not find some {from_obj.legacy_name} objects",
                    context={"ids": missing},
                ).batch_item(None)
            )
        return _batch_response(200, results, errors)

    def batch_archive(self, from_obj: ObjectType, to_obj: ObjectType, body: Any) -> tuple[int, None]:
        """``POST .../associations/{from}/{to}/batch/archive``: remove every link (all types, both directions)
        between each ``from`` and its ``to`` records; 204. HubSpot does not document an answer for links or
        records that do not exist; the sandbox, like a delete, ignores them (the end state is the same)."""
        inputs = _inputs(body, MAX_CREATE, ("from", "to"))
        for item in inputs:
            if not isinstance(item["from"], dict) or not isinstance(item["to"], list):
                raise malformed('each input needs "from": {"id"} and "to": [{"id"}, ...]')
        with self.store.lock:
            for item in inputs:
                for to in item["to"]:
                    self.store.dissociate(
                        from_obj.name, str(item["from"].get("id")), to_obj.name, str(to.get("id"))
                    )
        return 204, None

    def _ends(self, from_obj: ObjectType, to_obj: ObjectType, item: dict) -> tuple[str, str]:
        """The two record ids of an input; both records must exist."""
        ends = []
        for side, obj in (("from", from_obj), ("to", to_obj)):
            end = item[side]
            if not isinstance(end, dict) or not isinstance(end.get("id"), str | int):
                raise malformed(f'"{side}" must be {{"id": ...}}')
            record_id = str(end["id"])
            if self.store.get(obj.name, record_id) is None:
                raise validation_error(
                    "One or more associations are invalid",
                    context={"INVALID_OBJECT_IDS": [f"{obj.legacy_name}={record_id} is not valid"]},
                )
            ends.append(record_id)
        return ends[0], ends[1]

    @staticmethod
    def _definition(from_obj: ObjectType, to_obj: ObjectType, dialect: Dialect, spec: Any) -> AssociationType:
        """The association type an input names; it must lead from ``from_obj`` to ``to_obj``."""
        category, type_id = dialect.association_spec(spec)
        definition = ASSOCIATION_TYPES.get(type_id) if category == "HUBSPOT_DEFINED" else None
        if definition is None or (definition.from_type, definition.to_type) != (from_obj.name, to_obj.name):
            label = f"{category}={type_id}"
            raise validation_error(
                f"{label} is not a valid association definition id "
                f"from {from_obj.type_id} to {to_obj.type_id}",
                context={
                    "associationSpec": [label],
                    "INVALID_ASSOCIATION_TYPE_ID": [f"{label} is not a valid association definition id"],
                },
            )
        return definition

    def of_record(self, from_obj: ObjectType, record_id: str, to_obj: ObjectType) -> tuple[int, dict]:
        """``GET .../objects/{from}/{id}/associations/{to}``."""
        with self.store.lock:
            if self.store.get(from_obj.name, record_id) is None:
                raise ApiError(404, "OBJECT_NOT_FOUND", "resource not found")
            return 200, {
                "results": _associated(self.store.associations(from_obj.name, record_id, to_obj.name))
            }

    @staticmethod
    def labels(from_obj: ObjectType, to_obj: ObjectType) -> tuple[int, dict]:
        """``GET .../associations/{from}/{to}/labels``: the type ids usable in that direction."""
        results = [
            {"category": "HUBSPOT_DEFINED", "typeId": definition.type_id, "label": definition.label}
            for definition in ASSOCIATION_TYPES.values()
            if definition.from_type == from_obj.name and definition.to_type == to_obj.name
        ]
        return 200, {"results": results}


def _associated(links: dict[str, set[int]]) -> list[dict]:
    """HubSpot's MultiAssociatedObjectWithLabel list: one entry per associated record, ids as integers."""
    return [
        {
            "toObjectId": int(to_id),
            "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": ASSOCIATION_TYPES[type_id].label}
                for type_id in sorted(type_ids)
            ],
        }
        for to_id, type_ids in sorted(links.items(), key=lambda item: int(item[0]))
    ]


def _inputs(body: Any, limit: int, fields: tuple[str, ...]) -> list[dict]:
    """The inputs of an association batch after its whole-request checks (shape, count)."""
    if not isinstance(body, dict) or set(body) != {"inputs"} or not isinstance(body["inputs"], list):
        raise malformed('the body must be {"inputs": [...]}')
    inputs = body["inputs"]
    if len(inputs) > limit:
        raise validation_error(
            f"Too many inputs: {len(inputs)}. This endpoint accepts at most {limit} inputs"
        )
    for item in inputs:
        if not isinstance(item, dict) or set(item) - {*fields, "after"} or not all(f in item for f in fields):
            raise malformed(f"each input needs exactly {list(fields)}")
    return inputs


def _batch_response(status: int, results: list[dict], errors: list[dict]) -> tuple[int, dict]:
    """An association batch response: the success status, or 207 when some inputs were refused."""
    now = iso_now()
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    body["startedAt"] = body["completedAt"] = now
    return (207 if errors else status), body
