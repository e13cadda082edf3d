"""The commerce sync as plain functions (extract, mapping, validate, plan, report) and the DAG factory."""
