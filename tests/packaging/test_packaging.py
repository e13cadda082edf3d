"""The package registers the `hubspot` connection type; the plugin loader leaves it alone."""

from __future__ import annotations

from importlib.metadata import distribution, entry_points
from pathlib import Path

import pytest

from hubspot_commerce import get_provider_info
from hubspot_commerce.client.oauth import OAUTH_FIELDS

ROOT = Path(__file__).resolve().parents[2]


def test_provider_info_names_this_distribution() -> None:
    info = get_provider_info()
    assert info["package-name"] == distribution("airflow-hubspot-commerce").metadata["Name"]
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "hubspot"
    assert conn_type["hook-class-name"] == "hubspot_commerce.hooks.hubspot.HubSpotHook"


def test_entry_point_is_installed() -> None:
    group = entry_points(group="apache_airflow_provider")
    ours = [ep for ep in group if ep.value.startswith("hubspot_commerce")]
    (entry_point,) = ours
    assert entry_point.load() is get_provider_info


def test_airflow_registers_the_hubspot_connection_form() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-hubspot-commerce" in manager.providers
    behaviour = manager.field_behaviours["hubspot"]
    assert behaviour["relabeling"] == {
        "password": "Access token (service key or private app; empty for an OAuth app)"
    }
    assert behaviour["placeholders"]["host"] == "https://api.hubapi.com"
    assert {"login", "port", "schema"} <= set(behaviour["hidden_fields"])
    assert "extra__hubspot__timeout" in manager.connection_form_widgets


def test_the_api_version_is_a_form_field_without_a_default() -> None:
    """A choice of the versions the hook accepts; no default in the form, which would overwrite the extra of
    a connection saved without the field (the hook's own default applies when it is empty)."""
    from airflow.providers_manager import ProvidersManager

    field = ProvidersManager().connection_form_widgets["extra__hubspot__api_version"].field
    assert field["value"] is None and "default" not in field["schema"]
    assert field["schema"]["enum"] == ["2026-09", "2026-03", "v3"]
    assert field["schema"]["title"] == "HubSpot API version"


def test_the_oauth_app_fields_are_on_the_form_with_the_secrets_masked() -> None:
    """Client id, client secret and refresh token are extras of the form; the two secrets are password
    fields (masked in the UI and in the API's connection answers)."""
    from airflow.providers_manager import ProvidersManager

    widgets = ProvidersManager().connection_form_widgets
    sensitive = {name: widgets[f"extra__hubspot__{name}"].is_sensitive for name in OAUTH_FIELDS}
    assert sensitive == {"client_id": False, "client_secret": True, "refresh_token": True}


def test_connection_type_resolves_to_the_hook() -> None:
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    from hubspot_commerce.hooks.hubspot import HubSpotHook

    hook_info = ProvidersManagerTaskRuntime().hooks["hubspot"]
    assert hook_info is not None
    assert hook_info.hook_class_name == f"{HubSpotHook.__module__}.{HubSpotHook.__qualname__}"
    assert hook_info.connection_id_attribute_name == "hubspot_conn_id"


def test_plugin_loader_does_not_import_the_package_as_loose_modules() -> None:
    from airflow._shared.module_loading import find_path_from_directory

    plugins = ROOT / "plugins"
    assert list((plugins / "hubspot_commerce").rglob("*.py")), "the package should live under plugins/"
    found = [p for p in find_path_from_directory(str(plugins), ".airflowignore", "glob") if p.endswith(".py")]
    assert found == []


@pytest.mark.parametrize("folder", ["dags", "plugins", "include", "tests"])
def test_project_layout(folder: str) -> None:
    assert (ROOT / folder).is_dir()
