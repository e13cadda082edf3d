"""Where one DAG run keeps its intermediate files: source rows, validated rows, write inputs, rejected rows.

Tasks hand each other file paths under one run directory (the DataFrames and write inputs are too large for
XCom). With a distributed executor the work directory must be on storage every worker shares.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def run_directory(work_dir: str | Path, dag_id: str, run_id: str) -> Path:
    """The run's directory: ``<work_dir>/<dag_id>/<run_id>`` with the run id made safe for any filesystem."""
    return Path(work_dir) / dag_id / re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)


@dataclass(frozen=True)
class RunFiles:
    """The file layout of one run directory."""

    root: Path

    def source(self, stream: str) -> Path:
        return self.root / "source" / f"{stream}.pkl"

    def accepted(self, stream: str) -> Path:
        return self.root / "validated" / f"{stream}.pkl"

    def definitions(self, object_type: str) -> Path:
        return self.root / "properties" / f"{object_type}.json"

    def write_input(self, stream: str, action: str) -> Path:
        return self.root / stream / f"{action}.jsonl"

    def plan(self, stream: str) -> Path:
        return self.root / stream / "plan.json"

    def rejected(self, stream: str, stage: str) -> Path:
        """Rows of ``stream`` rejected at ``stage`` (``validate``: bad values or references; ``plan``: a
        referenced record has no HubSpot id)."""
        return self.root / stream / f"rejected-{stage}.jsonl"

    @property
    def all_rejected(self) -> Path:
        return self.root / "rejected.jsonl"

    @property
    def report(self) -> Path:
        return self.root / "report.txt"

    def remove_row_copies(self) -> None:
        """Delete the run's copies of source and validated rows (the bulk of its files) once it reported;
        the report, rejected rows and write inputs stay."""
        for directory in (self.root / "source", self.root / "validated"):
            shutil.rmtree(directory, ignore_errors=True)


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1, sort_keys=True))
    return path


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]], append: bool = False) -> Path:
    """JSON lines, one object per line (the operator's input format and the rejected-rows format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
