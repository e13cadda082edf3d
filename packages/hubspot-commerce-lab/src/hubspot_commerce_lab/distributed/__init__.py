"""``make distributed``: the sync DAG on a real CeleryExecutor deployment on one machine, set up, run,
checked record by record against the store, and torn down by one command (``python -m
hubspot_commerce_lab.distributed``)."""
