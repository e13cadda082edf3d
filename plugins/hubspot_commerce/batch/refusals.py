"""A whole request HubSpot refused (400): split it in halves until the bad inputs stand alone, so that one
bad input costs no other input its write."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from hubspot_commerce.errors import HubSpotError, HubSpotValidationError

log = logging.getLogger(__name__)
# Whole-batch refusals no input caused (a non-unique id property, an unknown object type; also any 404, as
# HubSpot reports a batch's bad inputs with 400 or 207): every batch would fail alike, so the call fails at
# once instead of splitting each batch into 2n - 1 requests.
_NOT_ABOUT_INPUTS = ("non-unique", "Unable to infer object type")
T = TypeVar("T")


def split_refused(
    items: Sequence[T],
    exc: HubSpotValidationError,
    *,
    send_part: Callable[[list[T]], object],
    reject: Callable[[T], object],
) -> None:
    """HubSpot refused a whole request for ``items`` (400): send each half again through ``send_part``,
    which splits again on refusal, until the bad items stand alone and are passed to ``reject``; every other
    item lands. A refusal no item caused (404, an unknown object type, a non-unique id property) would
    refuse every part alike, so it is raised at once."""
    if exc.status == 404 or any(text in exc.message for text in _NOT_ABOUT_INPUTS):
        raise exc
    if len(items) == 1:
        reject(items[0])
        return
    log.info("HubSpot refused %d inputs at once (%s); splitting to isolate the bad ones", len(items), exc)
    middle = len(items) // 2
    for half in (list(items[:middle]), list(items[middle:])):
        send_part(half)


def exc_body(exc: HubSpotError) -> Mapping[str, Any]:
    """The error body HubSpot sent, or one holding the message when there was none."""
    return exc.body or {"message": exc.message}
