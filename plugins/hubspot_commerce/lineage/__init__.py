"""OpenLineage for the sync: the source tables a run reads, the HubSpot objects it writes, their counts and
column lineage. Everything here works without ``apache-airflow-providers-openlineage`` (the ``openlineage``
extra): the modules that need it (``source_tables``, ``facets``) are imported only where it is installed."""
