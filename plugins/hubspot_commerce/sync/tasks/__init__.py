"""The sync DAG's tasks, one module each, free of Airflow's task context so each can be called in a test."""
