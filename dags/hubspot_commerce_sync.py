"""Airflow DAG ``hubspot_commerce_sync``: the store's commerce data into HubSpot (built by the package)."""

from hubspot_commerce.sync_dag import build_dag

dag = build_dag()
