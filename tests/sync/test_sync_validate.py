"""Validation: every row checked against property definitions and references; rejected rows carry a reason.

Every test runs twice: the stream's rows validated in chunks of 7, and all at once. Checks that need the whole
stream (duplicate keys, upsert values, references) must give the same answer either way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd
import pytest

from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.sync.mapping import SyncMapping, map_stream, to_number_text
from hubspot_commerce.sync.validate import (
    RejectedRow,
    Validation,
    check_value_types,
    key_hashes,
    mapping_problems,
)

WHOLE = 1_000_000  # rows per chunk: every stream of the test store in one


@dataclass
class Result:
    """What validating every stream gave: accepted rows per stream (all chunks), rejected rows in order."""

    accepted: dict[str, pd.DataFrame]
    rejected: list[RejectedRow]


def validate_in_chunks(
    mapping: SyncMapping, frames: Mapping[str, pd.DataFrame], definitions: dict, rows: int
) -> Result:
    """Map and validate each stream's source rows ``rows`` at a time, as ``validate_step`` does."""
    validation = Validation(mapping, definitions)
    result = Result({}, [])
    for name, stream in mapping.streams.items():
        checker, frame, parts = validation.stream(name), frames[name], []
        for start in range(0, max(len(frame), 1), rows):
            chunk = checker.validate(map_stream(frame.iloc[start : start + rows], stream))
            parts.append(chunk.accepted)
            result.rejected += chunk.rejected
        result.accepted[name] = pd.concat(parts, ignore_index=True)
    return result


Run = Callable[..., tuple[dict[str, pd.DataFrame], Result]]


@pytest.fixture(params=[7, WHOLE], ids=["chunks-of-7", "one-chunk"])
def run(request: pytest.FixtureRequest, extract) -> Run:
    """``run(mapping, definitions, damage)``: the store's rows extracted, damaged, validated in chunks."""

    def run_validation(mapping, definitions, damage=None):
        frames = extract()
        if damage:
            damage(frames)
        return frames, validate_in_chunks(mapping, frames, definitions, request.param)

    return run_validation


def _reasons(result, stream):
    return {row.key: row.reason for row in result.rejected if row.stream == stream}


def test_clean_store_has_no_rejections(run, mapping, definitions) -> None:
    frames, result = run(mapping, definitions)
    assert result.rejected == []
    assert {name: len(frame) for name, frame in result.accepted.items()} == {
        name: len(frame) for name, frame in frames.items()
    }


def test_bad_values_are_rejected_with_key_and_reason(run, mapping, definitions) -> None:
    def damage(frames):
        orders = frames["orders"]
        orders.loc[0, "status"] = "lost"
        orders.loc[1, "currency"] = "XXX"
        orders.loc[2, "total"] = None
        orders.loc[3, "order_number"] = None
        orders.loc[4, "placed_at"] = "yesterday"
        frames["payments"].loc[len(frames["payments"]) - 1, "amount"] = None

    frames, result = run(mapping, definitions, damage)
    ids = [str(i) for i in frames["orders"]["order_id"][:5]]
    reasons = _reasons(result, "orders")
    assert reasons[ids[0]] == (
        "hs_pipeline_stage: 'lost' is not one of its options (4b27b500-f031-4927-9811-68a0b525cbae (Open), "
        "937ea84d-0a4f-4dcf-9028-3f9c2aafbf03 (Processed), aa99e8d0-c1d5-4071-b915-d240bbb1aed9 (Shipped), "
        "3725360f-519b-4b18-a593-494d60a29c9f (Delivered), 3c85a297-e9ce-400b-b42e-9f16853d69d6 (Cancelled))"
    )
    assert reasons[ids[1]] == "hs_currency_code: 'XXX' is not one of its options (USD, EUR, GBP)"
    assert ids[2] not in reasons  # a missing optional value is omitted, not an error
    assert reasons[ids[3]] == "required property hs_order_name is missing"
    assert reasons[ids[4]] == "hs_external_created_date: 'yesterday' is not a datetime"
    payment = frames["payments"]["payment_id"].iloc[-1]
    assert _reasons(result, "payments")[payment] == "required property hs_initial_amount is missing"
    # The lines of rejected orders are rejected too, naming their order; the others' lines are accepted.
    line_reasons = _reasons(result, "order_line_items")
    for order_id in (ids[0], ids[1], ids[3], ids[4]):
        lines = [key for key in line_reasons if key.startswith(f"order:{order_id}:")]
        assert lines and all(line_reasons[key] == f"order '{order_id}' was rejected" for key in lines)
    assert not any(key.startswith(f"order:{ids[2]}:") for key in line_reasons)
    accepted_orders = set(result.accepted["orders"]["key"])
    assert accepted_orders == {str(i) for i in frames["orders"]["order_id"]} - {
        ids[0],
        ids[1],
        ids[3],
        ids[4],
    }


def test_broken_references_are_rejected(run, mapping, definitions) -> None:
    def damage(frames):
        frames["order_line_items"].loc[0, "sku"] = "SKU-MISSING"
        frames["payments"].loc[0, "order_id"] = 999_999
        contacts = frames["contacts"]
        customer = frames["orders"]["customer_id"].dropna().iloc[-1]
        contacts.loc[contacts["customer_id"] == customer, "email"] = None

    frames, result = run(mapping, definitions, damage)
    line = frames["order_line_items"].iloc[0]
    assert _reasons(result, "order_line_items")[f"order:{line['order_id']}:{line['line_number']}"] == (
        "product 'SKU-MISSING' is missing from the source"
    )
    assert _reasons(result, "payments")[frames["payments"]["payment_id"][0]] == (
        "order '999999' is missing from the source"
    )
    customer = str(frames["orders"]["customer_id"].dropna().iloc[-1])
    assert _reasons(result, "contacts")[customer] == "required property email is missing"
    rejected_orders = _reasons(result, "orders")
    assert rejected_orders and set(rejected_orders.values()) == {f"contact '{customer}' was rejected"}


def test_guest_orders_are_valid_without_a_contact(run, mapping, definitions) -> None:
    frames, result = run(mapping, definitions)
    guests = {str(i) for i in frames["orders"].loc[frames["orders"]["customer_id"].isna(), "order_id"]}
    assert guests and guests <= set(result.accepted["orders"]["key"])


def test_a_mapping_the_portal_cannot_take_fails_naming_every_problem(run, mapping, definitions) -> None:
    """Missing and read-only properties, and values targets that are not options, are found before any row
    is looked at, and named together (each would otherwise reject every row that has a value)."""
    defs = {
        **definitions,
        "carts": [d for d in definitions["carts"] if d["name"] != "hs_cart_url"],
        "products": [
            d if d["name"] != "description" else {**d, "modificationMetadata": {"readOnlyValue": True}}
            for d in definitions["products"]
        ],
        "commerce_payments": [
            {**d, "options": [o for o in d["options"] if o["value"] != "wire_transfer"]}
            if d["name"] == "hs_payment_method_type"
            else d
            for d in definitions["commerce_payments"]
        ],
    }
    problems = mapping_problems(mapping, defs)
    assert problems == [
        "stream products: products property description is read-only in HubSpot",
        "stream payments: commerce_payments property hs_payment_method_type: values wire_transfer are not "
        "options (allowed: card, ach, cash, check, other, sepa, bacs, pads)",
        "stream carts: carts has no property hs_cart_url in HubSpot",
    ]
    with pytest.raises(SyncConfigurationError, match=r"does not fit the portal \(3 problems\)"):
        run(mapping, defs)
    one = {**definitions, "carts": defs["carts"]}
    with pytest.raises(SyncConfigurationError) as refused:
        run(mapping, one)
    assert str(refused.value) == (
        "the mapping does not fit the portal (1 problem): stream carts: carts has no property hs_cart_url in "
        "HubSpot; change the mapping, or create or change the property in HubSpot"
    )


def test_duplicate_emails_are_rejected_naming_the_first_owner(run, mapping, definitions) -> None:
    def damage(frames):
        frames["contacts"].loc[1, "email"] = frames["contacts"].loc[0, "email"].upper()

    frames, result = run(mapping, definitions, damage)
    first, second = (str(i) for i in frames["contacts"]["customer_id"][:2])
    email = frames["contacts"].loc[0, "email"].lower()
    assert _reasons(result, "contacts")[second] == f"email '{email}' is also used by source key {first}"


def test_value_types() -> None:
    values = pd.Series(["1.5", "x", None, "86400000", "1000"], dtype="string")
    assert check_value_types("n", values, {"type": "number"}).tolist() == [
        pd.NA,
        "n: 'x' is not a number",
        pd.NA,
        pd.NA,
        pd.NA,
    ]
    assert check_value_types("d", values, {"type": "date"}).tolist() == [
        "d: '1.5' is not a date",
        "d: 'x' is not a date",
        pd.NA,
        pd.NA,
        "d: '1000' is not midnight UTC",
    ]
    flags = pd.Series(["true", "false", "yes"], dtype="string")
    assert check_value_types("b", flags, {"type": "bool", "options": []}).tolist() == [
        pd.NA,
        pd.NA,
        "b: 'yes' is not true or false",
    ]


def test_hubspot_value_rules_email_and_negative_price(run, mapping, definitions) -> None:
    def damage(frames):
        frames["contacts"].loc[0, "email"] = "not-an-address"
        frames["order_line_items"].loc[0, "unit_price"] = -5

    frames, result = run(mapping, definitions, damage)
    customer = str(frames["contacts"]["customer_id"][0])
    assert _reasons(result, "contacts")[customer] == "email: 'not-an-address' is not an email address"
    line = frames["order_line_items"].iloc[0]
    key = f"order:{line['order_id']}:{line['line_number']}"
    assert _reasons(result, "order_line_items")[key] == "price: '-5' cannot be negative"


def test_rows_without_the_upsert_value_are_rejected_even_when_the_property_is_optional(
    run, mapping, definitions
) -> None:
    contacts = mapping.streams["contacts"]
    optional = tuple(
        dataclasses.replace(rule, required=False) if rule.name == "email" else rule
        for rule in contacts.properties
    )
    mapping = dataclasses.replace(
        mapping, streams={**mapping.streams, "contacts": dataclasses.replace(contacts, properties=optional)}
    )

    def damage(frames):
        frames["contacts"].loc[[0, 1], "email"] = None

    frames, result = run(mapping, definitions, damage)
    first, second = (str(i) for i in frames["contacts"]["customer_id"][:2])
    reasons = _reasons(result, "contacts")
    assert reasons == {first: "the row has no email (it is upserted by it)", second: reasons[first]}
    assert not result.accepted["contacts"]["email"].isna().any()


def test_an_upsert_property_the_stream_does_not_map_is_a_mapping_error(run, mapping, definitions) -> None:
    contacts = dataclasses.replace(mapping.streams["contacts"], upsert_by="hs_email_hash")
    mapping = dataclasses.replace(mapping, streams={**mapping.streams, "contacts": contacts})
    with pytest.raises(ValueError, match="upsert_by 'hs_email_hash'"):
        run(mapping, definitions)


def damage_across_chunks(frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Rows whose checks need rows of other 7-row chunks: duplicate keys (apart, and side by side across a
    chunk's end), rows without a key in two chunks, a rejected order and an order without a key whose lines
    come later, an email used again in a later chunk, and two keyless contacts sharing a new email.
    Returns the keys the assertions look for."""
    orders, contacts = frames["orders"], frames["contacts"]
    ids = orders["order_id"].astype(str).tolist()
    orders.loc[10, "order_id"] = orders.loc[3, "order_id"]  # chunk 1 repeats chunk 0's key
    orders.loc[7, "order_id"] = orders.loc[6, "order_id"]  # the first row of chunk 1 repeats the last of 0
    orders.loc[[12, 20], "order_id"] = None  # their lines name orders the source does not have
    orders.loc[15, "status"] = "lost"  # rejected: its lines are rejected in turn
    contacts.loc[9, "email"] = contacts.loc[2, "email"].upper()  # lower-cased: the same email
    contacts.loc[11, "customer_id"] = contacts.loc[4, "customer_id"]  # a duplicate key with a new email ...
    contacts.loc[18, "email"] = contacts.loc[11, "email"]  # ... which a later row uses again
    contacts.loc[[16, 23], "customer_id"] = None  # keyless in two chunks, one email between them
    contacts.loc[23, "email"] = contacts.loc[16, "email"]
    return {
        "repeated": ids[3],
        "side_by_side": ids[6],
        "unkeyed": ids[12],
        "lost": ids[15],
        "owner": str(contacts.loc[2, "customer_id"]),
        "user": str(contacts.loc[9, "customer_id"]),
        "duplicate_owner": str(contacts.loc[4, "customer_id"]),
        "reuser": str(contacts.loc[18, "customer_id"]),
    }


def test_checks_across_chunk_boundaries_give_what_one_chunk_gives(extract, mapping, definitions) -> None:
    """Duplicates, references and upsert values straddling chunk boundaries: validated 7 rows at a time,
    every stream accepts and rejects exactly the rows (and reasons) it does validated in one chunk."""
    frames = extract()
    keys = damage_across_chunks(frames)
    chunked = validate_in_chunks(mapping, frames, definitions, 7)
    whole = validate_in_chunks(mapping, frames, definitions, WHOLE)
    assert chunked.rejected == whole.rejected
    for name in mapping.streams:
        pd.testing.assert_frame_equal(chunked.accepted[name], whole.accepted[name])

    orders, contacts = _reasons(chunked, "orders"), _reasons(chunked, "contacts")
    accepted = chunked.accepted["orders"].set_index("key")
    for key in (keys["repeated"], keys["side_by_side"]):  # the first row of a key stays, the later goes
        assert orders[key] == "duplicate source key: an earlier row has the same key"
        assert accepted.loc[key, "hs_order_name"] == frames["orders"].loc[int(key) - 100001, "order_number"]
    assert orders[""].startswith("the row has no source key (a key column is empty)")
    lines = _reasons(chunked, "order_line_items")
    assert lines[f"order:{keys['unkeyed']}:1"] == f"order '{keys['unkeyed']}' is missing from the source"
    assert lines[f"order:{keys['lost']}:1"] == f"order '{keys['lost']}' was rejected"
    email = frames["contacts"].loc[2, "email"]
    assert contacts[keys["user"]] == f"email '{email}' is also used by source key {keys['owner']}"
    assert contacts[keys["reuser"]].endswith(f"is also used by source key {keys['duplicate_owner']}")
    assert contacts[""].startswith("the row has no source key (a key column is empty)")


def test_key_sets_answer_as_sets_of_the_keys_would(mapping, definitions) -> None:
    """The hashes kept across chunks and streams: a key seen in any earlier chunk is found, another is not."""
    validation = Validation(mapping, definitions)
    checker = validation.stream("products")
    seen: set[str] = set()
    for start in range(0, 300, 7):  # many small chunks: the set's sorted runs merge again and again
        keys = [f"SKU-{n % 250:05d}" for n in range(start, start + 7)]
        probe = pd.Series([*keys, f"NEW-{start}"], dtype="string")
        assert checker.keys.extracted.contains(key_hashes(probe)).tolist() == [k in seen for k in probe]
        checker.keys.extracted.add(key_hashes(pd.Series(keys, dtype="object")))
        seen |= set(keys)
    assert 1 < len(checker.keys.extracted.runs) < 10


def test_numbers_a_database_returns_that_hubspot_cannot_keep_are_refused_by_name() -> None:
    """NaN and infinities come as text; numbers beyond 15 digits before the point, or 15 significant ones,
    are refused (HubSpot computes in doubles); the value is shown shortened."""
    source = ["NaN", "inf", "1E+300", "123456789012345", "0.5", "1234567890123456", "-1.25"]
    values = to_number_text(pd.Series(source, dtype="string"))
    assert check_value_types("price", values, {"type": "number"}).tolist() == [
        "price: 'NaN' is not a number",
        "price: 'inf' is not a number",
        "price: '100000000000000000000000...' has more digits than HubSpot keeps (at most 15)",
        pd.NA,
        pd.NA,
        "price: '1234567890123456' has more digits than HubSpot keeps (at most 15)",
        pd.NA,
    ]
