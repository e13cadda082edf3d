"""The hook and batch engine against the sandbox over real HTTP: ids, associations, faults, exact state.

After every scenario the sandbox's state is compared record by record with what the engine reported:
no duplicate, nothing missing, every id right.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from hubspot_commerce.batch.records import Association, WriteRecord, WriteSpec
from hubspot_commerce.client.crm_properties import key_property_definition
from hubspot_commerce.errors import HubSpotDailyLimitReached, HubSpotMissingScopes, HubSpotValidationError
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_sandbox.process import SandboxProcess

KEY = "src_key"


@pytest.fixture
def hook(hubspot_conn) -> HubSpotHook:
    hook = HubSpotHook(hubspot_conn_id=hubspot_conn)
    for object_type in ("orders", "line_items", "contacts"):
        assert hook.ensure_properties(object_type, [key_property_definition(KEY)]) == [KEY]
    return hook


@pytest.fixture(scope="module")
def tight_sandbox():
    """A sandbox of its own: a small burst limit and a token that may only read orders."""
    with SandboxProcess(
        tokens=["test-token", "ro-token:crm.objects.orders.read"], rate_limit=30, daily_limit=1_000_000
    ) as sandbox:
        yield sandbox


def _use(monkeypatch, sandbox, token: str = "test-token", **extra) -> HubSpotHook:
    conn = {"conn_type": "hubspot", "host": sandbox.url, "password": token}
    if extra:
        conn["extra"] = extra
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(conn))
    return HubSpotHook()


def _orders(n: int, prefix: str = "o") -> list[WriteRecord]:
    return [
        WriteRecord(f"{prefix}-{i}", {"hs_order_name": f"Order {i}", "hs_currency_code": "EUR"})
        for i in range(n)
    ]


def assert_exact_state(sandbox, object_type: str, ids: dict[str, str]) -> list[dict]:
    """HubSpot holds exactly one record per key, each with the id the engine reported, and no other."""
    dump = sandbox.dump(object_type)
    counts = Counter(r["properties"].get(KEY) for r in dump)
    assert [k for k, n in counts.items() if n > 1] == [], "duplicates"
    assert {r["properties"][KEY]: r["id"] for r in dump} == ids
    return dump


def _path_count(sandbox, suffix: str) -> int:
    return sum(n for path, n in sandbox.stats()["by_path"].items() if path.endswith(suffix))


def test_orders_line_items_ids_and_associations(sandbox, hook):
    contacts = hook.batch_write(
        WriteSpec("contacts", "create", key_property=KEY),
        [WriteRecord(f"c-{i}", {"email": f"c{i}@example.com"}) for i in range(3)],
    )
    products = hook.batch_write(
        WriteSpec("products", "upsert", id_property="hs_sku"),
        [WriteRecord(f"p-{i}", {"name": f"P{i}", "price": "9.50"}, id=f"SKU-{i}") for i in range(2)],
    )
    assert (products.created, len(products.ids)) == (2, 2)
    orders = [
        WriteRecord(
            f"o-{i}", {"hs_order_name": f"Order {i}"}, (Association(contacts.ids[f"c-{i % 3}"], 507),)
        )
        for i in range(230)
    ]
    order_out = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), orders)
    assert (order_out.created, order_out.rejected, order_out.write_requests) == (230, [], 3)
    lines = [
        WriteRecord(
            f"o-{i}/{n}",
            {"hs_product_id": products.ids[f"p-{n}"], "quantity": str(n + 1)},
            (Association(order_out.ids[f"o-{i}"], 514),),
        )
        for i in range(230)
        for n in range(2)
    ]
    line_out = hook.batch_write(WriteSpec("line_items", "create", key_property=KEY), lines)
    assert (line_out.created, line_out.rejected, line_out.write_requests) == (460, [], 5)

    order_dump = assert_exact_state(sandbox, "orders", order_out.ids)
    line_dump = assert_exact_state(sandbox, "line_items", line_out.ids)
    for record in order_dump:
        i = int(record["properties"][KEY].split("-")[1])
        assert record["properties"]["hs_order_name"] == f"Order {i}"
        assert record["associations"]["contacts"] == [contacts.ids[f"c-{i % 3}"]]
        assert sorted(record["associations"]["line_items"]) == sorted(
            line_out.ids[f"o-{i}/{n}"] for n in range(2)
        )
    for record in line_dump:
        order_key, n = record["properties"][KEY].split("/")
        assert record["properties"]["hs_product_id"] == products.ids[f"p-{n}"]
        assert record["properties"]["name"] == f"P{n}"  # inherited from the product
        assert record["associations"]["orders"] == [order_out.ids[order_key]]
    # HubSpot's own read API agrees
    read = hook.batch_read("orders", [f"o-{i}" for i in range(230)] + ["nope"], id_property=KEY)
    assert {k: v["id"] for k, v in read.items()} == order_out.ids


def test_burst_429s_are_waited_out(sandbox, hook):
    sandbox.fault(status=429, count=3, path="orders/batch/create")
    outcome = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _orders(250))
    assert (outcome.created, outcome.http_429, outcome.rejected) == (250, 3, [])
    assert_exact_state(sandbox, "orders", outcome.ids)
    assert _path_count(sandbox, "batch/read") == 0  # a 429 wrote nothing: no read-back needed


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_no_duplicate_nothing_missing(sandbox, hook, status):
    sandbox.fault(status=status, count=2, path="orders/batch/create")
    outcome = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _orders(250))
    assert (outcome.created, outcome.rejected) == (250, [])
    assert_exact_state(sandbox, "orders", outcome.ids)


def test_dropped_connections_after_commit_are_read_back_not_resent(sandbox, hook):
    sandbox.fault(kind="drop_after_commit", count=2, path="orders/batch/create")
    outcome = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _orders(250))
    assert (outcome.created, outcome.existing, outcome.rejected) == (250, 0, [])
    assert_exact_state(sandbox, "orders", outcome.ids)
    assert sandbox.stats()["dropped_connections"] == 2
    # three creates, each written once; two reads to learn what the dropped ones wrote; no resend
    assert _path_count(sandbox, "orders/batch/create") == 3
    assert _path_count(sandbox, "orders/batch/read") == 2


def test_timeout_then_late_commit_stays_exactly_once(sandbox, monkeypatch):
    hook = _use(monkeypatch, sandbox, timeout=0.5)
    hook.ensure_properties("orders", [key_property_definition(KEY)])
    sandbox.fault(kind="delay", delay_ms=1500, count=1, path="orders/batch/create")
    outcome = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _orders(120))
    assert (len(outcome.ids), outcome.rejected) == (120, [])
    time.sleep(1.2)  # let the delayed request commit (or be refused by the unique key) on the server
    assert_exact_state(sandbox, "orders", outcome.ids)


def test_rerun_takes_existing_records_without_duplicating(sandbox, hook):
    first = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _orders(150))
    again = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _orders(250))
    assert (again.created, again.existing, again.rejected) == (100, 150, [])
    assert {k: again.ids[k] for k in first.ids} == first.ids
    assert_exact_state(sandbox, "orders", again.ids)
    assert sorted(again.existing_keys) == sorted(first.ids)


def test_a_create_that_finds_its_record_writes_the_new_values_onto_it(sandbox, hook):
    """HubSpot already holds the key (a lost sync state): the record gets the source's values by an update,
    not a second record, and the outcome names it as existing."""
    first = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _orders(3))
    renamed = [
        replace(record, properties={**record.properties, "hs_order_name": "renamed"}) for record in _orders(3)
    ]
    again = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), renamed)
    assert (again.created, again.updated, again.existing, again.ids) == (0, 0, 3, first.ids)
    names = {r["properties"][KEY]: r["properties"]["hs_order_name"] for r in sandbox.dump("orders")}
    assert names == dict.fromkeys(first.ids, "renamed")
    assert _path_count(sandbox, "orders/batch/update") == 1


def _counting_live(
    hook: HubSpotHook, records: Iterator[WriteRecord], alive: list[int]
) -> Iterator[WriteRecord]:
    """``records`` as they are made, keeping none of them: ``alive`` gets, at every request the hook sends,
    how many of those made so far are still in memory."""
    refs: list[weakref.ref] = []
    send = hook.engine.transport

    def counting_send(method: str, endpoint: str, payload: Any) -> Any:
        alive.append(sum(ref() is not None for ref in refs))
        return send(method, endpoint, payload)

    hook.engine.transport = counting_send
    for record in records:
        refs.append(weakref.ref(record))
        yield record


def test_a_create_that_finds_every_record_refreshes_them_holding_only_the_batches_in_flight(sandbox, hook):
    """A lost sync state: 1,200 creates all find their record. Each gets the new values by an update,
    with its id kept; the hook read the records once and held no more of them than the batches in flight
    (2 workers: 4 batches and the one being read), not the whole input, to send them again."""
    first = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _orders(1_200))
    hook.engine.max_workers = 2
    renamed = (
        replace(r, properties={**r.properties, "hs_order_name": f"{r.key} renamed"}) for r in _orders(1_200)
    )
    alive: list[int] = []
    again = hook.batch_write(
        WriteSpec("orders", "create", key_property=KEY), _counting_live(hook, renamed, alive)
    )
    assert (again.created, again.updated, again.existing, again.rejected) == (0, 0, 1_200, [])
    assert again.ids == first.ids and sorted(again.existing_keys) == sorted(first.ids)
    for record in assert_exact_state(sandbox, "orders", first.ids):
        assert record["properties"]["hs_order_name"] == f"{record['properties'][KEY]} renamed"
    assert _path_count(sandbox, "orders/batch/update") == 12
    assert max(alive) <= (hook.engine.max_in_flight + 1) * 100 == 500, alive


def test_an_update_of_records_hubspot_no_longer_has_creates_them_anew_with_their_links(sandbox, hook):
    """60 of 150 orders were deleted in HubSpot: their update finds nothing, so they are created anew, with
    the source key and the contact link, and the other 90 are updated in place; nothing is rejected, and
    the records were read once, as a one-pass iterator."""
    contact = hook.batch_write(
        WriteSpec("contacts", "create"), [WriteRecord("c", {"email": "c@example.com"})]
    )
    link = (Association(contact.ids["c"], 507),)
    created = hook.batch_write(
        WriteSpec("orders", "create", key_property=KEY), [replace(r, associations=link) for r in _orders(150)]
    )
    gone = [f"o-{i}" for i in range(0, 150, 5)] + [f"o-{i}" for i in range(1, 150, 5)]
    hook.archive_records("orders", [created.ids[key] for key in gone])
    updates = (
        WriteRecord(key, {"hs_order_name": f"{key} renamed"}, link, id=hubspot_id)
        for key, hubspot_id in created.ids.items()
    )
    outcome = hook.batch_write(WriteSpec("orders", "update", key_property=KEY), updates)
    assert (outcome.updated, outcome.created, outcome.rejected, len(outcome.ids)) == (90, 60, [], 150)
    assert {key for key in created.ids if outcome.ids[key] != created.ids[key]} == set(gone)
    for record in assert_exact_state(sandbox, "orders", outcome.ids):
        assert record["properties"]["hs_order_name"] == f"{record['properties'][KEY]} renamed"
        assert record["associations"]["contacts"] == [contact.ids["c"]]


def test_bad_inputs_are_rejected_with_reasons_and_good_ones_land(sandbox, hook):
    good = _orders(40)
    bad = [
        WriteRecord("bad-prop", {"hs_order_name": "x", "no_such_property": "1"}),
        WriteRecord("bad-required", {"hs_currency_code": "EUR"}),
        WriteRecord("bad-assoc", {"hs_order_name": "x"}, (Association("999999", 507),)),
        WriteRecord("bad-type", {"hs_order_name": "x"}, (Association("1", 12345),)),
        WriteRecord("o-3", {"hs_order_name": "duplicate key in this call"}),
    ]
    outcome = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), good[:20] + bad + good[20:])
    assert outcome.created == 40
    reasons = {r.key: r for r in outcome.rejected}
    assert set(reasons) == {"bad-prop", "bad-required", "bad-assoc", "bad-type", "o-3"}
    assert (
        reasons["bad-prop"].code == "PROPERTY_DOESNT_EXIST"
        and "no_such_property" in reasons["bad-prop"].message
    )
    assert "hs_order_name" in reasons["bad-required"].message
    assert "999999" in reasons["bad-assoc"].message
    assert "12345" in reasons["bad-type"].message
    assert reasons["o-3"].code == "REJECTED_BEFORE_SEND"
    assert all(r.category for r in outcome.rejected)
    assert_exact_state(sandbox, "orders", outcome.ids)
    assert sandbox.dump("orders")[0]["properties"]["hs_order_name"].startswith("Order")


def test_whole_batch_refusal_is_split_until_every_good_input_lands(sandbox, hook):
    # HubSpot lowercases emails: two keys differing only in case are one id, and the whole upsert is refused
    records = [WriteRecord(f"c-{i}", {"firstname": f"F{i}"}, id=f"c{i}@example.com") for i in range(30)]
    records.append(WriteRecord("c-upper", {"firstname": "Upper"}, id="C7@EXAMPLE.COM"))
    outcome = hook.batch_write(WriteSpec("contacts", "upsert", id_property="email"), records)
    assert outcome.rejected == []
    assert outcome.ids["c-upper"] == outcome.ids["c-7"]
    dump = sandbox.dump("contacts")
    assert sorted(r["properties"]["email"] for r in dump) == sorted(f"c{i}@example.com" for i in range(30))
    assert {r["properties"]["email"]: r["id"] for r in dump} == {
        f"c{i}@example.com": outcome.ids[f"c-{i}"] for i in range(30)
    }
    assert outcome.write_requests > 1  # the refused batch was split


def test_upsert_then_update(sandbox, hook):
    products = [WriteRecord(f"p-{i}", {"name": f"P{i}", "price": "1"}, id=f"SKU-{i}") for i in range(150)]
    first = hook.batch_write(WriteSpec("products", "upsert", id_property="hs_sku"), products)
    assert (first.created, first.updated) == (150, 0)
    repriced = [WriteRecord(r.key, {"price": "2"}, id=r.id) for r in products]
    second = hook.batch_write(WriteSpec("products", "upsert", id_property="hs_sku"), repriced)
    assert (second.created, second.updated, second.ids) == (0, 150, first.ids)
    updates = [WriteRecord(f"p-{i}", {"price": "3"}, id=first.ids[f"p-{i}"]) for i in range(5)]
    updates.append(WriteRecord("ghost", {"price": "3"}, id="12345678"))
    third = hook.batch_write(WriteSpec("products", "update"), updates)
    assert third.updated == 5
    assert [(r.key, r.category) for r in third.rejected] == [("ghost", "OBJECT_NOT_FOUND")]
    prices = {r["properties"]["hs_sku"]: r["properties"]["price"] for r in sandbox.dump("products")}
    assert prices == {f"SKU-{i}": ("3" if i < 5 else "2") for i in range(150)}


def test_daily_limit_stops_cleanly_and_a_rerun_completes(sandbox, hook):
    sandbox.fault(status=429, policy="DAILY", count=1, path="orders/batch/create")
    records = _orders(500)
    with pytest.raises(HubSpotDailyLimitReached) as caught:
        hook.batch_write(WriteSpec("orders", "create", key_property=KEY), records)
    error = caught.value
    assert "daily API quota" in str(error) and "resets" in str(error)
    landed = error.partial_outcome.ids
    assert len(landed) < 500
    assert_exact_state(sandbox, "orders", landed)
    rerun = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), records, skip_keys=set(landed))
    assert_exact_state(sandbox, "orders", {**landed, **rerun.ids})
    assert len({**landed, **rerun.ids}) == 500


def test_token_without_scope_fails_at_once_naming_it(tight_sandbox, monkeypatch):
    tight_sandbox.reset()
    hook = _use(monkeypatch, tight_sandbox, token="ro-token")
    with pytest.raises(HubSpotMissingScopes) as caught:
        hook.batch_write(WriteSpec("orders", "create"), _orders(50))
    assert "crm.objects.orders.write" in caught.value.scopes
    assert "crm.objects.orders.write" in str(caught.value)
    assert "ro-token" not in str(caught.value)
    assert tight_sandbox.stats()["requests"] == 1  # no retry
    assert tight_sandbox.dump("orders") == []


def test_two_writers_share_one_small_limit_without_429s(tight_sandbox, monkeypatch):
    """Two hooks (as two tasks would be), each with its own limiter, steer by the shared Remaining."""
    tight_sandbox.reset()
    hooks = [_use(monkeypatch, tight_sandbox), _use(monkeypatch, tight_sandbox)]
    results: list = []

    def run(h: HubSpotHook, n: int) -> None:
        results.append(h.batch_read("orders", [f"w{n}-{i}" for i in range(1800)], id_property="hs_object_id"))

    threads = [threading.Thread(target=run, args=(h, n)) for n, h in enumerate(hooks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = tight_sandbox.stats()
    assert results == [{}, {}]
    # A race between the two limiters on a loaded machine may cost a 429 or two, each retried (and counted
    # in the sandbox's window). Without proactive limiting the 36 reads meet the limit of 30 at once and
    # draw at least six 429s.
    http_429 = stats["by_status"].get("429", 0)
    assert http_429 <= 2
    assert stats["requests"] == 36 + http_429
    assert stats["peak_requests_per_10s"] <= 30 + http_429


def test_a_non_unique_id_property_fails_once_instead_of_splitting(sandbox, hook):
    records = [WriteRecord(f"p-{i}", {"price": "1"}, id=f"P{i}") for i in range(50)]
    with pytest.raises(HubSpotValidationError, match="non-unique"):
        hook.batch_write(WriteSpec("products", "upsert", id_property="name"), records)
    assert _path_count(sandbox, "products/batch/upsert") == 1


def test_the_hook_keeps_working_after_a_failed_batch_call(sandbox, hook):
    sandbox.fault(status=429, policy="DAILY", count=1, path="orders/batch/create")
    with pytest.raises(HubSpotDailyLimitReached):
        hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _orders(10))
    assert any(p["name"] == KEY for p in hook.get_properties("orders"))
    again = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _orders(10))
    assert_exact_state(sandbox, "orders", again.ids)


def test_an_unknown_object_type_fails_at_once_instead_of_splitting(sandbox, hook):
    with pytest.raises(HubSpotValidationError, match="infer object type"):
        hook.batch_write(WriteSpec("widgets", "create", key_property=KEY), _orders(250))
    # at most the three batches' first requests; splitting would have sent about 500
    assert _path_count(sandbox, "widgets/batch/create") <= 3


def test_keys_differing_only_in_case_are_two_records_on_a_rerun_too(sandbox, hook):
    records = [WriteRecord(key, {"hs_order_name": key}) for key in ("ord-ab", "ORD-AB", "Ord-Ab")]
    first = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), records)
    again = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), records)
    assert (first.created, again.existing, again.rejected) == (3, 3, [])
    assert again.ids == first.ids and len(set(first.ids.values())) == 3
    assert_exact_state(sandbox, "orders", first.ids)


def test_a_key_property_created_by_a_lost_answer_is_taken_not_an_error(sandbox, hubspot_conn, monkeypatch):
    """The create is committed, its answer lost, the retry meets 409: the property exists; setup goes on."""
    hook = HubSpotHook(hubspot_conn_id=hubspot_conn)
    real_get_properties = hook.client.properties.get
    faulted: list[bool] = []

    def get_properties_then_drop_the_next_create(object_type: str) -> list[dict]:
        found = real_get_properties(object_type)
        if not faulted:  # only the POST that follows this first listing loses its answer
            faulted.append(True)
            sandbox.fault(kind="drop_after_commit", count=1, path=hook.paths.properties("carts"))
        return found

    monkeypatch.setattr(hook.client.properties, "get", get_properties_then_drop_the_next_create)
    assert hook.ensure_properties("carts", [key_property_definition(KEY)]) == []
    assert sandbox.stats()["dropped_connections"] == 1
    (made,) = [p for p in real_get_properties("carts") if p["name"] == KEY]
    assert made["hasUniqueValue"] is True


RULE = {"when": "hs_currency_code", "equals": "USD", "require": "hs_total_price"}
RULE_TEXT = "hs_total_price is required because of a conditional property rule based on [hs_currency_code]"


def _priced_orders() -> list[WriteRecord]:
    """Twelve orders, the odd ones in USD; those numbered a multiple of 3 have no total, so o-3 and o-9
    break RULE and the others fit it."""
    records = []
    for i in range(12):
        properties = {"hs_order_name": f"Order {i}", "hs_currency_code": "USD" if i % 2 else "EUR"}
        if i % 3:
            properties["hs_total_price"] = "10.00"
        records.append(WriteRecord(f"o-{i}", properties))
    return records


def test_a_conditional_rule_refuses_exactly_the_rows_breaking_it_naming_the_rule(sandbox, hook):
    """From 2026-09 on HubSpot enforces the portal's validation rules on API writes: each refused create
    is a rejection naming the rule, the rest land, and nothing is read back or resent as if uncertain."""
    sandbox.set_rules("orders", conditional_required=[RULE])
    records = _priced_orders()
    outcome = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), records)
    breaking = {
        r.key
        for r in records
        if r.properties["hs_currency_code"] == "USD" and "hs_total_price" not in r.properties
    }
    assert {r.key for r in outcome.rejected} == breaking == {"o-3", "o-9"}
    for refused in outcome.rejected:
        assert (refused.category, refused.code) == (
            "VALIDATION_ERROR",
            "MISSING_CONDITIONAL_REQUIRED_PROPERTY",
        )
        assert RULE_TEXT in refused.message
    assert (outcome.created, outcome.in_doubt, outcome.requests, outcome.retries) == (10, [], 1, 0)
    assert _path_count(sandbox, "orders/batch/read") == 0, "a refusal is an answer: nothing to read back"
    assert_exact_state(sandbox, "orders", outcome.ids)


def test_an_update_that_would_break_a_rule_is_refused_naming_it(sandbox, hook):
    created = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _priced_orders()[:4])
    sandbox.set_rules("orders", conditional_required=[RULE])
    to_usd = [
        WriteRecord(key, {"hs_currency_code": "USD"}, id=hubspot_id)
        for key, hubspot_id in created.ids.items()
    ]
    outcome = hook.batch_write(WriteSpec("orders", "update"), to_usd)
    assert {r.key for r in outcome.rejected} == {"o-0", "o-3"}, "the orders without a total"
    assert all(RULE_TEXT in r.message for r in outcome.rejected)
    currencies = {r["properties"][KEY]: r["properties"]["hs_currency_code"] for r in sandbox.dump("orders")}
    assert currencies == {"o-0": "EUR", "o-1": "USD", "o-2": "USD", "o-3": "USD"}


def test_rules_bind_only_the_2026_09_paths(sandbox, monkeypatch):
    """HubSpot enforces the rules from 2026-09 on: the same creates through 2026-03 or v3 all land."""
    sandbox.set_rules("orders", conditional_required=[RULE], required_properties=["hs_source_store"])
    for version in ("2026-03", "v3"):
        hook = _use(monkeypatch, sandbox, api_version=version)
        hook.ensure_properties("orders", [key_property_definition(KEY)])
        records = [WriteRecord(f"{version}:{r.key}", r.properties) for r in _priced_orders()]
        outcome = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), records)
        assert (outcome.created, outcome.rejected) == (12, [])
    hook = _use(monkeypatch, sandbox)
    refused = hook.batch_write(WriteSpec("orders", "create", key_property=KEY), _priced_orders()[:1])
    (rejection,) = refused.rejected
    assert (
        rejection.code == "MISSING_REQUIRED_PROPERTY"
        and "hs_source_store must be provided" in rejection.message
    )
