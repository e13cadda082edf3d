"""The prepare task's inputs: referenced streams' ids from their prepare and write tasks' XCom values."""

from __future__ import annotations

import pandas as pd

from hubspot_commerce.storage import write_json
from hubspot_commerce.sync.tasks.prepare_task import referenced_ids


def test_referenced_ids_merge_prepare_and_write_values(files):
    large = write_json(files.stream_dir("orders") / "create_orders.ids.json", {"3": "13"})
    upstream = {
        "orders": [{"ids": {"1": "11"}}, {"ids": str(large), "created": 1}, None],  # None: a skipped write
        "contacts": [{"ids": {}}, None],
    }
    ids = referenced_ids(upstream)
    keys = pd.Series(["1", "3", "2"])
    assert ids["orders"].lookup(keys).tolist() == ["11", "13", pd.NA] and len(ids["contacts"]) == 0
