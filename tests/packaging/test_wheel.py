"""The runtime wheel holds what production runs: built, installed into an empty virtualenv, Airflow lists the
provider, offers the connection form and parses the DAG, with no sandbox or lab module anywhere in it, and
without the ``openlineage`` extra the lineage methods do nothing."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "plugins" / "hubspot_commerce"
SANDBOX = ROOT / "packages" / "hubspot-sandbox" / "src" / "hubspot_sandbox"
LAB_MODULES = ("hubspot_sandbox", "hubspot_commerce_lab")
UV = Path(sys.executable).with_name("uv")

# Run inside the new virtualenv: what Airflow itself sees of the installed wheel.
PROBE = """
import importlib.util, json, sys
from airflow.providers_manager import ProvidersManager
from airflow.dag_processing.dagbag import DagBag
import hubspot_commerce
from hubspot_commerce.lineage.extract_events import emit_extract_lineage

manager = ProvidersManager()
bag = DagBag(dag_folder=sys.argv[1])
write = bag.dags["hubspot_commerce_sync"].get_task("create_orders")
print(json.dumps({
    "openlineage": importlib.util.find_spec("openlineage") is not None,
    "lineage": [
        write.get_openlineage_facets_on_start(),
        write.get_openlineage_facets_on_complete(None),
        write.get_openlineage_facets_on_failure(None),
        emit_extract_lineage("commerce_source", {"orders": "SELECT * FROM orders"}),
    ],
    "providers": sorted(manager.providers),
    "form": sorted(k for k in manager.connection_form_widgets if k.startswith("extra__hubspot__")),
    "hook": manager.hooks["hubspot"].hook_class_name,
    "dags": sorted(bag.dag_ids),
    "errors": {k: str(v)[:500] for k, v in bag.import_errors.items()},
    "package": hubspot_commerce.__file__,
    "lab": [m for m in ("hubspot_sandbox", "hubspot_commerce_lab", "pytest") if importlib.util.find_spec(m)],
}))
"""


def imported_modules(root: Path) -> dict[str, set[str]]:
    """Per Python file under ``root``, the top-level names of the modules it imports."""
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_runtime_package_imports_nothing_from_the_sandbox_or_the_lab() -> None:
    offenders = {
        path: sorted(names & set(LAB_MODULES))
        for root in (RUNTIME, ROOT / "dags")
        for path, names in imported_modules(root).items()
        if names & set(LAB_MODULES)
    }
    assert len(imported_modules(RUNTIME)) > 20, "the runtime package should be found"
    assert offenders == {}


def test_the_sandbox_shares_no_code_with_the_client() -> None:
    """If both sides were wrong in the same way no test would notice: the sandbox imports nothing of ours."""
    offenders = {
        path: sorted(names & {"hubspot_commerce", "hubspot_commerce_lab"})
        for path, names in imported_modules(SANDBOX).items()
        if names & {"hubspot_commerce", "hubspot_commerce_lab"}
    }
    assert len(imported_modules(SANDBOX)) > 10, "the sandbox should be found"
    assert offenders == {}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runtime wheel, built from the checkout as a release would build it."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([str(UV), "build", "--wheel", "-q", "-o", str(out), str(ROOT)], check=True)
    (built,) = out.glob("airflow_hubspot_commerce-*.whl")
    return built


def test_the_wheel_holds_the_runtime_package_and_its_include_files_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names}
    name, version = wheel.name.split("-")[:2]
    assert packages == {"hubspot_commerce", f"{name}-{version}.dist-info"}
    assert "hubspot_commerce/include/mappings/commerce.yaml" in names
    assert "hubspot_commerce/hooks/hubspot.py" in names
    lab = [n for n in names if any(part in n for part in ("sandbox", "distributed", "demo", "sample_store"))]
    assert lab == []


def test_the_wheel_alone_gives_airflow_the_provider_the_form_and_the_dag(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([str(UV), "venv", "-q", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(UV), "pip", "install", "-q", "--python", str(python), str(wheel)], check=True)
    (tmp_path / "plugins").mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(tmp_path / "plugins"),  # empty: the wheel, not the checkout
    }
    result = subprocess.run(
        [str(python), "-c", PROBE, str(ROOT / "dags")],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert "airflow-hubspot-commerce" in seen["providers"]
    assert {"extra__hubspot__timeout", "extra__hubspot__api_version", "extra__hubspot__client_secret"} <= set(
        seen["form"]
    )
    assert seen["hook"] == "hubspot_commerce.hooks.hubspot.HubSpotHook"
    assert seen["errors"] == {}
    assert seen["dags"] == ["hubspot_commerce_sync"]
    assert seen["package"].startswith(str(venv))
    assert seen["lab"] == []
    assert seen["openlineage"] is False, "the openlineage extra is optional"
    assert seen["lineage"] == [None, None, None, None], "the write's facets and the extract's event: none"
