"""The lab workers' Celery configuration: Airflow's default, after importing what every sync task imports.

On Linux Airflow runs each task in a process forked from a Celery worker process, so a module the worker
imported once is already loaded in every task. Parsing the DAG file (pandas, pyarrow, the package) and
uploading the task log to S3 (boto3, s3fs) otherwise cost about 3 s of CPU per task, which on two cores
doubles the time of the lab's 150 task runs. Workers load this through ``[celery] celery_config_options``.
"""

from __future__ import annotations

import importlib

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

PRELOADED = (
    "hubspot_commerce.sync_dag",
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.task_runner",
    "airflow.providers.amazon.aws.log.s3_task_handler",
    "airflow.providers.amazon.aws.hooks.s3",
    "airflow.providers.amazon.aws.fs.s3",
    "airflow.providers.common.io.xcom.backend",
    "s3fs",
    "pyarrow.parquet",
)

for module in PRELOADED:
    importlib.import_module(module)

CELERY_CONFIG = DEFAULT_CELERY_CONFIG
