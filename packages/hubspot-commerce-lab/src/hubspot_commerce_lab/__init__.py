"""The lab of airflow-hubspot-commerce: ``make demo``, the sample store and ``make distributed``.

Outside the runtime wheel on purpose: a production worker installs ``airflow-hubspot-commerce`` alone.
"""
