"""Search everything the lab's deployment wrote for the HubSpot token: task logs and run files on S3, XCom
(its rows in the metadata DB and the values the object-storage backend put on S3), and the components' own
logs. The sync masks the token, never puts it in a message, an XCom value or a file: any hit is a leak.
"""

from __future__ import annotations

import contextlib
import gzip
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import sqlalchemy

from hubspot_commerce_lab.distributed.services import AWS_KEY, AWS_REGION


@dataclass
class SecretScan:
    """What was read, and where the secret was found (``s3://...``, ``xcom <task> <key>``, a log path)."""

    objects: int = 0
    xcom_rows: int = 0
    files: int = 0
    hits: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line for the lab's output (never the secret itself)."""
        where = f"{self.objects} S3 objects (task logs, XCom, run files), {self.xcom_rows} XCom rows, "
        where += f"{self.files} files"
        if not self.hits:
            return f"secret scan: the HubSpot token appears in none of {where}"
        return f"secret scan: the HubSpot token appears in {len(self.hits)} of {where}: {self.hits[:10]}"


def contains(data: bytes, secret: str) -> bool:
    """Whether ``data`` (gzip-compressed or not, as the XCom backend may store it) holds ``secret``."""
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError):
            data = gzip.decompress(data)
    return secret.encode() in data


def scan_bucket(endpoint: str, bucket: str, secret: str, scan: SecretScan) -> None:
    """Every object of the lab's bucket."""
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name=AWS_REGION, aws_access_key_id=AWS_KEY,
        aws_secret_access_key=AWS_KEY,
    )  # fmt: skip
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents") or []:
            scan.objects += 1
            if contains(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read(), secret):
                scan.hits.append(f"s3://{bucket}/{item['Key']}")


def scan_xcom_table(database_url: str, secret: str, scan: SecretScan) -> None:
    """Every XCom row of the metadata DB (values, or the references to S3 of large ones)."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(sqlalchemy.text("SELECT run_id, task_id, key, CAST(value AS TEXT) FROM xcom"))
            for run_id, task_id, key, value in rows:
                scan.xcom_rows += 1
                if value and secret in value:
                    scan.hits.append(f"xcom {run_id} {task_id} {key}")
    finally:
        engine.dispose()


def scan_files(directory: Path, secret: str, scan: SecretScan) -> None:
    """Every file under ``directory``: the components' logs here, Airflow's home and the run's files for the
    demo."""
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        scan.files += 1
        if contains(path.read_bytes(), secret):
            scan.hits.append(str(path))
