"""HubSpot's CRM API, free of Airflow: one module per API, composed by ``hubspot_client.HubSpotClient``,
which ``HubSpotHook`` builds from its connection."""
