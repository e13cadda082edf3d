"""The sandbox portal's state: records, unique-value indexes, associations, custom properties, record ids.

One lock guards everything; callers hold ``store.lock`` across a whole batch so a batch is atomic. Records are
never mutated in place: an update stores a new properties dict, so a response can be serialised after the
lock is released without copying.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from hubspot_commerce.sandbox.schema import OBJECT_TYPES, ObjectType, PropertyDef

FIRST_ID = 30_000_000_001


@dataclass
class Record:
    """One CRM record. ``properties`` holds only non-empty values, all strings."""

    id: str
    properties: dict[str, str]
    created_at: str
    updated_at: str


class Store:
    """Records per object type with unique indexes and two-way associations."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every record, custom property, association and id."""
        with self.lock:
            self._next_id = FIRST_ID
            self.records: dict[str, dict[str, Record]] = {obj.name: {} for obj in OBJECT_TYPES}
            self.custom: dict[str, dict[str, PropertyDef]] = {obj.name: {} for obj in OBJECT_TYPES}
            self._definitions: dict[str, dict[str, PropertyDef]] = {
                obj.name: dict(obj.properties) for obj in OBJECT_TYPES
            }
            # (object type, property) -> {value: record id}
            self._unique: dict[tuple[str, str], dict[str, str]] = {
                (obj.name, d.name): {} for obj in OBJECT_TYPES for d in obj.properties.values() if d.unique
            }
            self._unique_names: dict[str, list[str]] = {
                obj.name: [d.name for d in obj.properties.values() if d.unique] for obj in OBJECT_TYPES
            }
            # (object type, record id) -> {to type: {to id: {type ids}}}
            self._links: dict[tuple[str, str], dict[str, dict[str, set[int]]]] = {}

    def next_id(self) -> str:
        """A new record id (ids rise across object types)."""
        with self.lock:
            record_id = str(self._next_id)
            self._next_id += 1
            return record_id

    # Property definitions

    def definitions(self, obj: ObjectType) -> dict[str, PropertyDef]:
        """Default plus custom properties of an object type (do not mutate)."""
        return self._definitions[obj.name]

    def add_property(self, obj: ObjectType, definition: PropertyDef) -> None:
        """Add a custom property definition (and its unique index)."""
        with self.lock:
            self.custom[obj.name][definition.name] = definition
            self._definitions[obj.name] = {**self._definitions[obj.name], definition.name: definition}
            if definition.unique:
                self._unique[(obj.name, definition.name)] = {}
                self._unique_names[obj.name] = [*self._unique_names[obj.name], definition.name]

    # Records

    def get(self, obj_name: str, record_id: str) -> Record | None:
        """A record, or None (always None for object types the sandbox does not hold)."""
        records = self.records.get(obj_name)
        return records.get(record_id) if records is not None else None

    def unique_properties(self, obj_name: str) -> list[str]:
        """Names of the unique-value properties of an object type."""
        return self._unique_names[obj_name]

    def unique_holder(self, obj_name: str, prop: str, value: str) -> str | None:
        """The id of the record holding ``value`` in unique property ``prop``."""
        index = self._unique.get((obj_name, prop))
        return index.get(value) if index is not None else None

    def save(self, obj_name: str, record: Record) -> None:
        """Insert or replace a record, keeping the unique indexes right."""
        old = self.records[obj_name].get(record.id)
        for prop in self._unique_names[obj_name]:
            index = self._unique[(obj_name, prop)]
            if old is not None and prop in old.properties and index.get(old.properties[prop]) == record.id:
                del index[old.properties[prop]]
            if prop in record.properties:
                index[record.properties[prop]] = record.id
        self.records[obj_name][record.id] = record

    def archive(self, obj_name: str, record_id: str) -> None:
        """Delete a record with its unique values and associations (no recycle bin)."""
        record = self.records[obj_name].pop(record_id, None)
        if record is None:
            return
        for (name, prop), index in self._unique.items():
            if name == obj_name and index.get(record.properties.get(prop, "")) == record_id:
                del index[record.properties[prop]]
        for to_type, targets in self._links.pop((obj_name, record_id), {}).items():
            for to_id in targets:
                self._links.get((to_type, to_id), {}).get(obj_name, {}).pop(record_id, None)

    # Associations

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int, reverse_id: int
    ) -> None:
        """Link two records with a type id and its reverse."""
        self._links.setdefault((from_type, from_id), {}).setdefault(to_type, {}).setdefault(to_id, set()).add(
            type_id
        )
        self._links.setdefault((to_type, to_id), {}).setdefault(from_type, {}).setdefault(from_id, set()).add(
            reverse_id
        )

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Remove every link between two records, in both directions."""
        self._links.get((from_type, from_id), {}).get(to_type, {}).pop(to_id, None)
        self._links.get((to_type, to_id), {}).get(from_type, {}).pop(from_id, None)

    def associations(self, obj_name: str, record_id: str, to_type: str) -> dict[str, set[int]]:
        """{to id: {association type ids}} of one record towards one object type."""
        return self._links.get((obj_name, record_id), {}).get(to_type, {})

    def all_associations(self, obj_name: str, record_id: str) -> dict[str, list[str]]:
        """{to type: [to ids]} of one record (for the dump)."""
        links = self._links.get((obj_name, record_id), {})
        return {to_type: sorted(targets, key=int) for to_type, targets in links.items() if targets}

    def all_association_types(self, obj_name: str, record_id: str) -> dict[str, dict[str, list[int]]]:
        """{to type: {to id: [type ids]}} of one record (for the dump): the ids the v4 read reports."""
        links = self._links.get((obj_name, record_id), {})
        return {
            to_type: {to_id: sorted(targets[to_id]) for to_id in sorted(targets, key=int)}
            for to_type, targets in links.items()
            if targets
        }
