"""Files on Airflow object storage: JSON, JSON lines and Parquet tables at any fsspec URL.

Tasks on different workers share no disk, so everything one task leaves for another is written here:
``file:///...`` on one machine, ``s3://<aws_conn_id>@bucket/prefix``, ``gs://...`` or anything fsspec serves.
Tables are Parquet, never pickle: a pickle is unsafe to load from shared storage and breaks across pandas
versions.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from airflow.sdk import ObjectStoragePath
from airflow.sdk.configuration import conf

Location = str | os.PathLike | ObjectStoragePath
CONFIG_SECTION = "hubspot_commerce"


def default_work_dir() -> ObjectStoragePath:
    """``[hubspot_commerce] work_dir`` (``AIRFLOW__HUBSPOT_COMMERCE__WORK_DIR``), else ``$AIRFLOW_HOME``'s
    ``hubspot_commerce`` folder: where runs and tasks keep what others read."""
    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    return storage_path(configured("work_dir") or home / "hubspot_commerce")


def configured(option: str) -> str | None:
    """``[hubspot_commerce] <option>`` in Airflow's config (``AIRFLOW__HUBSPOT_COMMERCE__<OPTION>``)."""
    return conf.get(CONFIG_SECTION, option, fallback=None)


def storage_path(location: Location) -> ObjectStoragePath:
    """A URL (``s3://conn@bucket/key``, ``file:///...``) or a local path, as an ``ObjectStoragePath``."""
    if isinstance(location, ObjectStoragePath):
        return location
    text = os.fspath(location)
    if "://" not in text:
        text = "file://" + str(Path(text).absolute())
    return ObjectStoragePath(text)


def path_safe(part: str) -> str:
    """``part`` usable as one path segment on any store: runs of other characters than ``A-Za-z0-9._=-``
    become ``_`` (run ids hold ``:`` and ``+``)."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", part)


def write_json(path: ObjectStoragePath, value: Any) -> ObjectStoragePath:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1, sort_keys=True))
    return path


def read_json(path: ObjectStoragePath) -> Any:
    return json.loads(path.read_text())


def write_jsonl(path: ObjectStoragePath, rows: Iterable[dict[str, Any]]) -> ObjectStoragePath:
    """JSON lines, one object per line (the operator's input format and the rejected-rows format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: ObjectStoragePath) -> list[dict[str, Any]]:
    """The objects of a JSON-lines file; none when the file does not exist."""
    if not path.exists():
        return []
    with path.open("r", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def write_table(path: ObjectStoragePath, frame: pd.DataFrame) -> ObjectStoragePath:
    """A DataFrame as Parquet, with its pandas dtypes (nullable integers, strings) kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        frame.to_parquet(out, index=False)
    return path


def read_table(path: ObjectStoragePath) -> pd.DataFrame:
    with path.open("rb") as source:
        return pd.read_parquet(source)
