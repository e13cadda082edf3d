"""Checks of the shell commands the docs show, against the real tools, without running them: Airflow's own CLI
parser (and the DAG's Params for a run's conf), the package's commands' options, make targets, connections
and settings set through the environment. A renamed Param, option, target or setting fails its check."""

from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.util
import io
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from doc_pages import ROOT

ENVIRONMENT = {"AIRFLOW_HOME"}  # variables the docs may set beside connections and settings


@dataclass
class Tools:
    """What the checks compare commands with: the DAG, Airflow's CLI parser, the Makefile, the settings."""

    dag: Any
    airflow_parser: Any
    config_sections: dict[str, str]  # AIRFLOW__<SECTION>__ name -> the section
    package_settings: set[str]  # [hubspot_commerce] options the package reads
    conn_types: set[str]
    hubspot_extras: set[str]
    make_targets: set[str] = field(default_factory=set)
    lab_variables: set[str] = field(default_factory=set)


def check_command(argv: list[str], tools: Tools) -> None:
    """One command as the docs show it; raises AssertionError saying what does not exist."""
    checks: dict[str, Callable[[list[str], Tools], None]] = {
        "airflow": check_airflow,
        "hubspot-commerce": check_package_command,
        "hubspot-sandbox": check_sandbox_command,
        "make": check_make,
        "export": check_export,
        "python": check_python_module,
        "source": check_source,
        "cp": check_copy,
        "mkdir": lambda argv, tools: None,
        "pip": check_pip_install,
    }
    assert argv[0] in checks, f"{argv[0]!r} is not a command the docs' checks know: mark the block needs: ..."
    checks[argv[0]](argv, tools)


def parse_airflow(argv: list[str], tools: Tools) -> Any:
    """Airflow's own parser on the command's arguments; its complaint is the assertion's message."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            return tools.airflow_parser.parse_args(argv[1:])
    except SystemExit as exc:
        refusal = stderr.getvalue().strip()
        raise AssertionError(f"airflow refuses {' '.join(argv[1:4])} ...: {refusal}") from exc


def check_airflow(argv: list[str], tools: Tools) -> None:
    """Airflow parses it; a run's conf is valid for the DAG's Params; a DAG id and a task regex exist."""
    args = parse_airflow(argv, tools)
    dag_id = getattr(args, "dag_id", None)
    if dag_id is not None:
        assert dag_id == tools.dag.dag_id, f"no DAG {dag_id!r} (the sync is {tools.dag.dag_id!r})"
    if getattr(args, "conf", None):
        check_conf(json.loads(args.conf), tools.dag)
    if getattr(args, "task_regex", None):
        pattern = re.compile(args.task_regex)
        assert any(pattern.search(task) for task in tools.dag.task_ids), f"no task matches {args.task_regex}"


def check_conf(conf: dict[str, Any], dag: Any) -> None:
    """Every key is one of the DAG's Params, and the values pass the Params' schemas."""
    unknown = sorted(set(conf) - set(dag.params))
    assert not unknown, f"{', '.join(unknown)} is no Param of {dag.dag_id} ({', '.join(dag.params)})"
    params = copy.deepcopy(dag.params)
    params.update(conf)
    params.validate()


@cache
def package_help(*command: str) -> str:
    """``<command> --help`` of a command the package installs, run as a user runs it."""
    executable = Path(sys.executable).with_name(command[0])
    result = subprocess.run(
        [str(executable), *command[1:], "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"`{' '.join(command)} --help` failed: {result.stderr[-500:]}"
    return result.stdout


def check_package_command(argv: list[str], tools: Tools) -> None:
    """``hubspot-commerce <command>`` exists (its ``--help`` works) and lists every option used."""
    command = tuple(argv[: 2 if len(argv) > 1 and not argv[1].startswith("-") else 1])
    text = package_help(*command)
    for option in (arg.split("=")[0] for arg in argv if arg.startswith("--")):
        assert option in text, f"`{' '.join(command)}` has no option {option}"


def check_sandbox_command(argv: list[str], tools: Tools) -> None:
    """The sandbox's own parser takes the arguments."""
    from hubspot_sandbox.cli import build_parser

    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            build_parser().parse_args(argv[1:])
    except SystemExit as exc:
        raise AssertionError(f"hubspot-sandbox refuses {argv[1:]}: {stderr.getvalue().strip()}") from exc


def check_make(argv: list[str], tools: Tools) -> None:
    """The target exists, and the lab reads every variable given on the command line."""
    for arg in argv[1:]:
        if "=" in arg:
            name = arg.split("=")[0]
            assert name in tools.lab_variables, f"make: nothing reads the variable {name}"
        else:
            assert arg in tools.make_targets, f"make has no target {arg!r}"


def check_export(argv: list[str], tools: Tools) -> None:
    """A connection parses into a known type with known extras; a setting is Airflow's or the package's."""
    for assignment in argv[1:]:
        name, _, value = assignment.partition("=")
        if name.startswith("AIRFLOW_CONN_"):
            check_connection(name.removeprefix("AIRFLOW_CONN_").lower(), value, tools)
        elif name.startswith("AIRFLOW__"):
            check_setting(name, value, tools)
        else:
            assert name in ENVIRONMENT, f"{name} is neither a connection nor a setting"


def check_connection(conn_id: str, value: str, tools: Tools) -> None:
    """``AIRFLOW_CONN_<ID>``: JSON or a URI, of a type Airflow knows; a hubspot one's extras exist."""
    from airflow.models.connection import Connection

    connection = (
        Connection.from_json(value, conn_id=conn_id)
        if value.startswith("{")
        else Connection(conn_id=conn_id, uri=value)
    )
    assert connection.conn_type in tools.conn_types, f"{conn_id}: no connection type {connection.conn_type!r}"
    if connection.conn_type == "hubspot":
        unknown = sorted(set(connection.extra_dejson) - tools.hubspot_extras)
        assert not unknown, f"{conn_id}: the hubspot connection has no extra {', '.join(unknown)}"


def check_setting(name: str, value: str, tools: Tools) -> None:
    """``AIRFLOW__<SECTION>__<KEY>``: an option Airflow (with its providers) or the package reads."""
    from airflow.configuration import conf

    section_name, _, key = name.removeprefix("AIRFLOW__").partition("__")
    if section_name == "HUBSPOT_COMMERCE":
        assert key.lower() in tools.package_settings, f"[hubspot_commerce] has no setting {key.lower()}"
        return
    section = tools.config_sections.get(section_name)
    # An option with no default (``[openlineage] namespace``) is only in the description, not in has_option.
    described = conf.configuration_description.get(section or "", {}).get("options", {})
    known = section and (conf.has_option(section, key.lower()) or key.lower() in described)
    assert known, f"Airflow has no setting {name}"
    if key == "XCOM_BACKEND":
        module, _, attribute = value.rpartition(".")
        assert hasattr(importlib.import_module(module), attribute), f"{value} cannot be imported"


def check_python_module(argv: list[str], tools: Tools) -> None:
    """``python -m <module> ...``: the module exists and takes ``--help``."""
    assert argv[1] == "-m", "the docs run Python modules with -m"
    module = importlib.import_module(argv[2])
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        module.main([*argv[3:], "--help"])
        raise AssertionError(f"python -m {argv[2]} --help did not exit")


def check_source(argv: list[str], tools: Tools) -> None:
    assert (ROOT / argv[1]).is_file(), f"{argv[1]} does not exist in a set-up clone"


def check_copy(argv: list[str], tools: Tools) -> None:
    sources = [arg for arg in argv[1:-1] if not arg.startswith("-")]
    for source in sources:
        assert (ROOT / source).exists(), f"cp: {source} does not exist in the repository"


def check_pip_install(argv: list[str], tools: Tools) -> None:
    """Only this package (by name, or ``.``: the clone), with extras it declares (other packages need a
    ``needs:`` marker)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in argv[2:]:
        name, _, extras = requirement.partition("[")
        this_package = name in (project["name"], ".")
        assert this_package, f"pip install {name}: not this package; mark the block needs: ..."
        for extra in filter(None, extras.rstrip("]").split(",")):
            assert extra in project["optional-dependencies"], f"{name} has no extra {extra!r}"


def package_settings() -> set[str]:
    """The ``[hubspot_commerce]`` options the package reads (``configured("...")``)."""
    sources = (ROOT / "plugins" / "hubspot_commerce").rglob("*.py")
    return {name for path in sources for name in re.findall(r'configured\("(\w+)"\)', path.read_text())}


def lab_variables() -> set[str]:
    """The environment variables the lab and the demo read (``os.environ.get("STORE")``)."""
    sources = (ROOT / "packages").rglob("*.py")
    return {name for path in sources for name in re.findall(r'environ\.get\("(\w+)"', path.read_text())}


def make_targets() -> set[str]:
    """The Makefile's phony targets."""
    makefile = (ROOT / "Makefile").read_text()
    return set(re.search(r"^\.PHONY: (.+)$", makefile, re.MULTILINE)[1].split())


def hubspot_extras() -> set[str]:
    """The extras a hubspot connection takes: its form's fields, and those the settings read besides."""
    from hubspot_commerce import get_provider_info

    fields = set(get_provider_info()["connection-types"][0]["conn-fields"])
    settings = (ROOT / "plugins/hubspot_commerce/client/connection_settings.py").read_text()
    return fields | set(re.findall(r'extras\.get\("(\w+)"\)', settings))
