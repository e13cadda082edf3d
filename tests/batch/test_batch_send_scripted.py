"""The engine fed through a scripted transport, for answers the sandbox never gives (a record neither in
results nor in errors, a record in both) and for timing the sandbox cannot show: every input ends up landed,
rejected with a reason, or in doubt, never forgotten; a create that cannot be checked is never resent (a
resend could duplicate it); an outage is an outage, never a rejection; a burst 429 pauses the sender before
it retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from hubspot_commerce.batch.rate_limit import RateLimiter
from hubspot_commerce.batch.records import WriteRecord, WriteSpec
from hubspot_commerce.batch.requests import MAX_BATCH
from hubspot_commerce.batch.send import ApiResponse, BatchEngine
from hubspot_commerce.client.api_paths import ApiPaths
from hubspot_commerce.errors import HubSpotConnectionError, HubSpotUnavailable, HubSpotValidationError

Answer = Callable[[str, Mapping[str, Any]], ApiResponse]


class ScriptedHubSpot:
    """A transport that answers every request with ``answer(endpoint, payload)`` and keeps the requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[tuple[str, Mapping[str, Any]]] = []
        self.sent_at: list[float] = []

    def __call__(self, method: str, endpoint: str, payload: Mapping[str, Any] | None) -> ApiResponse:
        self.requests.append((endpoint, payload or {}))
        self.sent_at.append(time.monotonic())
        return self.answer(endpoint, payload or {})

    def sent_keys(self, suffix: str) -> list[list[str]]:
        return [
            [i.get("objectWriteTraceId") for i in payload["inputs"]]
            for endpoint, payload in self.requests
            if endpoint.endswith(suffix)
        ]


def _engine(transport: ScriptedHubSpot) -> BatchEngine:
    return BatchEngine(
        transport, RateLimiter(), ApiPaths(), max_workers=2, max_attempts=3, sleep=lambda _: None
    )


def _result(hubspot_id: str, trace_id: str | None, **properties: str) -> dict[str, Any]:
    result: dict[str, Any] = {"id": hubspot_id, "properties": properties}
    if trace_id is not None:
        result["objectWriteTraceId"] = trace_id
    return result


def test_an_update_hubspot_never_mentions_is_resent_then_rejected_not_forgotten():
    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        results = [_result(i["id"], i["objectWriteTraceId"]) for i in payload["inputs"] if i["id"] == "1"]
        return ApiResponse(200, {"status": "COMPLETE", "results": results}, {})

    hubspot = ScriptedHubSpot(answer)
    records = [WriteRecord("a", {"price": "1"}, id="1"), WriteRecord("b", {"price": "2"}, id="2")]
    outcome = _engine(hubspot).write(WriteSpec("products", "update"), records)
    assert outcome.ids == {"a": "1"}
    assert outcome.updated == 1
    assert [(r.key, r.category, r.code) for r in outcome.rejected] == [("b", "UNRESOLVED", "NOT_CONFIRMED")]
    # sent once with "a", then "b" alone until the attempts ran out
    assert hubspot.sent_keys("batch/update") == [["a", "b"], ["b"], ["b"]]


def test_an_unmentioned_create_without_key_property_is_reported_and_never_resent():
    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        inputs = payload["inputs"]
        # "a" comes back with its trace id; "b" was written too, but its result carries no echo
        results = [_result("101", "a"), _result("102", None, hs_order_name="B")]
        assert [i["objectWriteTraceId"] for i in inputs] == ["a", "b"]
        return ApiResponse(201, {"status": "COMPLETE", "results": results}, {})

    hubspot = ScriptedHubSpot(answer)
    records = [WriteRecord("a", {"hs_order_name": "A"}), WriteRecord("b", {"hs_order_name": "B"})]
    outcome = _engine(hubspot).write(WriteSpec("orders", "create"), records)
    assert (outcome.ids, outcome.created) == ({"a": "101"}, 1)
    assert outcome.rejected == [], "HubSpot refused nothing"
    assert outcome.in_doubt == ["b"]
    assert hubspot.sent_keys("batch/create") == [["a", "b"]]  # no second create: no duplicate of "b"


def test_an_unmentioned_create_with_key_property_is_read_back_before_any_resend():
    written: dict[str, str] = {}

    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        if endpoint.endswith("batch/read"):
            found = [
                {"id": written[k], "properties": {"src": k}, "createdAt": "2099-01-01T00:00:00Z"}
                for k in (i["id"] for i in payload["inputs"])
                if k in written
            ]
            return ApiResponse(200, {"status": "COMPLETE", "results": found}, {})
        results = []
        for n, item in enumerate(payload["inputs"]):
            key = item["properties"]["src"]
            if key not in written:
                written[key] = str(200 + len(written))
            if n == 0:  # only the first result is in the answer; the other was written silently
                results.append(_result(written[key], item["objectWriteTraceId"], src=key))
        return ApiResponse(201, {"status": "COMPLETE", "results": results}, {})

    hubspot = ScriptedHubSpot(answer)
    records = [WriteRecord("a", {}), WriteRecord("b", {})]
    outcome = _engine(hubspot).write(WriteSpec("orders", "create", key_property="src"), records)
    assert (outcome.ids, outcome.created, outcome.rejected) == ({"a": "200", "b": "201"}, 2, [])
    assert hubspot.sent_keys("batch/create") == [["a", "b"]]  # "b" was found by the read: not resent


def test_a_record_in_both_results_and_errors_counts_once_as_landed():
    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        error = {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": "odd",
            "context": {"objectWriteTraceId": ["a"]},
        }
        results = [_result("1", "a"), _result("2", "b")]
        return ApiResponse(207, {"status": "COMPLETE", "results": results, "errors": [error]}, {})

    records = [WriteRecord("a", {}, id="1"), WriteRecord("b", {}, id="2")]
    outcome = _engine(ScriptedHubSpot(answer)).write(WriteSpec("products", "update"), records)
    assert (outcome.ids, outcome.updated, outcome.rejected) == ({"a": "1", "b": "2"}, 2, [])


def test_a_burst_429_pauses_the_sender_for_retry_after_before_the_same_request_goes_again():
    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        if len(hubspot.requests) == 1:
            body = {"status": "error", "policyName": "TEN_SECONDLY_ROLLING", "message": "limit"}
            return ApiResponse(429, body, {"Retry-After": "0.3"})
        return ApiResponse(200, {"status": "COMPLETE", "results": [_result("1", "a")]}, {})

    hubspot = ScriptedHubSpot(answer)
    outcome = _engine(hubspot).write(WriteSpec("products", "update"), [WriteRecord("a", {}, id="1")])
    assert (outcome.ids, outcome.http_429, outcome.retries) == ({"a": "1"}, 1, 1)
    assert hubspot.sent_keys("batch/update") == [["a"], ["a"]]
    # a lower bound only: a slow machine makes the gap longer, never shorter
    assert hubspot.sent_at[1] - hubspot.sent_at[0] >= 0.3


def test_a_404_on_a_batch_endpoint_fails_at_once_instead_of_splitting():
    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        return ApiResponse(404, {"status": "error", "message": "resource not found"}, {})

    hubspot = ScriptedHubSpot(answer)
    records = [WriteRecord(k, {}, id=str(n)) for n, k in enumerate("abcd")]
    with pytest.raises(HubSpotValidationError, match="404"):
        _engine(hubspot).write(WriteSpec("products", "update"), records)
    assert len(hubspot.requests) == 1


def test_after_an_uncertain_create_records_older_than_the_request_count_as_existing_not_created():
    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        if endpoint.endswith("batch/create"):  # written, but the answer is lost in a 502
            return ApiResponse(502, {"status": "error", "message": "bad gateway"}, {})
        found = [
            {"id": "1", "properties": {"src": "old"}, "createdAt": "2001-01-01T00:00:00Z"},
            {"id": "2", "properties": {"src": "new"}, "createdAt": "2999-01-01T00:00:00Z"},
        ]
        return ApiResponse(200, {"status": "COMPLETE", "results": found}, {})

    hubspot = ScriptedHubSpot(answer)
    records = [WriteRecord("old", {}), WriteRecord("new", {})]
    outcome = _engine(hubspot).write(WriteSpec("orders", "create", key_property="src"), records)
    assert (outcome.ids, outcome.created, outcome.existing) == ({"old": "1", "new": "2"}, 1, 1)
    assert len(hubspot.sent_keys("batch/create")) == 1  # both found: nothing resent


def _down(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
    raise HubSpotConnectionError(f"POST {endpoint}: no answer from HubSpot (ConnectionRefusedError: refused)")


def test_an_upsert_during_an_outage_ends_unavailable_with_nothing_rejected():
    records = [WriteRecord(f"p{i}", {"name": "x"}, id=f"SKU-{i}") for i in range(3)]
    with pytest.raises(HubSpotUnavailable) as caught:
        _engine(ScriptedHubSpot(_down)).write(WriteSpec("products", "upsert", id_property="hs_sku"), records)
    assert "ConnectionRefusedError: refused" in str(caught.value) and "after 3 attempts" in str(caught.value)
    outcome = caught.value.partial_outcome
    assert outcome is not None
    assert (outcome.ids, outcome.rejected, outcome.in_doubt) == ({}, [], []), "an upsert is simply resent"


def test_a_create_hubspot_keeps_refusing_with_503_stays_in_doubt_not_rejected():
    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        if endpoint.endswith("batch/create"):
            return ApiResponse(503, {"status": "error", "message": "Service Unavailable"}, {})
        return ApiResponse(200, {"status": "COMPLETE", "results": []}, {})  # the read-back finds nothing

    hubspot = ScriptedHubSpot(answer)
    records = [WriteRecord("c1", {}), WriteRecord("c2", {})]
    with pytest.raises(HubSpotUnavailable, match="2 orders creates are unconfirmed after 3 attempts"):
        _engine(hubspot).write(WriteSpec("orders", "create", key_property="src"), records)
    assert len(hubspot.sent_keys("batch/create")) == 3
    assert len(hubspot.sent_keys("batch/read")) == 3, "every uncertain create was read back first"


def test_a_create_whose_answer_is_lost_while_hubspot_goes_down_stays_in_doubt():
    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        if endpoint.endswith("batch/create"):
            return ApiResponse(502, {"status": "error", "message": "bad gateway"}, {})
        return _down(endpoint, payload)  # and then HubSpot cannot even be read

    with pytest.raises(HubSpotUnavailable) as caught:
        _engine(ScriptedHubSpot(answer)).write(
            WriteSpec("orders", "create", key_property="src"), [WriteRecord("c1", {}), WriteRecord("c2", {})]
        )
    outcome = caught.value.partial_outcome
    assert outcome is not None
    assert (outcome.rejected, sorted(outcome.in_doubt)) == ([], ["c1", "c2"])


def test_once_a_call_fails_for_good_no_thread_starts_another_request():
    """HubSpot down, 10 batches, 2 threads: each thread gives up its batch after 3 attempts; the other 8
    batches are never sent (the window being free does not let a stopped thread through)."""
    hubspot = ScriptedHubSpot(_down)
    records = [WriteRecord(f"p{i}", {"name": "x"}, id=f"SKU-{i}") for i in range(1000)]
    with pytest.raises(HubSpotUnavailable):
        _engine(hubspot).write(WriteSpec("products", "upsert", id_property="hs_sku"), records)
    assert len(hubspot.requests) <= 2 * 3


def test_progress_lines_count_retries_while_the_batch_is_still_retrying(caplog: pytest.LogCaptureFixture):
    """A batch that is still being retried has not added its outcome to the totals yet; the progress lines
    logged meanwhile must count its retries already (not "retries 0" after two logged retries)."""
    answers = iter([503, 503])

    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        if (status := next(answers, 200)) != 200:
            return ApiResponse(status, {"status": "error", "message": "Service Unavailable"}, {})
        time.sleep(0.5)  # the third try is slow: progress lines are logged while it runs
        return ApiResponse(200, {"status": "COMPLETE", "results": [_result("1", "a")]}, {})

    engine = _engine(ScriptedHubSpot(answer))
    engine.progress_every_s = 0.1
    with caplog.at_level("INFO", logger="hubspot_commerce.batch"):
        engine.write(WriteSpec("products", "update"), [WriteRecord("a", {"price": "1"}, id="1")])
    progress = [r.getMessage() for r in caplog.records if "batches," in r.getMessage()]
    assert any("0/1 batches" in line and "retries 2," in line for line in progress), progress
    assert "1/1 batches" in progress[-1] and "retries 2," in progress[-1]


def _updates(n: int, pulled: list[int]) -> Iterator[WriteRecord]:
    """``n`` product updates, one at a time, counted in ``pulled[0]``."""
    for i in range(n):
        pulled[0] += 1
        yield WriteRecord(f"k{i}", {"price": "1"}, id=str(i))


def _answer_every_input(answered: list[int]) -> Answer:
    """Answers every update as written, counting the answers in ``answered[0]``."""
    lock = threading.Lock()

    def answer(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        results = [_result(i["id"], i["objectWriteTraceId"]) for i in payload["inputs"]]
        with lock:
            answered[0] += 1
        return ApiResponse(200, {"status": "COMPLETE", "results": results}, {})

    return answer


def test_records_are_read_as_batches_finish_and_ids_go_batch_by_batch_to_the_caller():
    """A lazy input is read no further ahead of the answers than the batches in flight (with 5,000 records
    and 2 workers, never more than 400 records ahead), and with ``keep_ids`` False the ids go only to
    ``on_batch_done``: the call holds neither the input nor an id map."""
    pulled, answered, ahead = [0], [0], []
    answer = _answer_every_input(answered)

    def answer_noting_how_far_ahead(endpoint: str, payload: Mapping[str, Any]) -> ApiResponse:
        ahead.append(pulled[0] - 100 * answered[0])
        return answer(endpoint, payload)

    engine = _engine(ScriptedHubSpot(answer_noting_how_far_ahead))
    landed: dict[str, str] = {}
    outcome = engine.write(
        WriteSpec("products", "update"), _updates(5_000, pulled), on_batch_done=landed.update, keep_ids=False
    )
    assert (outcome.updated, outcome.rejected, outcome.ids) == (5_000, [], {})
    assert landed == {f"k{i}": str(i) for i in range(5_000)}
    assert len(ahead) == 50 and max(ahead) <= engine.max_in_flight * MAX_BATCH == 400, max(ahead)


def test_a_failure_reading_the_records_stops_the_call_after_the_batches_in_flight_are_accounted_for():
    """The input breaks while the third batch is being read, once the first two were answered: they reach
    ``on_batch_done`` (a retry must not send them again), no other request goes out, the error is raised."""
    answered = [0]

    def breaking_input() -> Iterator[WriteRecord]:
        yield from _updates(250, [0])
        while answered[0] < 2:  # the two batches planned before are sent and answered meanwhile
            time.sleep(0.001)
        raise ValueError("the input file ends in the middle of a line")

    hubspot = ScriptedHubSpot(_answer_every_input(answered))
    landed: dict[str, str] = {}
    with pytest.raises(ValueError, match="ends in the middle of a line"):
        _engine(hubspot).write(WriteSpec("products", "update"), breaking_input(), on_batch_done=landed.update)
    assert landed == {f"k{i}": str(i) for i in range(200)}
    assert len(hubspot.requests) == 2
