"""The batch engine: planning, pacing, sending and result correlation for HubSpot batch endpoints.

It knows HubSpot's batch API but not Airflow; the hook gives it a way to send one request.
"""
