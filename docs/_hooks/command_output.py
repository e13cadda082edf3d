"""MkDocs hook: a page's ``<!-- command-output: hubspot-commerce --help -->`` becomes that command's output,
captured while the site is built, so the command-line reference shows what the installed commands print.

Only the package's own commands run (found beside the Python that runs MkDocs), all at once before the
pages are read (each imports Airflow: seconds apiece); one that fails fails the build.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

MARKER = re.compile(r"^<!-- command-output: (?P<command>.+?) -->$", re.MULTILINE)
COMMANDS = ("hubspot-commerce", "hubspot-sandbox")
WIDTH = "100"  # argparse wraps help to $COLUMNS: the same width on every machine
OUTPUTS: dict[str, str] = {}


def command_output(command: str) -> str:
    """What ``command`` prints (stdout and stderr); a command not ours, or one that fails, is an error."""
    argv = shlex.split(command)
    if argv[0] not in COMMANDS:
        raise ValueError(f"command-output runs only {', '.join(COMMANDS)}, not {argv[0]!r}")
    executable = Path(sys.executable).with_name(argv[0])
    result = subprocess.run(
        [str(executable), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": WIDTH},
    )
    if result.returncode != 0:
        raise RuntimeError(f"`{command}` exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def on_pre_build(config: Any, **kwargs: Any) -> None:
    """Run every command the pages name, side by side, once per build."""
    pages = Path(config["docs_dir"]).rglob("*.md")
    commands = sorted({match["command"] for page in pages for match in MARKER.finditer(page.read_text())})
    with ThreadPoolExecutor(max_workers=max(1, len(commands))) as pool:
        OUTPUTS.update(zip(commands, pool.map(command_output, commands), strict=True))


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replace every marker with a text block: the command, then its output."""
    return MARKER.sub(
        lambda match: f"```text\n$ {match['command']}\n{OUTPUTS[match['command']].rstrip()}\n```", markdown
    )
