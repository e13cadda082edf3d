"""The sandbox portal's state: records, unique-value indexes, associations, custom properties, record ids.

One lock guards everything; callers hold ``store.lock`` across a whole batch so a batch is atomic. Records are
never mutated in place: an update stores a new record, and ``Record.properties`` builds a new dict on every
read, so a response can be serialised after the lock is released without copying.

The state is kept compact, so one process holds millions of records (``bench/bench_sandbox_memory.py``
measures the bytes per record): record ids are ints; a record keeps its property names as one tuple shared by
every record with the same names and its values joined in one string; a link is one int (the other record's
id and the association type id packed together) in a dict per direction, an ``array('q')`` when a record has
several.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterator

from hubspot_sandbox.schema import OBJECT_TYPES, ObjectType, PropertyDef

FIRST_ID = 30_000_000_001
SEPARATOR = "\x00"  # joins a record's values; a record with the character in a value keeps a tuple
TYPE_BITS = 16  # a packed link is (other record's id << TYPE_BITS) | association type id
TYPE_MASK = (1 << TYPE_BITS) - 1

Links = dict[int, "int | array[int]"]  # record id -> its packed link, or an array of them
_NAME_SETS: dict[tuple[str, ...], tuple[str, ...]] = {}  # one shared tuple per distinct set of names


class Record:
    """One CRM record. ``properties`` holds only non-empty values, all strings."""

    __slots__ = ("_names", "_values", "created_at", "key", "updated_at")

    def __init__(self, record_id: str, properties: dict[str, str], created_at: str, updated_at: str) -> None:
        self.key = int(record_id)
        names = tuple(properties)
        self._names = _NAME_SETS.setdefault(names, names)
        values = tuple(properties.values())
        joined = SEPARATOR.join(values)
        self._values: str | tuple[str, ...] = joined if joined.count(SEPARATOR) == len(values) - 1 else values
        self.created_at = created_at
        self.updated_at = updated_at

    @property
    def id(self) -> str:
        """The record id, as HubSpot writes it."""
        return str(self.key)

    @property
    def properties(self) -> dict[str, str]:
        """A new dict of the record's property values."""
        if not self._names:
            return {}
        values = self._values
        listed = values.split(SEPARATOR) if isinstance(values, str) else values
        return dict(zip(self._names, listed, strict=True))


def record_key(record_id: str) -> int | None:
    """A record id as the int it is stored under; None if no record can have it (not a plain number)."""
    if record_id.isascii() and record_id.isdigit() and record_id[0] != "0":
        return int(record_id)
    return None


class Store:
    """Records per object type with unique indexes and two-way associations."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every record, custom property, association and id."""
        with self.lock:
            self._next_id = FIRST_ID
            self._records: dict[str, dict[int, Record]] = {obj.name: {} for obj in OBJECT_TYPES}
            self._order: dict[str, array[int]] = {obj.name: array("q") for obj in OBJECT_TYPES}  # rising ids
            self.custom: dict[str, dict[str, PropertyDef]] = {obj.name: {} for obj in OBJECT_TYPES}
            self._definitions: dict[str, dict[str, PropertyDef]] = {
                obj.name: dict(obj.properties) for obj in OBJECT_TYPES
            }
            # (object type, property) -> {value: record id}
            self._unique: dict[tuple[str, str], dict[str, int]] = {
                (obj.name, d.name): {} for obj in OBJECT_TYPES for d in obj.properties.values() if d.unique
            }
            self._unique_names: dict[str, list[str]] = {
                obj.name: [d.name for d in obj.properties.values() if d.unique] for obj in OBJECT_TYPES
            }
            # (from type, to type) -> {from id: packed links}
            self._links: dict[tuple[str, str], Links] = {}

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
        records = self._records.get(obj_name)
        key = record_key(record_id)
        return records.get(key) if records is not None and key is not None else None

    def all_records(self, obj_name: str) -> Iterator[Record]:
        """Every record of an object type, in id order."""
        return iter(self._records[obj_name].values())

    def records_after(self, obj_name: str, after: int) -> Iterator[Record]:
        """The records of an object type whose id is above ``after``, in id order."""
        order, records = self._order[obj_name], self._records[obj_name]
        for index in range(bisect_right(order, after), len(order)):
            record = records.get(order[index])
            if record is not None:  # else archived
                yield record

    def unique_properties(self, obj_name: str) -> list[str]:
        """Names of the unique-value properties of an object type."""
        return self._unique_names[obj_name]

    def unique_holder(self, obj_name: str, prop: str, value: str) -> str | None:
        """The id of the record holding ``value`` in unique property ``prop``."""
        index = self._unique.get((obj_name, prop))
        key = index.get(value) if index is not None else None
        return None if key is None else str(key)

    def save(self, obj_name: str, record: Record) -> None:
        """Insert or replace a record, keeping the unique indexes right."""
        records = self._records[obj_name]
        old = records.get(record.key)
        unique = self._unique_names[obj_name]
        if unique:
            old_values, values = (old.properties if old is not None else {}), record.properties
            for prop in unique:
                index = self._unique[(obj_name, prop)]
                if prop in old_values and index.get(old_values[prop]) == record.key:
                    del index[old_values[prop]]
                if prop in values:
                    index[values[prop]] = record.key
        if old is None:
            self._order[obj_name].append(record.key)
        records[record.key] = record

    def archive(self, obj_name: str, record_id: str) -> None:
        """Delete a record with its unique values and associations (no recycle bin)."""
        key = record_key(record_id)
        record = self._records[obj_name].pop(key, None) if key is not None else None
        if record is None:
            return
        values = record.properties
        for prop in self._unique_names[obj_name]:
            index = self._unique[(obj_name, prop)]
            if prop in values and index.get(values[prop]) == record.key:
                del index[values[prop]]
        for (from_type, to_type), links in self._links.items():
            if from_type == obj_name:
                for packed in _packed(links.pop(record.key, None)):
                    _unlink(self._links.get((to_type, obj_name)), packed >> TYPE_BITS, record.key)

    # Associations

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int, reverse_id: int
    ) -> None:
        """Link two records with a type id and its reverse."""
        from_key, to_key = self._stored_key(from_type, from_id), self._stored_key(to_type, to_id)
        _link(self._links.setdefault((from_type, to_type), {}), from_key, to_key << TYPE_BITS | type_id)
        _link(self._links.setdefault((to_type, from_type), {}), to_key, from_key << TYPE_BITS | reverse_id)

    def _stored_key(self, obj_name: str, record_id: str) -> int:
        """A record's id as the int object its record holds (so links share it), else as a new int."""
        record = self.get(obj_name, record_id)
        return record.key if record is not None else int(record_id)

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Remove every link between two records, in both directions."""
        from_key, to_key = record_key(from_id), record_key(to_id)
        if from_key is not None and to_key is not None:
            _unlink(self._links.get((from_type, to_type)), from_key, to_key)
            _unlink(self._links.get((to_type, from_type)), to_key, from_key)

    def associations(self, obj_name: str, record_id: str, to_type: str) -> dict[str, set[int]]:
        """{to id: {association type ids}} of one record towards one object type."""
        links, key = self._links.get((obj_name, to_type)), record_key(record_id)
        targets: dict[str, set[int]] = {}
        if links is not None and key is not None:
            for packed in _packed(links.get(key)):
                targets.setdefault(str(packed >> TYPE_BITS), set()).add(packed & TYPE_MASK)
        return targets

    def _linked_types(self, obj_name: str) -> list[str]:
        """The object types records of ``obj_name`` may be linked to."""
        return [to_type for from_type, to_type in self._links if from_type == obj_name]

    def all_associations(self, obj_name: str, record_id: str) -> dict[str, list[str]]:
        """{to type: [to ids]} of one record (for the dump)."""
        return {
            to_type: sorted(targets, key=int)
            for to_type in self._linked_types(obj_name)
            if (targets := self.associations(obj_name, record_id, to_type))
        }

    def all_association_types(self, obj_name: str, record_id: str) -> dict[str, dict[str, list[int]]]:
        """{to type: {to id: [type ids]}} of one record (for the dump): the ids the v4 read reports."""
        return {
            to_type: {to_id: sorted(targets[to_id]) for to_id in sorted(targets, key=int)}
            for to_type in self._linked_types(obj_name)
            if (targets := self.associations(obj_name, record_id, to_type))
        }


def _packed(links: int | array[int] | None) -> tuple[int, ...] | array[int]:
    """A record's packed links, whichever way they are stored."""
    if links is None:
        return ()
    return (links,) if isinstance(links, int) else links


def _link(links: Links, key: int, packed: int) -> None:
    """Add one packed link of record ``key`` (once)."""
    current = links.get(key)
    if current is None:
        links[key] = packed
    elif isinstance(current, int):
        if current != packed:
            links[key] = array("q", (current, packed))
    elif packed not in current:
        current.append(packed)


def _unlink(links: Links | None, key: int, target: int) -> None:
    """Remove every link of record ``key`` to record ``target``, whatever its type."""
    if links is None or key not in links:
        return
    kept = [packed for packed in _packed(links[key]) if packed >> TYPE_BITS != target]
    if not kept:
        del links[key]
    else:
        links[key] = kept[0] if len(kept) == 1 else array("q", kept)
