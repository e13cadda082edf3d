"""Correlation of HubSpot answers to source records: by trace id, by unique value, never by position."""

from __future__ import annotations

from batch_plans import plan_write

from hubspot_commerce.batch.records import WriteRecord, WriteSpec
from hubspot_commerce.batch.results import error_code, fold_read, fold_write, is_unique_clash, rejection


def _batch(action="create", **kwargs):
    records = [
        WriteRecord(f"o-{i}", {"n": i}, id=f"SKU-{i}" if action != "create" else None) for i in range(4)
    ]
    (batch,) = plan_write(action, records, **kwargs).batches
    return batch


def test_results_in_reverse_order_match_by_trace_id():
    batch = _batch(key_property="src_key")
    body = {
        "results": [{"id": f"9{i}", "objectWriteTraceId": f"o-{i}", "properties": {}} for i in (3, 1, 0)],
        "errors": [
            {"category": "VALIDATION_ERROR", "message": "bad", "context": {"objectWriteTraceId": ["o-2"]}}
        ],
    }
    folded = fold_write(batch, body, WriteSpec("orders", "create", key_property="src_key"))
    assert {k: v.hubspot_id for k, v in folded.landed.items()} == {"o-0": "90", "o-1": "91", "o-3": "93"}
    assert list(folded.refused) == ["o-2"]
    assert folded.unmentioned == []


def test_results_without_trace_echo_match_by_key_property_value():
    batch = _batch(key_property="src_key")
    body = {"results": [{"id": "77", "properties": {"src_key": "o-2"}}, {"id": "78", "properties": {}}]}
    folded = fold_write(batch, body, WriteSpec("orders", "create", key_property="src_key"))
    assert {k: v.hubspot_id for k, v in folded.landed.items()} == {"o-2": "77"}
    assert sorted(folded.unmentioned) == ["o-0", "o-1", "o-3"]  # never guessed from position


def test_upsert_new_flag_and_case_insensitive_id_property_match():
    records = [WriteRecord("c1", {}, id="Ann@Example.com"), WriteRecord("c2", {}, id="bob@example.com")]
    (batch,) = plan_write("upsert", records, id_property="email").batches
    body = {
        "results": [
            {"id": "1", "new": True, "properties": {"email": "ann@example.com"}},
            {"id": "2", "new": False, "objectWriteTraceId": "c2", "properties": {}},
        ]
    }
    folded = fold_write(batch, body, WriteSpec("orders", "upsert", id_property="email"))
    assert folded.landed["c1"].hubspot_id == "1" and folded.landed["c1"].created
    assert folded.landed["c2"].hubspot_id == "2" and not folded.landed["c2"].created


def test_update_errors_matched_by_context_ids():
    batch = _batch("update")
    body = {
        "results": [{"id": "SKU-0", "properties": {}}],
        "errors": [
            {"category": "OBJECT_NOT_FOUND", "message": "gone", "context": {"ids": ["SKU-1", "SKU-3"]}}
        ],
    }
    folded = fold_write(batch, body, WriteSpec("orders", "update"))
    assert set(folded.landed) == {"o-0"}
    assert set(folded.refused) == {"o-1", "o-3"}
    assert folded.unmentioned == ["o-2"]


def test_error_codes_and_rejection():
    embedded = {
        "category": "VALIDATION_ERROR",
        "message": 'Property values were not valid: [{"isValid":false,"error":"PROPERTY_DOESNT_EXIST"}]',
    }
    assert error_code(embedded) == "PROPERTY_DOESNT_EXIST"
    assert error_code({"errors": [{"code": "INVALID_INTEGER"}]}) == "INVALID_INTEGER"
    assert error_code({"category": "OBJECT_NOT_FOUND"}) == "OBJECT_NOT_FOUND"
    r = rejection("o-1", embedded)
    assert (r.key, r.category, r.code) == ("o-1", "VALIDATION_ERROR", "PROPERTY_DOESNT_EXIST")


def test_unique_clash_detection_is_specific_to_the_property():
    message = (
        "Cannot set PropertyValueCoordinates{portalId=1, objectTypeId=ObjectTypeId{legacyObjectType=ORDER}, "
        "propertyName=src_key, value=o-1} on 13. 12 already has that value."
    )
    assert is_unique_clash({"message": message}, "src_key")
    assert not is_unique_clash({"message": message}, "src")
    assert not is_unique_clash({"message": message.replace("src_key", "hs_sku")}, "src_key")
    tokens = {"errorType": "UNIQUE_VALUE_CONFLICT", "errorTokens": {"propertyName": ["src_key"]}}
    assert is_unique_clash(tokens, "src_key")


def test_fold_read_matches_by_property_value_and_ignores_strangers():
    body = {
        "results": [
            {"id": "5", "properties": {"src_key": "b"}},
            {"id": "6", "properties": {"src_key": "zzz"}},
            {"id": "7", "properties": {"src_key": "A"}, "createdAt": "2026-01-01T00:00:00.000Z"},
        ]
    }
    assert fold_read(body, ["a", "b", "c"], "src_key") == {
        "b": {"id": "5", "properties": {"src_key": "b"}, "createdAt": None},
        "a": {"id": "7", "properties": {"src_key": "A"}, "createdAt": "2026-01-01T00:00:00.000Z"},
    }
    assert set(fold_read({"results": [{"id": "5", "properties": {}}]}, ["5", "9"], None)) == {"5"}


def test_keys_differing_only_in_case_stay_two_records():
    body = {
        "results": [
            {"id": "1", "properties": {"src_key": "A1"}},
            {"id": "2", "properties": {"src_key": "a1"}},
            {"id": "3", "properties": {"src_key": "B2"}},
        ]
    }
    # read back: each key its own record; "b2" is found ignoring case because only one key matches it
    assert {k: v["id"] for k, v in fold_read(body, ["a1", "A1", "b2"], "src_key").items()} == {
        "A1": "1",
        "a1": "2",
        "b2": "3",
    }
    assert fold_read({"results": [body["results"][0]]}, ["a1"], "src_key")["a1"]["id"] == "1"
    ambiguous = {"results": [{"id": "9", "properties": {"src_key": "Ab"}}]}
    assert fold_read(ambiguous, ["ab", "AB"], "src_key") == {}  # two keys match it ignoring case: neither
    # write answers without trace echo: matched on the exact key
    records = [WriteRecord("A1", {}), WriteRecord("a1", {})]
    (batch,) = plan_write("create", records, key_property="src_key").batches
    folded = fold_write(batch, body, WriteSpec("orders", "create", key_property="src_key"))
    assert {k: v.hubspot_id for k, v in folded.landed.items()} == {"A1": "1", "a1": "2"}
