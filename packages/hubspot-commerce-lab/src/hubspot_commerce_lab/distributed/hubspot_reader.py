"""Read a HubSpot portal through its public API only (so the check works against HubSpot itself too).

Objects are listed page by page (``GET /crm/objects/2026-09/{type}``); links are read in batches with
``POST /crm/associations/2026-09/{from}/{to}/batch/read``: HubSpot's date-versioned paths, since the numbered
ones (``/crm/v3``, ``/crm/v4``) retire in 2027. It shares no code with the package's client on purpose (a
check of what the client wrote), so it names its own paths. The reader paces itself under a request budget
per rolling 10 s and retries 429s (``Retry-After`` honoured), 5xx answers and dropped connections.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

API_VERSION = "2026-09"
PAGE_SIZE = 100
ASSOCIATION_BATCH = 1000  # HubSpot's limit for association batch/read inputs
ATTEMPTS = 8
BUDGET_SHARE = 0.8  # of HubSpot's ten-secondly limit: room for another app's requests meanwhile
ASSOCIATION_THREADS = 4  # association batches do not count against the ten-secondly limit

Links = dict[str, dict[str, list[int]]]  # from id -> {to id: [association type ids]}


class Pacer:
    """At most ``budget`` sends in any rolling ``window`` seconds, shared by every thread of a reader."""

    def __init__(self, budget: int, window: float = 10.0) -> None:
        """``budget`` sends per ``window`` seconds."""
        self.budget = budget
        self.window = window
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_turn(self) -> None:
        """Block until one more send fits in the window, then count it."""
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.budget:
                    self._sent.append(now)
                    return
                pause = self._sent[0] + self.window - now
            time.sleep(max(pause, 0.01))


class HubSpotReader:
    """Reads objects and associations of one portal with an access token (or the sandbox's token).

    It sends at most ``budget`` requests per rolling 10 s, and at most ``BUDGET_SHARE`` of the limit HubSpot
    states in ``X-HubSpot-RateLimit-Max`` (kept in ``rate_limit_max``) once an answer told it.
    """

    def __init__(self, base_url: str, token: str, budget: int = 150, timeout: float = 60.0) -> None:
        """A reader of the portal at ``base_url`` (HubSpot's API, or the sandbox) with ``token``."""
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.pacer = Pacer(budget)
        self.rate_limit_max: int | None = None
        self._local = threading.local()

    def _session(self) -> requests.Session:
        """This thread's keep-alive session with the token."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call with pacing and retries; the parsed JSON answer (200 and 207 are both answers)."""
        for attempt in range(ATTEMPTS):
            self.pacer.wait_turn()
            try:
                response = self._session().request(
                    method, self.base_url + path, timeout=self.timeout, **kwargs
                )
            except requests.RequestException:
                time.sleep(min(0.5 * 2**attempt, 10))
                continue
            limit = response.headers.get("X-HubSpot-RateLimit-Max", "")
            if limit.isdigit():
                self.rate_limit_max = int(limit)
                self.pacer.budget = min(self.pacer.budget, max(1, int(int(limit) * BUDGET_SHARE)))
            if response.status_code == 429 or response.status_code >= 500:
                retry_after = response.headers.get("Retry-After", "")
                time.sleep(float(retry_after) if retry_after.isdigit() else min(0.5 * 2**attempt, 10))
                continue
            if response.status_code >= 400:
                raise RuntimeError(f"{method} {path}: HTTP {response.status_code}: {response.text[:500]}")
            return response.json()
        raise RuntimeError(f"{method} {path}: no answer after {ATTEMPTS} attempts")

    def list_objects(self, object_type: str, properties: Sequence[str]) -> list[dict[str, Any]]:
        """Every (unarchived) record of a type with the given properties: ``[{"id", "properties"}]``."""
        records: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params = {"limit": str(PAGE_SIZE), "properties": ",".join(properties), "archived": "false"}
            if after is not None:
                params["after"] = after
            page = self.call("GET", f"/crm/objects/{API_VERSION}/{object_type}", params=params)
            records.extend(
                {"id": str(r["id"]), "properties": r.get("properties") or {}} for r in page["results"]
            )
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if after is None:
                return records

    def associations(self, from_type: str, to_type: str, ids: Sequence[str]) -> Links:
        """Links of ``ids`` to ``to_type``: ``{from id: {to id: [type ids]}}``; unknown ids have none.
        Batches of 1,000 ids are read in parallel."""
        chunks = [ids[start : start + ASSOCIATION_BATCH] for start in range(0, len(ids), ASSOCIATION_BATCH)]
        links: Links = {}
        with ThreadPoolExecutor(ASSOCIATION_THREADS) as pool:
            for part in pool.map(lambda chunk: self._association_batch(from_type, to_type, chunk), chunks):
                links.update(part)
        return links

    def _association_batch(self, from_type: str, to_type: str, ids: Sequence[str]) -> Links:
        """One ``batch/read`` of up to 1,000 ids."""
        answer = self.call(
            "POST",
            f"/crm/associations/{API_VERSION}/{from_type}/{to_type}/batch/read",
            json={"inputs": [{"id": record_id} for record_id in ids]},
        )
        return {
            str(result["from"]["id"]): {
                str(to["toObjectId"]): sorted(t["typeId"] for t in to.get("associationTypes", []))
                for to in result.get("to", [])
            }
            for result in answer.get("results", [])
        }
