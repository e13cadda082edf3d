"""Writing one batch to the end: results matched by trace id, rejections, exactly-once creates (an uncertain
or unanswered create is read back by its key before anything is resent) and splitting a refused request."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hubspot_commerce.batch.records import BatchOutcome, Rejection, WriteSpec
from hubspot_commerce.batch.refusals import exc_body, split_refused
from hubspot_commerce.batch.requests import PlannedInput
from hubspot_commerce.batch.results import fold_write, is_unique_clash, rejection
from hubspot_commerce.errors import HubSpotServerError, HubSpotUnavailable, HubSpotValidationError

if TYPE_CHECKING:
    from hubspot_commerce.batch.send import BatchEngine

log = logging.getLogger(__name__)
CLOCK_SKEW = timedelta(minutes=1)  # tolerated difference between our clock and HubSpot's createdAt


class BatchWriter:
    """Writes one batch to the end: results, rejections, reconciliation and splitting."""

    def __init__(self, engine: BatchEngine, spec: WriteSpec) -> None:
        self.engine = engine
        self.spec = spec
        self.endpoint = engine.paths.batch(spec.object_type, spec.action)
        # an update with a key property: what HubSpot no longer has is created anew (by the hook)
        self.recreates = spec.action == "update" and spec.key_property is not None

    def _read_keys(self, keys: Sequence[str], out: BatchOutcome) -> dict[str, dict]:
        """The records holding these keys in the key property (one batch/read): ``{key: {"id", ...}}``."""
        assert self.spec.key_property is not None
        return self.engine.read_chunk(self.spec.object_type, keys, self.spec.key_property, (), out)

    @staticmethod
    def _take_found(
        pending: Sequence[PlannedInput],
        found: Mapping[str, Mapping[str, Any]],
        since: datetime,
        out: BatchOutcome,
    ) -> None:
        """Record the ids of the ``pending`` creates read back (``found``) after an uncertain or unanswered
        create: created by us if HubSpot's ``createdAt`` is not older than our request (a minute of clock
        skew allowed), else existing."""
        for planned in pending:
            if planned.key not in found:
                continue
            record = found[planned.key]
            try:
                created_at = datetime.fromisoformat(str(record.get("createdAt")))
            except ValueError:
                created_at = since
            if created_at >= since - CLOCK_SKEW:
                out.ids[planned.key] = record["id"]
                out.created += 1
            else:
                out.found_existing(planned.record, record["id"])

    def _refuse(self, planned: PlannedInput, error: Mapping[str, Any], out: BatchOutcome) -> None:
        """HubSpot refused one input: rejected with its reason, unless HubSpot no longer has the record an
        update (with a key property) is for: that record is set aside to be created anew."""
        refused = rejection(planned.key, error)
        if self.recreates and refused.category == "OBJECT_NOT_FOUND":
            out.gone.extend([planned.record])
        else:
            out.rejected.append(refused)

    def write(self, batch: list[PlannedInput], out: BatchOutcome) -> None:
        """Send ``batch`` until every input has landed or is rejected with a reason; creates whose fate
        stays unknown (HubSpot unreachable, or no key property to look them up by) stay in ``in_doubt``."""
        try:
            self._rounds(batch, out)
        finally:
            settled = set(out.ids) | {rejected.key for rejected in out.rejected}
            out.in_doubt = [key for key in dict.fromkeys(out.in_doubt) if key not in settled]

    def _rounds(self, batch: list[PlannedInput], out: BatchOutcome) -> None:
        """Up to ``max_attempts`` write requests. Running out because HubSpot kept failing is an outage
        (``HubSpotUnavailable``); running out because HubSpot answered but never mentioned an input
        rejects that input as not confirmed."""
        pending = batch
        failure: HubSpotServerError | None = None
        for round_no in range(1, self.engine.max_attempts + 1):
            pending, failure = self._round(pending, round_no, out)
            if not pending:
                return
        if failure is not None:
            raise HubSpotUnavailable(
                f"{failure.message}; {len(pending)} {self.spec.object_type} creates are unconfirmed after "
                f"{self.engine.max_attempts} attempts: the next try reads their keys before resending",
                status=failure.status,
            ) from failure
        out.rejected.extend(
            Rejection(
                p.key,
                "UNRESOLVED",
                "NOT_CONFIRMED",
                f"HubSpot answered {self.engine.max_attempts} times without a result or an error for it",
            )
            for p in pending
        )

    def _round(
        self, pending: list[PlannedInput], round_no: int, out: BatchOutcome
    ) -> tuple[list[PlannedInput], HubSpotServerError | None]:
        """One write request for ``pending``; returns the inputs that must be sent again, and the failure
        that left them unconfirmed (None when HubSpot answered)."""
        is_create = self.spec.is_create
        key_property = self.spec.key_property
        payload = {"inputs": [p.body for p in pending]}
        sent_at = datetime.now(UTC)
        try:
            response = self.engine.call(
                "POST", self.endpoint, payload, out, write=True, idempotent=not is_create
            )
        except HubSpotUnavailable:
            raise
        except HubSpotServerError as exc:  # only an uncertain create gets here
            return self._after_uncertain_create(pending, exc, round_no, sent_at, out), exc
        except HubSpotValidationError as exc:
            return self._after_whole_batch_refusal(pending, exc, out), None

        folded = fold_write(pending, response.body, self.spec)
        for key, landed in folded.landed.items():
            out.ids[key] = landed.hubspot_id
            if landed.created:
                out.created += 1
            else:
                out.updated += 1
        by_key = {p.key: p for p in pending}
        clashes: list[PlannedInput] = []
        for key, error in folded.refused.items():
            if is_create and key_property and is_unique_clash(error, key_property):
                clashes.append(by_key[key])
            else:
                self._refuse(by_key[key], error, out)
        resend = [by_key[k] for k in folded.unmentioned]
        if is_create and not key_property:  # unmentioned: it may exist; a resend could duplicate it
            out.in_doubt.extend(p.key for p in resend)
            return [], None
        if is_create and (clashes or resend):
            resend = self._take_existing(clashes, resend, sent_at, out)
        return resend, None

    def _take_existing(
        self, clashes: list[PlannedInput], unknown: list[PlannedInput], sent_at: datetime, out: BatchOutcome
    ) -> list[PlannedInput]:
        """Read keys HubSpot refused as duplicates (-> existing) or did not mention; return what to resend."""
        found = self._read_keys([p.key for p in (*clashes, *unknown)], out)
        for planned in clashes:
            if planned.key in found:
                out.found_existing(planned.record, found[planned.key]["id"])
            else:
                out.rejected.append(
                    Rejection(
                        planned.key,
                        "VALIDATION_ERROR",
                        "UNIQUE_VALUE_CONFLICT",
                        f"HubSpot reported {self.spec.key_property}={planned.key!r} as taken, but no record "
                        "holds it",
                    )
                )
        self._take_found(unknown, found, sent_at, out)
        return [p for p in unknown if p.key not in found]

    def _after_uncertain_create(
        self,
        pending: list[PlannedInput],
        exc: HubSpotServerError,
        round_no: int,
        sent_at: datetime,
        out: BatchOutcome,
    ) -> list[PlannedInput]:
        """A create may have been written: read its keys back, keep what exists, resend only the rest. Until
        then its keys are in doubt (HubSpot may stay unreachable for the read too); without a key property
        they stay in doubt and are not resent, since a resend could duplicate them."""
        self.engine.retried(out)
        out.in_doubt.extend(p.key for p in pending)
        if self.spec.key_property is None:
            return []
        delay = self.engine.backoff(round_no, exc.retry_after)
        log.warning("%s; reading back %d keys in %.1f s before resending", exc.message, len(pending), delay)
        self.engine.sleep(delay)
        found = self._read_keys([p.key for p in pending], out)
        self._take_found(pending, found, sent_at, out)
        return [p for p in pending if p.key not in found]

    def _after_whole_batch_refusal(
        self, pending: list[PlannedInput], exc: HubSpotValidationError, out: BatchOutcome
    ) -> list[PlannedInput]:
        """HubSpot refused the whole request: existing keys are looked up; otherwise split to isolate."""
        key_property = self.spec.key_property
        if self.spec.is_create and key_property and is_unique_clash(exc.body, key_property):
            found = self._read_keys([p.key for p in pending], out)
            if found:  # a refused request wrote nothing: every key found existed before
                for planned in pending:
                    if planned.key in found:
                        out.found_existing(planned.record, found[planned.key]["id"])
                return [p for p in pending if p.key not in found]
        split_refused(
            pending,
            exc,
            send_part=lambda half: self.write(half, out),
            reject=lambda alone: self._refuse(alone, exc_body(exc), out),
        )
        return []
