"""The lab's secret scan finds the token in a bucket object (plain or gzip), an XCom row and a log file."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import boto3

from hubspot_commerce_lab.distributed.secret_scan import (
    SecretScan,
    contains,
    scan_bucket,
    scan_files,
    scan_xcom_table,
)

TOKEN = "pat-na1-0123456789abcdef"


def test_contains_reads_through_gzip() -> None:
    assert contains(b"... Bearer " + TOKEN.encode() + b" ...", TOKEN)
    assert contains(gzip.compress(TOKEN.encode()), TOKEN)
    assert not contains(gzip.compress(b"Bearer ***"), TOKEN)


def test_the_bucket_scan_names_each_object_holding_the_token(s3_server) -> None:
    s3 = boto3.client(
        "s3", endpoint_url=s3_server.endpoint, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )  # fmt: skip
    prefix = "secret-scan-test"
    log = b"token " + TOKEN.encode()
    s3.put_object(Bucket=s3_server.bucket, Key=f"{prefix}/logs/attempt=1.log", Body=log)
    s3.put_object(Bucket=s3_server.bucket, Key=f"{prefix}/xcom/abc", Body=gzip.compress(TOKEN.encode()))
    s3.put_object(Bucket=s3_server.bucket, Key=f"{prefix}/clean.json", Body=b'{"ids": {}}')
    scan = SecretScan()
    scan_bucket(s3_server.endpoint, s3_server.bucket, TOKEN, scan)
    ours = sorted(hit for hit in scan.hits if prefix in hit)
    assert ours == [
        f"s3://{s3_server.bucket}/{prefix}/logs/attempt=1.log",
        f"s3://{s3_server.bucket}/{prefix}/xcom/abc",
    ]
    assert scan.objects >= 3
    assert TOKEN not in scan.describe()


def test_the_xcom_table_and_log_files_are_scanned(tmp_path: Path) -> None:
    db_path = tmp_path / "airflow.db"
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE xcom (run_id TEXT, task_id TEXT, key TEXT, value TEXT)")
    db.executemany(
        "INSERT INTO xcom VALUES (?, ?, ?, ?)",
        [("r", "setup", "return_value", '{"ok": 1}'), ("r", "report", "return_value", f'"{TOKEN}"')],
    )
    db.commit()
    db.close()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "worker-a.log").write_text("nothing here")
    (tmp_path / "logs" / "scheduler.log").write_text(f"Authorization: Bearer {TOKEN}")
    scan = SecretScan()
    scan_xcom_table(f"sqlite:///{db_path}", TOKEN, scan)
    scan_files(tmp_path / "logs", TOKEN, scan)
    assert scan.hits == ["xcom r report return_value", str(tmp_path / "logs" / "scheduler.log")]
    assert (scan.xcom_rows, scan.files) == (2, 2)
    assert "appears in 2 of" in scan.describe()
