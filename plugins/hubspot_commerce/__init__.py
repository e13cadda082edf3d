"""Keep a store's commerce data in HubSpot CRM from Apache Airflow.

The package registers the ``hubspot`` connection type with Airflow through the
``apache_airflow_provider`` entry point (see ``get_provider_info``).
"""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Describe this package to Airflow's ProvidersManager: the ``hubspot`` connection type and its form."""
    from hubspot_commerce.client.api_paths import API_VERSIONS, DEFAULT_API_VERSION, NUMBERED

    return {
        "package-name": "airflow-hubspot-commerce",
        "name": "HubSpot Commerce",
        "description": "HubSpot CRM batch hook, operator and commerce sync DAG.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "hubspot",
                "hook-class-name": "hubspot_commerce.hooks.hubspot.HubSpotHook",
                "hook-name": "HubSpot",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "port", "schema"],
                    "relabeling": {
                        "password": "Access token (service key or private app; empty for an OAuth app)"
                    },
                    "placeholders": {"host": "https://api.hubapi.com", "password": "pat-..."},
                },
                "conn-fields": {
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "description": "Seconds to wait for one HubSpot response (default 60).",
                        "schema": {"type": ["number", "null"]},
                    },
                    "api_version": {
                        "label": "HubSpot API version",
                        "description": (
                            f"The API paths to call, one of {', '.join(API_VERSIONS)} "
                            f"({DEFAULT_API_VERSION} when empty); {NUMBERED} is the numbered family "
                            "HubSpot stops supporting in 2027."
                        ),
                        "schema": {"type": ["string", "null"], "enum": list(API_VERSIONS)},
                    },
                    "daily_limit": {
                        "label": "Daily request limit (OAuth app)",
                        "description": (
                            "The portal's daily request quota, used when HubSpot sends no daily headers "
                            "(OAuth apps): 250000 on Free and Starter, 625000 on Professional, 1000000 on "
                            "Enterprise. Empty: only a 429 DAILY stops a write."
                        ),
                        "schema": {"type": ["integer", "null"], "minimum": 1},
                    },
                    "client_id": {
                        "label": "OAuth app client id",
                        "description": "An OAuth app instead of an access token: its client id.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "client_secret": {
                        "label": "OAuth app client secret",
                        "description": "The OAuth app's client secret.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "refresh_token": {
                        "label": "OAuth refresh token",
                        "description": (
                            "The refresh token of the app's install in the portal; the hook exchanges it for "
                            "access tokens and refreshes them before they expire."
                        ),
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                },
            }
        ],
    }
