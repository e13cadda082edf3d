"""Check a HubSpot portal against the store record by record: every source row exactly once, exact values,
exactly its links. Expected values come from the SQLite store directly (not through the sync's mapping).

``check_graph(reader, store_path)`` returns a :class:`GraphCheck`; ``reader`` is anything with
``list_objects`` and ``associations`` (:class:`GraphReader`), such as ``HubSpotReader`` over the public API.
Products are found by ``hs_sku``, contacts by lower-cased ``email``, every other record by
``airflow_source_key``. HubSpot records whose key is not the store's (an already-used portal) are ignored;
links are read from the store's records (HubSpot keeps both sides of a link). With ``sample``, links are read
for that many random orders (with their lines and payments) and carts (with their lines) only: the link reads
are most of the check's requests; every record is still checked for presence, duplicates and values.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from hubspot_commerce.objects import ORDER_PIPELINE, association_type_id

KEY_PROPERTY = "airflow_source_key"
PLAIN_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
# The default Order Pipeline's stage ids by lower-cased label: include/mappings/commerce.yaml sends an
# order's status as a stage label, which the sync turns into the stage's id.
STAGES = ORDER_PIPELINE.stage_ids()

Links = dict[str, dict[str, list[int]]]  # from id -> {to id: [association type ids]}
# What a sample takes: (parent stream, the children's column naming the parent, child streams).
SAMPLED = (
    ("orders", "order_id", ("order_line_items", "payments")),
    ("carts", "cart_id", ("cart_line_items",)),
)


class GraphReader(Protocol):
    """What the check needs from HubSpot."""

    def list_objects(self, object_type: str, properties: Sequence[str]) -> list[dict[str, Any]]:
        """Every record of a type: ``[{"id": str, "properties": {name: str | None}}]``."""
        ...

    def associations(self, from_type: str, to_type: str, ids: Sequence[str]) -> Links:
        """Links of the records ``ids`` to records of ``to_type``."""
        ...


@dataclass
class GraphCheck:
    """The result: one description per duplicated key, missing record and wrong value or link."""

    checked: dict[str, int] = field(default_factory=dict)
    links_checked: int = 0  # records whose links were compared
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # rows the sync refused with a reason: not missing

    @property
    def ok(self) -> bool:
        """Nothing duplicated, missing or different."""
        return not (self.duplicates or self.missing or self.mismatches)

    def describe(self, limit: int = 20) -> str:
        """Counts, then the first ``limit`` problems of each kind."""
        checked = ", ".join(f"{n} {stream}" for stream, n in self.checked.items())
        lines = [
            f"checked {checked}, the links of {self.links_checked} records: {len(self.duplicates)} "
            f"duplicated, {len(self.missing)} missing, {len(self.mismatches)} mismatches; "
            f"{len(self.rejected)} rows rejected by the sync with a reason (not checked)"
        ]
        kinds = (("duplicated", self.duplicates), ("missing", self.missing), ("mismatch", self.mismatches))
        for title, problems in kinds:
            lines += [f"  {title}: {problem}" for problem in problems[:limit]]
            if len(problems) > limit:
                lines.append(f"  ... and {len(problems) - limit} more {title}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Expect:
    """One property a record must have: HubSpot property, source column, how to compare."""

    prop: str
    column: str
    kind: str = "text"  # text | decimal | instant | stage


@dataclass(frozen=True)
class Stream:
    """A source table as HubSpot records: where they live, how they are keyed, what they must hold."""

    name: str
    object_type: str
    sql: str
    key: Callable[[Mapping[str, Any]], str]
    key_property: str
    expects: tuple[Expect, ...]


LINE_EXPECTS = (Expect("quantity", "quantity", "decimal"), Expect("price", "unit_price", "decimal"))
ORDER_EXPECTS = (
    Expect("hs_order_name", "order_number"),
    Expect("hs_external_order_id", "order_id"),
    Expect("hs_currency_code", "currency"),
    Expect("hs_external_order_status", "status"),
    Expect("hs_pipeline_stage", "status", "stage"),
    Expect("hs_total_price", "total", "decimal"),
    Expect("hs_subtotal_price", "subtotal", "decimal"),
    Expect("hs_tax", "tax", "decimal"),
    Expect("hs_order_discount", "discount", "decimal"),
    Expect("hs_shipping_cost", "shipping_cost", "decimal"),
    Expect("hs_external_created_date", "placed_at", "instant"),
)
PAYMENT_EXPECTS = (
    Expect("hs_initial_amount", "amount", "decimal"),
    Expect("hs_currency_code", "currency"),
    Expect("hs_initiated_date", "initiated_at", "instant"),
    Expect("hs_reference_number", "reference"),
)
CART_EXPECTS = (
    Expect("hs_total_price", "total", "decimal"),
    Expect("hs_currency_code", "currency"),
    Expect("hs_external_cart_id", "cart_id"),
    Expect("hs_cart_url", "url"),
)
STREAMS = (
    Stream(
        "products",
        "products",
        "SELECT * FROM products",
        lambda r: r["sku"],
        "hs_sku",
        (Expect("name", "name"), Expect("price", "price", "decimal")),
    ),
    Stream(
        "contacts",
        "contacts",
        "SELECT * FROM customers",
        lambda r: (r["email"] or "").lower(),
        "email",
        (Expect("firstname", "first_name"), Expect("lastname", "last_name")),
    ),
    Stream(
        "orders", "orders", "SELECT * FROM orders", lambda r: str(r["order_id"]), KEY_PROPERTY, ORDER_EXPECTS
    ),
    Stream(
        "order_line_items",
        "line_items",
        "SELECT * FROM order_lines",
        lambda r: f"order:{r['order_id']}:{r['line_number']}",
        KEY_PROPERTY,
        (*LINE_EXPECTS, Expect("discount", "discount", "decimal")),
    ),
    Stream(
        "payments",
        "commerce_payments",
        "SELECT * FROM payments",
        lambda r: str(r["payment_id"]),
        KEY_PROPERTY,
        PAYMENT_EXPECTS,
    ),
    Stream("carts", "carts", "SELECT * FROM carts", lambda r: str(r["cart_id"]), KEY_PROPERTY, CART_EXPECTS),
    Stream(
        "cart_line_items",
        "line_items",
        "SELECT * FROM cart_lines",
        lambda r: f"cart:{r['cart_id']}:{r['line_number']}",
        KEY_PROPERTY,
        LINE_EXPECTS,
    ),
)
# HUBSPOT_DEFINED type of each link direction the sync creates.
LINK_TYPES = {
    pair: association_type_id(*pair)
    for pair in (
        ("orders", "contacts"),
        ("orders", "line_items"),
        ("line_items", "orders"),
        ("commerce_payments", "orders"),
        ("commerce_payments", "contacts"),
        ("carts", "contacts"),
        ("carts", "line_items"),
        ("line_items", "carts"),
    )
}


def same_amount(hubspot_value: Any, source_value: Any) -> bool:
    """Exact decimal equality, HubSpot's value written as a plain decimal (no exponent, no float artefact)."""
    if not isinstance(hubspot_value, str) or PLAIN_DECIMAL.fullmatch(hubspot_value) is None:
        return False
    try:
        return Decimal(hubspot_value) == Decimal(str(source_value))
    except InvalidOperation:
        return False


def epoch_ms(value: Any) -> int | None:
    """A source timestamp (``YYYY-MM-DD HH:MM:SS``, UTC) or HubSpot's (epoch ms or ISO 8601) in epoch ms."""
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def value_matches(expect: Expect, hubspot_value: Any, source_value: Any) -> bool:
    """Whether HubSpot holds what the source says for one property."""
    if expect.kind == "decimal":
        return same_amount(hubspot_value, source_value)
    if expect.kind == "instant":
        return hubspot_value is not None and epoch_ms(hubspot_value) == epoch_ms(source_value)
    if expect.kind == "stage":
        return hubspot_value == STAGES.get(str(source_value).lower())
    return hubspot_value == str(source_value)


Rows = dict[str, dict[str, Any]]  # source key -> row
Found = dict[str, dict[str, Any]]  # source key -> the HubSpot record of that key


def load_source(store_path: str | Path) -> dict[str, Rows]:
    """Every stream's source rows by key, straight from the SQLite store."""
    db = sqlite3.connect(f"file:{Path(store_path)}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return {
            stream.name: {stream.key(row): dict(row) for row in db.execute(stream.sql)} for stream in STREAMS
        }
    finally:
        db.close()


def list_hubspot(reader: GraphReader) -> dict[str, list[dict[str, Any]]]:
    """Every record of each object type the streams write, with the properties they are checked on
    (one listing per object type, the types read in parallel)."""
    properties: dict[str, set[str]] = {}
    for stream in STREAMS:
        wanted = properties.setdefault(stream.object_type, set())
        wanted.update({stream.key_property, *(e.prop for e in stream.expects)})
    properties["line_items"].add("hs_product_id")
    with ThreadPoolExecutor(len(properties)) as pool:
        listings = {
            object_type: pool.submit(reader.list_objects, object_type, sorted(names))
            for object_type, names in properties.items()
        }
        return {object_type: future.result() for object_type, future in listings.items()}


def index_stream(stream: Stream, records: list[dict[str, Any]], source: Rows, result: GraphCheck) -> Found:
    """The stream's records by source key (keys not in the store are ignored); duplicates are reported."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        value = record["properties"].get(stream.key_property)
        key = value.lower() if stream.name == "contacts" and value else value
        if key in source:
            groups.setdefault(key, []).append(record)
    for key, group in groups.items():
        if len(group) > 1:
            ids = ", ".join(sorted((r["id"] for r in group), key=int))
            result.duplicates.append(f"{stream.name} {key}: {len(group)} records (ids {ids})")
    return {key: group[0] for key, group in groups.items()}


def check_records(
    stream: Stream,
    source: Rows,
    found: Found,
    excluded: set[str],
    result: GraphCheck,
    rejected: set[str] = frozenset(),
) -> None:
    """Each source row (not excluded) exists with the source's values; excluded rows must be absent; rows
    the sync rejected with a reason are counted as such, present or not."""
    for key, row in source.items():
        record = found.get(key)
        if key in rejected:
            result.rejected.append(f"{stream.name} {key}")
            continue
        if key in excluded:
            if record is not None:
                result.mismatches.append(f"{stream.name} {key}: in HubSpot (id {record['id']}) but excluded")
            continue
        if record is None:
            result.missing.append(f"{stream.name} {key}")
            continue
        for expect in stream.expects:
            source_value = row.get(expect.column)
            hubspot_value = record["properties"].get(expect.prop)
            if source_value is not None and not value_matches(expect, hubspot_value, source_value):
                result.mismatches.append(
                    f"{stream.name} {key}: {expect.prop} is {hubspot_value!r}, "
                    f"source {expect.column} is {source_value!r}"
                )
    result.checked[stream.name] = len(source) - len((excluded | rejected) & source.keys())


def check_product_ids(stream: Stream, source: Rows, found: dict[str, Found], result: GraphCheck) -> None:
    """A line item's ``hs_product_id`` is the HubSpot id of its SKU's product."""
    for key, record in found[stream.name].items():
        sku = source[key]["sku"]
        product = found["products"].get(sku)
        actual = record["properties"].get("hs_product_id")
        if product is not None and actual != product["id"]:
            result.mismatches.append(
                f"{stream.name} {key}: hs_product_id is {actual!r}, product {sku} is {product['id']}"
            )


Pair = tuple[str, str]  # (from object type, to object type)
Expected = dict[Pair, dict[str, set[str]]]  # direction -> {from id: the ids it must link to}


def _record_id(found: Found, key: Any) -> str | None:
    """The HubSpot id of the record with this source key, if HubSpot has it."""
    record = found.get(str(key)) if key is not None else None
    return record["id"] if record is not None else None


def _children(source: Rows, found: Found, parent_column: str) -> dict[str, set[str]]:
    """HubSpot ids of the found lines of each parent (order or cart), by the parent's key."""
    children: dict[str, set[str]] = {}
    for key, record in found.items():
        children.setdefault(str(source[key][parent_column]), set()).add(record["id"])
    return children


def _contact_of(source: dict[str, Rows], found: dict[str, Found]) -> Callable[[Any], tuple[bool, set[str]]]:
    """customer id -> (whether the link is known, the contact ids it must be); a guest links to nothing, a
    customer whose contact is missing is not known (it is reported as missing already)."""
    email_of = {str(row["customer_id"]): key for key, row in source["contacts"].items()}

    def contact(customer_id: Any) -> tuple[bool, set[str]]:
        """Whether the customer's link is known, and the contact ids it must be."""
        if customer_id is None:
            return True, set()
        contact_id = _record_id(found["contacts"], email_of.get(str(customer_id)))
        return contact_id is not None, {contact_id} if contact_id else set()

    return contact


def expected_links(source: dict[str, Rows], found: dict[str, Found]) -> Expected:
    """What the store says each found record must be linked to, direction by direction."""
    links: Expected = {pair: {} for pair in LINK_TYPES}
    contact = _contact_of(source, found)
    order_lines = _children(source["order_line_items"], found["order_line_items"], "order_id")
    cart_lines = _children(source["cart_line_items"], found["cart_line_items"], "cart_id")
    for key, record in found["orders"].items():
        known, contacts = contact(source["orders"][key]["customer_id"])
        if known:
            links[("orders", "contacts")][record["id"]] = contacts
        links[("orders", "line_items")][record["id"]] = order_lines.get(key, set())
    for key, record in found["payments"].items():
        order_key = str(source["payments"][key]["order_id"])
        order_id = _record_id(found["orders"], order_key)
        if order_id is not None:
            links[("commerce_payments", "orders")][record["id"]] = {order_id}
        known, contacts = contact((source["orders"].get(order_key) or {}).get("customer_id"))
        if known and order_key in source["orders"]:
            links[("commerce_payments", "contacts")][record["id"]] = contacts
    for key, record in found["carts"].items():
        known, contacts = contact(source["carts"][key]["customer_id"])
        if known:
            links[("carts", "contacts")][record["id"]] = contacts
        links[("carts", "line_items")][record["id"]] = cart_lines.get(key, set())
    for stream, parent, parent_type, other in (
        ("order_line_items", "orders", "orders", "carts"),
        ("cart_line_items", "carts", "carts", "orders"),
    ):
        column = "order_id" if parent == "orders" else "cart_id"
        for key, record in found[stream].items():
            parent_id = _record_id(found[parent], source[stream][key][column])
            if parent_id is not None:
                links[("line_items", parent_type)][record["id"]] = {parent_id}
            links[("line_items", other)][record["id"]] = set()
    return links


def compare_links(
    reader: GraphReader, expected: Expected, labels: dict[str, str], result: GraphCheck
) -> None:
    """Read every direction's links from HubSpot and compare them with the store's, type ids included."""
    with ThreadPoolExecutor(4) as pool:
        reads = {
            pair: pool.submit(reader.associations, pair[0], pair[1], sorted(wanted, key=int))
            for pair, wanted in expected.items()
            if wanted
        }
        actual = {pair: future.result() for pair, future in reads.items()}
    for pair, links in actual.items():
        type_id = LINK_TYPES[pair]
        result.links_checked += len(expected[pair])
        for from_id, wanted in expected[pair].items():
            have = links.get(from_id, {})
            where = f"{labels.get(from_id, from_id)} -> {pair[1]}"
            if set(have) != wanted:
                shown = sorted(labels.get(i, f"id {i}") for i in have)
                result.mismatches.append(
                    f"{where}: HubSpot links {shown}, store says {sorted(labels[i] for i in wanted)}"
                )
            for to_id, type_ids in have.items():
                if to_id in wanted and type_ids != [type_id]:
                    result.mismatches.append(f"{where} {labels[to_id]}: type ids {type_ids}, not [{type_id}]")


def check_graph(
    reader: GraphReader,
    store_path: str | Path,
    excluded: Mapping[str, set[str]] | None = None,
    sample: int | None = None,
    rejected: Mapping[str, set[str]] | None = None,
) -> GraphCheck:
    """Compare HubSpot with the store: every record once, exact values, exactly its links.

    :param excluded: source keys per stream that must NOT be in HubSpot (rows the sync rejects), as the
        sync keys them: ``products`` by SKU, ``contacts`` by customer id, ``orders`` ``<order_id>``,
        ``order_line_items`` ``order:<order_id>:<line>``, ``payments``, ``carts``, ``cart_line_items``.
    :param sample: read the links of this many random orders and carts (with their lines and payments)
        instead of every record's (None: every record's).
    :param rejected: source keys per stream (keyed like ``excluded``) that the sync rejected with a reason,
        as its sync state records them: neither missing nor checked, whether HubSpot has them or not.
    """
    source = load_source(store_path)
    excluded_keys = _excluded_keys(source, excluded or {})
    rejected_keys = _excluded_keys(source, rejected or {})
    listings = list_hubspot(reader)
    result = GraphCheck()
    found = {
        stream.name: index_stream(stream, listings[stream.object_type], source[stream.name], result)
        for stream in STREAMS
    }
    for stream in STREAMS:
        check_records(
            stream, source[stream.name], found[stream.name], excluded_keys[stream.name], result,
            rejected_keys[stream.name],
        )  # fmt: skip
        if stream.object_type == "line_items":
            check_product_ids(stream, source[stream.name], found, result)
    labels = {
        record["id"]: f"{name} {key}" for name, records in found.items() for key, record in records.items()
    }
    linked = found if sample is None else sampled(source, found, sample)
    compare_links(reader, expected_links(source, linked), labels, result)
    return result


def sampled(source: dict[str, Rows], found: dict[str, Found], size: int, seed: int = 13) -> dict[str, Found]:
    """The found records of ``size`` random orders with their lines and payments, and of ``size`` random
    carts with their lines; every product and contact."""
    rng = random.Random(seed)
    kept = dict(found)
    for parent, column, children in SAMPLED:
        keys = set(rng.sample(sorted(found[parent]), min(size, len(found[parent]))))
        kept[parent] = {key: found[parent][key] for key in keys}
        for child in children:
            kept[child] = {
                key: record for key, record in found[child].items() if str(source[child][key][column]) in keys
            }
    return kept


def _excluded_keys(source: dict[str, Rows], excluded: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Excluded keys per stream as the check indexes them (contacts: customer ids become their emails)."""
    keys = {stream.name: set(excluded.get(stream.name, set())) for stream in STREAMS}
    email_of = {str(row["customer_id"]): key for key, row in source["contacts"].items()}
    keys["contacts"] = {email_of.get(str(customer), str(customer)) for customer in keys["contacts"]}
    return keys
