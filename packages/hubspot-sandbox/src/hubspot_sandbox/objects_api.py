"""HubSpot's CRM object API (v3 and date-versioned): batch create/upsert/read/update/archive, list, get-by-id.

Batch semantics (HubSpot's, see docs/reference/sandbox.md): without a unique ``objectWriteTraceId`` on
every input the first bad input refuses the whole batch and nothing is written; with them the good inputs are
written and the bad ones come back in a 207. Results come back in no particular order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hubspot_sandbox.api_versions import Dialect
from hubspot_sandbox.error_bodies import (
    ApiError,
    invalid_properties,
    iso_now,
    malformed,
    property_error,
    validation_error,
)
from hubspot_sandbox.schema import (
    ASSOCIATION_TYPES,
    OBJECTS_BY_KEY,
    PORTAL_ID,
    ObjectType,
    PropertyDef,
)
from hubspot_sandbox.store import Record, Store
from hubspot_sandbox.validation import (
    PropertyProblem,
    check_writable,
    decimal_or_none,
    normalize,
)

MAX_INPUTS = 100
MAX_PAGE = 100
INPUT_FIELDS: dict[str, tuple[set[str], set[str]]] = {  # action -> (required, optional) input fields
    "create": ({"properties"}, {"associations", "objectWriteTraceId"}),
    "upsert": ({"id", "properties"}, {"idProperty", "objectWriteTraceId"}),
    "update": ({"id", "properties"}, {"idProperty", "objectWriteTraceId"}),
    "read": ({"id"}, set()),
    "archive": ({"id"}, set()),
}
READ_FIELDS = {"inputs", "idProperty", "properties", "propertiesWithHistory"}
NUMBERED = Dialect()
# Properties a line item takes from its product when the input does not set them.
INHERITED_FROM_PRODUCT = (
    "name",
    "price",
    "description",
    "hs_sku",
    "hs_cost_of_goods_sold",
    "hs_recurring_billing_period",
    "recurringbillingfrequency",
)
CREATE_DEFAULTS = {
    "commerce_payments": {
        "hs_latest_status": "processing",
        "hs_payment_creation_method": "OTHER",
        "hs_has_associated_invoice": "false",
    },
}
CENT = Decimal("0.01")


@dataclass
class Plan:
    """One input that passed every check, ready to be written."""

    record_id: str
    properties: dict[str, str]
    existing: Record | None
    trace_id: str | None
    links: list[tuple[str, str, int, int]] = field(default_factory=list)  # (to type, to id, type id, reverse)


class ObjectsApi:
    """Batch and read endpoints over a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # Batch endpoints

    def batch(
        self, obj: ObjectType, action: str, body: Any, dialect: Dialect = NUMBERED
    ) -> tuple[int, dict | None]:
        """Run ``POST .../objects/{obj}/batch/{action}``; returns (status, body)."""
        inputs = self._inputs(action, body)
        started = iso_now()
        if action == "read":
            return self._read(obj, body, inputs, started)
        if action == "archive":
            with self.store.lock:
                for item in inputs:
                    self.store.archive(obj.name, _text_id(item["id"]))
            return 204, None
        trace_ids = _trace_ids(inputs)
        with self.store.lock:
            keys = self._keys(obj, action, inputs) if action != "create" else []
            plans: list[Plan] = []
            errors: list[dict] = []
            missing: list[str] = []
            claims: dict[tuple[str, str], str] = {}
            for index, item in enumerate(inputs):
                trace_id = item.get("objectWriteTraceId")
                try:
                    if action == "create":
                        plan = self._plan_create(
                            obj, item["properties"], item.get("associations"), claims, dialect
                        )
                    else:
                        plan = self._plan_write(obj, action, keys[index], item["properties"], claims, dialect)
                except ApiError as error:
                    if trace_ids is None:
                        raise
                    errors.append(error.batch_item(trace_id))
                    continue
                if plan is None:  # update of a record that does not exist
                    missing.append(keys[index][1])
                    continue
                plan.trace_id = trace_id
                plans.append(plan)
            now = iso_now()
            results = [self._write(obj, plan, now, upsert=action == "upsert") for plan in plans]
        if missing:
            errors.append(_not_found(obj, missing))
        random.shuffle(results)
        body_out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body_out["numErrors"] = len(errors)
            body_out["errors"] = errors
        body_out["startedAt"] = started
        body_out["completedAt"] = iso_now()
        if errors:
            return 207, body_out
        return (201 if action == "create" else 200), body_out

    def _inputs(self, action: str, body: Any) -> list[dict]:
        """The ``inputs`` list after the checks HubSpot's JSON binding makes (whole-batch 400s)."""
        if not isinstance(body, dict):
            raise malformed("the body must be a JSON object")
        allowed_top = READ_FIELDS if action == "read" else {"inputs"}
        for key in body:
            if key not in allowed_top:
                raise malformed(f'Unrecognized field "{key}"')
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise malformed("Cannot build BatchInput, some of required attributes are not set [inputs]")
        if len(inputs) > MAX_INPUTS:
            # Exact HubSpot wording unknown; the 400 and the limit are documented.
            raise validation_error(
                f"Too many inputs: {len(inputs)}. Batch endpoints accept at most {MAX_INPUTS} inputs"
            )
        required, optional = INPUT_FIELDS[action]
        allowed = required | optional
        for item in inputs:
            if not isinstance(item, dict):
                raise malformed("each input must be a JSON object")
            keys = item.keys()
            if not keys <= allowed:
                raise malformed(f'Unrecognized field "{sorted(keys - allowed)[0]}"')
            if not required <= keys:
                absent = sorted(required - keys)
                raise malformed(f"Cannot build input, some of required attributes are not set {absent}")
            _check_types(item)
        return inputs

    def _keys(self, obj: ObjectType, action: str, inputs: list[dict]) -> list[tuple[str | None, str]]:
        """(idProperty or None for record ids, normalised id) per input; whole-batch 400s first."""
        definitions = self.store.definitions(obj)
        keys = []
        for item in inputs:
            id_property = item.get("idProperty")
            if action == "upsert" and id_property is None:
                id_property = "hs_object_id"  # HubSpot upserts by a unique property only
            if id_property is not None:
                definition = definitions.get(id_property)
                if definition is None or not definition.unique:
                    raise validation_error(
                        f"Unable to perform update/upsert by non-unique {obj.type_id} property {id_property} "
                        f"in portal ID {PORTAL_ID}"
                    )
            keys.append((id_property, self._normal_key(definitions, id_property, item["id"])))
        seen: set[tuple[str | None, str]] = set()
        duplicates: list[str] = []
        for key in keys:
            if key in seen and key[1] not in duplicates:
                duplicates.append(key[1])
            seen.add(key)
        if duplicates:
            raise validation_error(
                f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. IDs must be unique",
                context={"ids": duplicates},
            )
        return keys

    @staticmethod
    def _normal_key(definitions: dict[str, PropertyDef], id_property: str | None, raw: str | int) -> str:
        """An input's id as stored: the normalised value of its idProperty, or the record id."""
        text = _text_id(raw)
        if id_property is None:
            return text
        try:
            return normalize(definitions[id_property], text)
        except PropertyProblem:
            return text

    def _plan_create(
        self,
        obj: ObjectType,
        properties: dict,
        associations: list | None,
        claims: dict[tuple[str, str], str],
        dialect: Dialect,
    ) -> Plan:
        """A new record: valid values, required properties, existing product, associations, the portal's
        rules (2026-09 on), unique values."""
        definitions = self.store.definitions(obj)
        changes = self._changes(definitions, properties)
        values = {**CREATE_DEFAULTS.get(obj.name, {}), **{k: v for k, v in changes.items() if v}}
        if obj.name == "line_items":
            self._product_reference(values, changes, inherit=True)
        self._required(obj, values)
        links = self._links(obj, associations or [], dialect)
        if dialect.rules is not None:
            dialect.rules.on_create(obj, values, {to_type for to_type, *_ in links})
            for to_type, *_ in links:
                dialect.rules.on_association(obj.name, to_type)
        record_id = self.store.next_id()
        self._claim(obj, definitions, values, record_id, claims, creating=True)
        return Plan(record_id, values, None, None, links)

    def _plan_write(
        self,
        obj: ObjectType,
        action: str,
        key: tuple[str | None, str],
        properties: dict,
        claims: dict[tuple[str, str], str],
        dialect: Dialect,
    ) -> Plan | None:
        """Update, or upsert (update if the key exists, else create); None when an update finds nothing."""
        id_property, record_key = key
        if id_property is None:
            record = self.store.get(obj.name, record_key)
        else:
            holder = self.store.unique_holder(obj.name, id_property, record_key)
            record = self.store.get(obj.name, holder) if holder else None
        if record is None:
            if action == "update":
                return None
            if id_property not in properties:
                properties = {**properties, id_property: record_key}
            return self._plan_create(obj, properties, None, claims, dialect)
        definitions = self.store.definitions(obj)
        changes = self._changes(definitions, properties)
        current = record.properties
        values = {k: v for k, v in {**current, **changes}.items() if v}
        if obj.name == "line_items" and "hs_product_id" in changes:
            self._product_reference(values, changes, inherit=False)
        self._required(obj, values)
        if dialect.rules is not None:
            dialect.rules.on_update(obj, values)
        changed = {k: v for k, v in changes.items() if v and current.get(k) != v}
        self._claim(obj, definitions, changed, record.id, claims, creating=False)
        return Plan(record.id, values, record, None)

    @staticmethod
    def _changes(definitions: dict[str, PropertyDef], properties: dict) -> dict[str, str]:
        """Validated, normalised values ("" clears); every bad property of the input in one 400."""
        problems: list[dict] = []
        changes: dict[str, str] = {}
        for name, raw in properties.items():
            definition = definitions.get(name)
            if definition is None:
                message = f'Property "{name}" does not exist'
                problems.append(property_error(name, "PROPERTY_DOESNT_EXIST", message))
                continue
            try:
                if definition.read_only or definition.calculated:
                    check_writable(definition)
                changes[name] = normalize(definition, raw)
            except PropertyProblem as problem:
                problems.append(problem.entry)
        if problems:
            raise invalid_properties(problems)
        return changes

    @staticmethod
    def _required(obj: ObjectType, values: dict[str, str]) -> None:
        """400 REQUIRED_PROPERTY for the object type's required properties that have no value."""
        problems = [
            property_error(name, "REQUIRED_PROPERTY", f'Property "{name}" is required')
            for name in obj.required
            if not values.get(name)
        ]
        if problems:
            raise invalid_properties(problems)

    def _product_reference(self, values: dict[str, str], changes: dict[str, str], *, inherit: bool) -> None:
        """A line item's hs_product_id must name an existing product; a new line item inherits its values."""
        product_id = values.get("hs_product_id")
        if not product_id:
            return
        product = self.store.get("products", product_id)
        if product is None:
            raise invalid_properties(
                [
                    property_error(
                        "hs_product_id",
                        "INVALID_OBJECT_ID",
                        f"hs_product_id {product_id} is not the id of an existing product",
                    )
                ]
            )
        if inherit:
            inherited = product.properties
            for name in INHERITED_FROM_PRODUCT:
                if name not in changes and name in inherited:
                    values[name] = inherited[name]

    def _claim(
        self,
        obj: ObjectType,
        definitions: dict[str, PropertyDef],
        values: dict[str, str],
        record_id: str,
        claims: dict[tuple[str, str], str],
        *,
        creating: bool,
    ) -> None:
        """Unique properties: no other stored record and no earlier input of the batch may hold the value."""
        wanted = [(name, values[name]) for name in self.store.unique_properties(obj.name) if name in values]
        for name, value in wanted:
            holder = claims.get((name, value)) or self.store.unique_holder(obj.name, name, value)
            if holder is None or holder == record_id:
                continue
            if obj.name == "contacts" and name == "email" and creating:
                raise ApiError(409, "CONFLICT", f"Contact already exists. Existing ID: {holder}")
            raise validation_error(
                f"Cannot set PropertyValueCoordinates{{portalId={PORTAL_ID}, objectTypeId=ObjectTypeId"
                f"{{legacyObjectType={obj.legacy_name}}}, propertyName={name}, value={value}}} "
                f"on {record_id}. {holder} already has that value."
            )
        for name, value in wanted:
            claims[(name, value)] = record_id

    def _links(
        self, obj: ObjectType, associations: list, dialect: Dialect
    ) -> list[tuple[str, str, int, int]]:
        """Checked associations of a create input: type id valid for this direction, target exists."""
        links = []
        for association in associations:
            if not isinstance(association, dict) or not isinstance(association.get("to"), dict):
                raise malformed('each association needs "to": {"id": ...} and "types"')
            to_id = association["to"].get("id")
            types = association.get("types")
            if not isinstance(to_id, str | int) or isinstance(to_id, bool) or not isinstance(types, list):
                raise malformed('each association needs "to": {"id": ...} and "types"')
            for spec in types:
                links.append(self._link(obj, _text_id(to_id), *dialect.association_spec(spec)))
        return links

    def _link(self, obj: ObjectType, to_id: str, category: str, type_id: int) -> tuple[str, str, int, int]:
        """One checked association of a create input: (to type, to id, type id, reverse type id)."""
        definition = ASSOCIATION_TYPES.get(type_id) if category == "HUBSPOT_DEFINED" else None
        if definition is None:
            spec = f"{category}={type_id}"
            raise validation_error(
                f"{spec} is not a valid association definition id",
                context={
                    "associationSpec": [spec],
                    "INVALID_ASSOCIATION_TYPE_ID": [f"{spec} is not a valid association definition id"],
                },
            )
        if definition.from_type != obj.name:
            expected = OBJECTS_BY_KEY[definition.from_type].type_id
            raise validation_error(
                f"invalid from object type {obj.type_id} for associations to be created. expected: {expected}"
            )
        if self.store.get(definition.to_type, to_id) is None:
            legacy = OBJECTS_BY_KEY[definition.to_type].legacy_name
            raise validation_error(
                "One or more associations are invalid",
                context={"INVALID_OBJECT_IDS": [f"{legacy}={to_id} is not valid"]},
            )
        return definition.to_type, to_id, definition.type_id, definition.reverse_id

    def _write(self, obj: ObjectType, plan: Plan, now: str, *, upsert: bool) -> dict:
        """Store a planned record and its associations; its result entry."""
        values = plan.properties
        if obj.name == "line_items":
            _line_item_totals(values)
        elif obj.name in ("orders", "carts"):
            _home_currency(values)
        values[obj.modified_date] = values["hs_lastmodifieddate"] = now
        if plan.existing is None:
            values.update(
                {
                    "hs_object_id": plan.record_id,
                    obj.create_date: now,
                    "hs_object_source": "API",
                    "hs_object_source_label": "INTERNAL_PROCESSING",
                }
            )
            record = Record(plan.record_id, values, now, now)
        else:
            record = Record(plan.record_id, values, plan.existing.created_at, now)
        self.store.save(obj.name, record)
        for to_type, to_id, type_id, reverse_id in plan.links:
            self.store.associate(obj.name, record.id, to_type, to_id, type_id, reverse_id)
        result = _view(record, values)
        if upsert:
            result["new"] = plan.existing is None
        if plan.trace_id is not None:
            result["objectWriteTraceId"] = plan.trace_id
        return result

    # Reads

    def _read(self, obj: ObjectType, body: dict, inputs: list[dict], started: str) -> tuple[int, dict]:
        """Run batch/read: records by id or unique property, 207 for the missing ones."""
        id_property = body.get("idProperty")
        wanted = body.get("properties")
        if wanted is not None and (
            not isinstance(wanted, list) or not all(isinstance(p, str) for p in wanted)
        ):
            raise malformed('"properties" must be an array of strings')
        definitions = self.store.definitions(obj)
        if id_property is not None and id_property != "hs_object_id":
            definition = definitions.get(id_property)
            if definition is None or not definition.unique:
                raise validation_error(
                    f"Unable to perform read by non-unique {obj.type_id} property {id_property} "
                    f"in portal ID {PORTAL_ID}"
                )
        else:
            id_property = None
        found: dict[str, Record] = {}
        missing: list[str] = []
        with self.store.lock:
            for item in inputs:
                key = self._normal_key(definitions, id_property, item["id"])
                record_id = (
                    key if id_property is None else self.store.unique_holder(obj.name, id_property, key)
                )
                record = self.store.get(obj.name, record_id) if record_id else None
                if record is None:
                    missing.append(_text_id(item["id"]))
                else:
                    found[record.id] = record
        history = body.get("propertiesWithHistory") or []
        if not isinstance(history, list) or not all(isinstance(p, str) for p in history):
            raise malformed('"propertiesWithHistory" must be an array of strings')
        results = [_view(record, self._selected(obj, record, wanted)) for record in found.values()]
        if history:
            for result, record in zip(results, found.values(), strict=True):
                result["propertiesWithHistory"] = _history(record, history)
        random.shuffle(results)
        body_out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if missing:
            body_out["numErrors"] = 1
            body_out["errors"] = [_not_found(obj, missing)]
        body_out["startedAt"] = started
        body_out["completedAt"] = iso_now()
        return (207 if missing else 200), body_out

    def _selected(self, obj: ObjectType, record: Record, wanted: list[str] | None) -> dict[str, str | None]:
        """Requested properties (or the object's default set), unset ones as null, as HubSpot reads do."""
        definitions = self.store.definitions(obj)
        names = (*wanted, obj.create_date, obj.modified_date, "hs_object_id") if wanted else obj.default_read
        values = record.properties
        return {name: values.get(name) for name in names if name in definitions}

    def list(
        self, obj: ObjectType, query: dict[str, list[str]], base: str = "/crm/v3/objects"
    ) -> tuple[int, dict]:
        """``GET .../objects/{obj}``: pages of records in id order, ``after`` is the last id seen."""
        limit = _int_param(query, "limit", 10)
        if not 1 <= limit <= MAX_PAGE:
            raise validation_error(f"limit must be between 1 and {MAX_PAGE}")
        after = _int_param(query, "after", 0)
        wanted = _list_param(query, "properties")
        with_types = [
            OBJECTS_BY_KEY[name] for name in _list_param(query, "associations") if name in OBJECTS_BY_KEY
        ]
        archived = (query.get("archived") or ["false"])[0] == "true"
        with self.store.lock:
            page: list[Record] = []
            more = False
            records = () if archived else self.store.records_after(obj.name, after)  # archived ones are gone
            for record in records:
                if len(page) == limit:
                    more = True
                    break
                page.append(record)
            results = [self._full_view(obj, record, wanted, with_types) for record in page]
        body: dict[str, Any] = {"results": results}
        if more:
            body["paging"] = {
                "next": {"after": page[-1].id, "link": f"{base}/{obj.name}?after={page[-1].id}"}
            }
        return 200, body

    # Single-record writes: the batch rules applied to one input, answered with the record itself

    def create_one(self, obj: ObjectType, body: Any, dialect: Dialect = NUMBERED) -> tuple[int, dict]:
        """``POST .../objects/{obj}``: 201 with the new record."""
        if not isinstance(body, dict):
            raise malformed("the body must be a JSON object")
        _, out = self.batch(obj, "create", {"inputs": [body]}, dialect)
        return 201, out["results"][0]  # type: ignore[index]

    def update_one(
        self,
        obj: ObjectType,
        record_id: str,
        body: Any,
        query: dict[str, list[str]],
        dialect: Dialect = NUMBERED,
    ) -> tuple[int, dict]:
        """``PATCH .../objects/{obj}/{id}`` (``idProperty`` allowed): 200 with the record, else 404."""
        if not isinstance(body, dict):
            raise malformed("the body must be a JSON object")
        item = {"id": record_id, **body}
        id_property = (query.get("idProperty") or [None])[0]
        if id_property:
            item["idProperty"] = id_property
        status, out = self.batch(obj, "update", {"inputs": [item]}, dialect)
        if status == 207:
            raise ApiError(404, "OBJECT_NOT_FOUND", "resource not found")
        return 200, out["results"][0]  # type: ignore[index]

    def archive_one(self, obj: ObjectType, record_id: str) -> tuple[int, None]:
        """``DELETE .../objects/{obj}/{id}``: 204 whether or not the record existed."""
        return self.batch(obj, "archive", {"inputs": [{"id": record_id}]})  # type: ignore[return-value]

    def get(self, obj: ObjectType, record_id: str, query: dict[str, list[str]]) -> tuple[int, dict]:
        """``GET .../objects/{obj}/{id}`` (``idProperty`` allowed); 404 when missing."""
        id_property = (query.get("idProperty") or [None])[0]
        with self.store.lock:
            if id_property and id_property != "hs_object_id":
                definition = self.store.definitions(obj).get(id_property)
                if definition is None or not definition.unique:
                    raise validation_error(f"{id_property} is not a unique property of {obj.type_id}")
                record_id = (
                    self.store.unique_holder(
                        obj.name,
                        id_property,
                        self._normal_key(self.store.definitions(obj), id_property, record_id),
                    )
                    or ""
                )
            record = self.store.get(obj.name, record_id)
            if record is None:
                raise ApiError(404, "OBJECT_NOT_FOUND", "resource not found")
            with_types = [
                OBJECTS_BY_KEY[n] for n in _list_param(query, "associations") if n in OBJECTS_BY_KEY
            ]
            return 200, self._full_view(obj, record, _list_param(query, "properties"), with_types)

    def _full_view(
        self, obj: ObjectType, record: Record, wanted: list[str], with_types: list[ObjectType]
    ) -> dict:
        """A record with its requested properties and associations (list and get-by-id)."""
        view = _view(record, self._selected(obj, record, wanted or None))
        associations = {}
        for other in with_types:
            links = self.store.associations(obj.name, record.id, other.name)
            if links:
                label = f"{_singular(obj.name)}_to_{_singular(other.name)}"
                associations[other.name.replace("_", " ") if other.name == "line_items" else other.name] = {
                    "results": [{"id": to_id, "type": label} for to_id in sorted(links, key=int)]
                }
        if associations:
            view["associations"] = associations
        return view

    def dump(self, obj: ObjectType) -> list[dict]:
        """Every record of a type with all properties, associated ids and their type ids (control API)."""
        with self.store.lock:
            return [
                {
                    **_view(record, record.properties),
                    "associations": self.store.all_associations(obj.name, record.id),
                    "association_types": self.store.all_association_types(obj.name, record.id),
                }
                for record in self.store.all_records(obj.name)
            ]


def _view(record: Record, properties: dict) -> dict:
    """A record as the object API returns it, with the given properties."""
    return {
        "id": record.id,
        "properties": properties,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "archived": False,
    }


def _history(record: Record, names: list[str]) -> dict[str, list[dict]]:
    """The sandbox keeps no history: each requested property's current value is its only version."""
    values = record.properties
    return {
        name: [{"value": values[name], "timestamp": record.updated_at, "sourceType": "API"}]
        for name in names
        if name in values
    }


def _not_found(obj: ObjectType, ids: list[str]) -> dict:
    """The 207 error entry naming records that do not exist."""
    # The object name in the message is verified for CONTACT only; the others follow the same pattern.
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {obj.legacy_name} objects, they may be deleted or not exist. "
        f"Check that ids are valid.",
        "context": {"ids": ids},
        "errors": [],
        "links": {},
    }


def _check_types(item: dict) -> None:
    """The JSON types of an input's fields (HubSpot's binding refuses the whole batch otherwise)."""
    record_id = item.get("id")
    if record_id is not None and (not isinstance(record_id, str | int) or isinstance(record_id, bool)):
        raise malformed('"id" must be a string')
    properties = item.get("properties")
    if properties is not None and properties.__class__ is not dict:
        raise malformed('"properties" must be an object')
    trace = item.get("objectWriteTraceId")
    if trace is not None and trace.__class__ is not str:
        raise malformed('"objectWriteTraceId" must be a string')
    associations = item.get("associations")
    if associations is not None and associations.__class__ is not list:
        raise malformed('"associations" must be an array')


def _trace_ids(inputs: list[dict]) -> list[str] | None:
    """The trace ids when every input has a distinct non-empty one (this turns on 207 partial results)."""
    trace_ids = [item.get("objectWriteTraceId") for item in inputs]
    if all(trace_ids) and len(set(trace_ids)) == len(trace_ids):
        return trace_ids  # type: ignore[return-value]
    return None


def _text_id(raw: str | int) -> str:
    """A record id or key as a string (HubSpot accepts JSON numbers)."""
    return raw if isinstance(raw, str) else str(raw)


def _singular(name: str) -> str:
    """An object type's singular name, for association type labels."""
    return name[:-1] if name.endswith("s") else name


def _line_item_totals(values: dict[str, str]) -> None:
    """HubSpot's calculated line item values: total discount and net price (amount)."""
    quantity, price = decimal_or_none(values.get("quantity")), decimal_or_none(values.get("price"))
    if quantity is None or price is None:
        values.pop("amount", None)
        values.pop("hs_total_discount", None)
        return
    unit_discount = decimal_or_none(values.get("discount")) or Decimal(0)
    percentage = decimal_or_none(values.get("hs_discount_percentage")) or Decimal(0)
    discount = quantity * unit_discount + quantity * price * percentage / 100
    values["hs_total_discount"] = _money(discount)
    values["amount"] = _money(quantity * price - discount)


def _home_currency(values: dict[str, str]) -> None:
    """Orders and carts: the total in the portal's currency (the sandbox converts at 1.0, e.g. "500.0")."""
    values["hs_exchange_rate"] = "1.0"
    total = decimal_or_none(values.get("hs_total_price"))
    if total is None:
        values.pop("hs_homecurrency_amount", None)
    else:
        values["hs_homecurrency_amount"] = str(float(total))


def _money(value: Decimal) -> str:
    """A money amount with at most two decimals."""
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        value = value.quantize(CENT)
    return format(value, "f")


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    """An integer query parameter (400 if not an integer)."""
    values = query.get(name)
    if not values or values[0] == "":
        return default
    try:
        return int(values[0])
    except ValueError:
        raise validation_error(f"{name} must be an integer, got {values[0]!r}") from None


def _list_param(query: dict[str, list[str]], name: str) -> list[str]:
    """A comma-separated or repeated query parameter as a list."""
    return [part for value in query.get(name, []) for part in value.split(",") if part]
