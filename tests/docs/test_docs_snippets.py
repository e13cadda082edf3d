"""Every code block of the tutorial and the how-to guides is checked, or says what it needs that a test cannot
have (a HubSpot account, a cloud). The marker on the line before a block says how (docs/development.md lists
them): commands against the real tools and the DAG's Params, curl and Python against the sandbox, SQL on a
sample store, mappings through ``load_mapping`` and against the sandbox's portal, a DAG and its test run."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from doc_pages import Block, blocks, marked, pages, shell_commands
from shell_checks import (
    Tools,
    check_command,
    check_setting,
    hubspot_extras,
    lab_variables,
    make_targets,
    package_settings,
)
from source_queries import WINDOWS, named_columns, page_sql_files, render, sample_store

from hubspot_commerce.sync.mapping import StreamMapping, SyncMapping, load_mapping
from hubspot_commerce.sync.resources import include_path

CHECKS = {
    "commands", "sandbox", "sql-store", "mapping", "mapping-portal", "airflow-cfg", "python-sandbox",
    "build-dag", "sandbox-rules", "own-dag-file", "own-dag-test", "postgres-warehouse", "postgres-sql-file",
    "postgres-mapping", "postgres-check", "postgres-run", "postgres-query", "postgres-fragment",
}  # fmt: skip


def where(block: Block) -> str:
    return block.where


@pytest.fixture(scope="module")
def tools() -> Tools:
    """The DAG as the package builds it, Airflow's CLI parser and settings, the Makefile."""
    from airflow.cli.cli_parser import get_parser
    from airflow.configuration import conf
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    from hubspot_commerce.sync_dag import build_dag

    return Tools(
        dag=build_dag(),
        airflow_parser=get_parser(),
        config_sections={
            section.upper().replace(".", "_"): section for section in conf.configuration_description
        },
        package_settings=package_settings(),
        conn_types=set(ProvidersManagerTaskRuntime().hooks),
        hubspot_extras=hubspot_extras(),
        make_targets=make_targets(),
        lab_variables=lab_variables(),
    )


def test_every_block_of_the_tutorial_and_the_how_to_guides_is_checked_or_says_what_it_needs() -> None:
    found = [block for path in pages("tutorial", "how-to") for block in blocks(path)]
    unmarked = [block.where for block in found if block.kind is None and block.language != "text"]
    assert unmarked == [], "mark each block <!-- check: ... --> or <!-- needs: ... --> (docs/development.md)"
    checks = [block for path in pages() for block in blocks(path) if block.kind == "check"]
    assert [block.where for block in checks if block.what not in CHECKS] == []
    assert len(found) > 40 and {block.what for block in checks} == CHECKS, "every kind of check is used"


@pytest.mark.parametrize("block", marked("commands"), ids=where)
def test_commands_exist_as_written(block: Block, tools: Tools) -> None:
    for argv in shell_commands(block.text):
        check_command(argv, tools)


@pytest.mark.parametrize(
    ("command", "complaint"),
    [
        ("""airflow dags test hubspot_commerce_sync -c '{"dry_runn": true}'""", "dry_runn is no Param of"),
        (
            """airflow dags trigger hubspot_commerce_sync -c '{"objects": ["order"]}'""",
            "'order' is not one of",
        ),
        ("airflow tasks clear hubspot_commerce_sync --task-regex '^create_order$' --yes", "no task matches"),
        ("airflow pools sett hubspot_api 3 'HubSpot API'", "airflow refuses pools sett"),
        ("hubspot-commerce check --sql-folder sql", "has no option --sql-folder"),
        ("make demoo", "make has no target 'demoo'"),
        ("make distributed FAULTS=kill-worker", "nothing reads the variable FAULTS"),
        (
            "export AIRFLOW__HUBSPOT_COMMERCE__SQL_FOLDER=sql",
            r"\[hubspot_commerce\] has no setting sql_folder",
        ),
        ("export AIRFLOW__CORE__DAG_FOLDER=dags", "Airflow has no setting AIRFLOW__CORE__DAG_FOLDER"),
        (
            """export AIRFLOW_CONN_X='{"conn_type": "hubspot", "extra": {"api_versoin": "v3"}}'""",
            "the hubspot connection has no extra api_versoin",
        ),
        ("""pip install 'airflow-hubspot-commerce[s4]'""", "has no extra 's4'"),
    ],
)
def test_a_renamed_param_task_option_target_or_setting_fails_its_check(
    command: str, complaint: str, tools: Tools
) -> None:
    with pytest.raises(Exception, match=complaint):
        check_command(shell_commands(command)[0], tools)


@pytest.mark.parametrize("block", marked("sandbox"), ids=where)
def test_sandbox_commands_run_against_the_sandbox(block: Block, sandbox: Any) -> None:
    """Run as written, the sandbox's URL and token in place of the docs' (curl fails on an HTTP error)."""
    script = (
        block.text.replace("http://127.0.0.1:8765", sandbox.url)
        .replace("demo-token", sandbox.token)
        .replace("curl ", "curl --fail-with-body ")
    )
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": path},
    )
    assert result.returncode == 0, f"{block.where}: {result.stdout[-500:]}{result.stderr[-500:]}"
    assert result.stdout.strip(), f"{block.where} printed nothing"


@pytest.mark.parametrize("page", sorted({block.page for block in marked("sql-store")}))
def test_sql_runs_on_the_sample_store(page: str, tmp_path: Path) -> None:
    files = page_sql_files(page)
    with sample_store(tmp_path, page) as db:
        for block in (block for block in marked("sql-store") if block.page == page):
            if not block.text.lstrip().upper().startswith("CREATE"):
                for window in WINDOWS:
                    db.execute(render(block.text, files, window)).fetchall()


def merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``change`` laid over it, mappings merged key by key."""
    result = dict(base)
    for key, value in change.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        result[key] = merged(base[key], value) if both else value
    return result


def snippet_mapping(block: Block, folder: Path) -> SyncMapping:
    """The package's mapping with the block's streams merged in, and the package's SQL folder with the
    page's files added; loaded with ``load_mapping``."""
    raw = yaml.safe_load(include_path("mappings", "commerce.yaml").read_text())
    snippet = yaml.safe_load(block.text)
    raw["key_property"] = snippet.get("key_property", raw["key_property"])
    for name, spec in snippet.get("streams", snippet).items():
        if name != "key_property":
            raw["streams"][name] = merged(raw["streams"].get(name, {}), spec)
    sql_dir = folder / "sql"
    shutil.copytree(include_path("sql"), sql_dir)
    for name, text in page_sql_files(block.page).items():
        (sql_dir / name).write_text(text)
    (folder / "mapping.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_mapping(folder / "mapping.yaml", sql_dir)


def snippet_streams(block: Block, mapping: SyncMapping) -> list[StreamMapping]:
    snippet = yaml.safe_load(block.text)
    return [mapping.streams[name] for name in snippet.get("streams", snippet) if name in mapping.streams]


@pytest.mark.parametrize("block", marked("mapping"), ids=where)
def test_mapping_snippets_load(block: Block, tmp_path: Path) -> None:
    assert snippet_streams(block, snippet_mapping(block, tmp_path))


@pytest.mark.parametrize("block", marked("mapping-portal"), ids=where)
def test_mapping_snippets_fit_the_portal_and_their_queries(
    block: Block, tmp_path: Path, hubspot_conn: str
) -> None:
    """The mapped properties exist in the sandbox's portal and take the values; the stream's query (the
    page's, else the package's) returns every column the stream names."""
    from hubspot_commerce.hooks.hubspot import HubSpotHook
    from hubspot_commerce.sync.validate import mapping_problems

    mapping = snippet_mapping(block, tmp_path)
    assert mapping_problems(mapping, HubSpotHook().get_properties_by_type(mapping.object_types)) == []
    files = {path.name: path.read_text() for path in mapping.sql_dir.glob("*.sql")}
    with sample_store(tmp_path, block.page) as db:
        for stream in snippet_streams(block, mapping):
            cursor = db.execute(render(files[f"{stream.sql}.sql"], files, WINDOWS[0]))
            returned = {column[0] for column in cursor.description}
            assert named_columns(stream) <= returned, (
                f"{stream.sql}.sql lacks {named_columns(stream) - returned}"
            )


@pytest.mark.parametrize("block", marked("airflow-cfg"), ids=where)
def test_airflow_cfg_snippets_name_real_settings(block: Block, tools: Tools) -> None:
    parser = configparser.ConfigParser()
    parser.read_string(block.text)
    assert parser.sections()
    for section in parser.sections():
        for key, value in parser.items(section):
            check_setting(f"AIRFLOW__{section.upper().replace('.', '_')}__{key.upper()}", value, tools)


@pytest.mark.parametrize("block", marked("python-sandbox"), ids=where)
def test_python_runs_against_the_sandbox(
    block: Block, hubspot_conn: str, sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(block.text, block.where, "exec"), {"__name__": "docs_snippet"})
    assert capsys.readouterr().out.strip(), f"{block.where} printed nothing"
    assert sandbox.stats()["requests"] > 0


@pytest.mark.parametrize("block", marked("build-dag"), ids=where)
def test_build_dag_calls_take_real_arguments(block: Block) -> None:
    """The call binds to ``build_dag``'s signature (a renamed argument fails); the file's docstring names
    "airflow" and "dag", as Airflow's safe mode needs."""
    from hubspot_commerce.sync_dag import build_dag

    tree = ast.parse(block.text)
    assert {"airflow", "dag"} <= set((ast.get_docstring(tree) or "").lower().replace(":", " ").split())
    (call,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "build_dag"
    ]
    inspect.signature(build_dag).bind(*call.args, **{keyword.arg: None for keyword in call.keywords})


@pytest.mark.parametrize("block", marked("sandbox-rules"), ids=where)
def test_sandbox_rules_are_taken_by_the_sandbox(block: Block, sandbox: Any) -> None:
    answer = requests.put(f"{sandbox.url}/_sandbox/rules/orders", json=json.loads(block.text), timeout=10)
    assert answer.status_code == 200, answer.text
    assert sandbox.rules()["orders"]["required_properties"] == json.loads(block.text)["required_properties"]


@pytest.mark.usefixtures("airflow_db")
def test_the_own_dag_and_its_test_run_against_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DAG of "Write to HubSpot from your own DAG" and the test of "Test your own DAGs", as files in a
    project of their own; the test runs as pytest would run it."""
    (dag_file,) = marked("own-dag-file")
    (test_file,) = marked("own-dag-test")
    for block in (dag_file, test_file):
        path = tmp_path / block.title
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.text)
    spec = importlib.util.spec_from_file_location("docs_own_dag_test", tmp_path / test_file.title)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = [function for name, function in vars(module).items() if name.startswith("test_")]
    assert len(tests) == 1
    tests[0](monkeypatch)
