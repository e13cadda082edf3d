"""The documentation's pages as the tests read them: fenced code blocks with the marker on the line before
each (``<!-- check: commands -->``, ``<!-- needs: a HubSpot account -->``), and the tables under a heading."""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>```+)(?P<info>.*)$")
MARKER = re.compile(r"^\s*<!-- (?P<kind>check|needs): (?P<what>.+?) -->\s*$")
TITLE = re.compile(r'title="(?P<title>[^"]+)"')
HEADING = re.compile(r"^#+ ")


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is, its marker (``check``/``needs`` and what), language and title."""

    page: str
    line: int
    kind: str | None
    what: str | None
    language: str
    title: str | None
    text: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def file_name(self) -> str | None:
        """The file a titled block is (``~/shop/sql/orders.sql`` -> ``orders.sql``)."""
        return Path(self.title).name if self.title else None


def pages(*folders: str) -> list[Path]:
    """The Markdown pages under ``docs/<folder>`` (every page when no folder is named)."""
    roots = [DOCS / folder for folder in folders] or [DOCS]
    return sorted(path for root in roots for path in root.rglob("*.md") if "_hooks" not in path.parts)


def blocks(path: Path) -> list[Block]:
    """Every fenced code block of a page, with the marker of the line before it (if any)."""
    lines = path.read_text().splitlines()
    found, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next(
            i
            for i in range(index + 1, len(lines))
            if lines[i].strip() == opening["ticks"] and lines[i].startswith(opening["indent"])
        )
        info = opening["info"].strip()
        marker = MARKER.match(lines[index - 1]) if index else None
        title = TITLE.search(info)
        found.append(
            Block(
                page=str(path.relative_to(DOCS)) if DOCS in path.parents else path.name,
                line=index + 1,
                kind=marker["kind"] if marker else None,
                what=marker["what"] if marker else None,
                language=info.split()[0] if info else "",
                title=title["title"] if title else None,
                text=textwrap.dedent("\n".join(lines[index + 1 : end])),
            )
        )
        index = end + 1
    return found


def marked(what: str, *folders: str) -> list[Block]:
    """Every block marked ``<!-- check: <what> -->`` on the pages under ``folders`` (every page and the
    README when none)."""
    paths = pages(*folders) if folders else [*pages(), ROOT / "README.md"]
    return [block for path in paths for block in blocks(path) if block.what == what]


def shell_commands(text: str) -> list[list[str]]:
    """The commands of a shell block as argument lists: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [argv for line in joined.splitlines() if (argv := shlex.split(line, comments=True))]


def section(path: Path, heading: str) -> str:
    """The text under ``heading`` (a line ``## heading``) up to the next heading."""
    lines = path.read_text().splitlines()
    start = next(
        i for i, line in enumerate(lines) if HEADING.match(line) and line.split(" ", 1)[1] == heading
    )
    end = next((i for i in range(start + 1, len(lines)) if HEADING.match(lines[i])), len(lines))
    return "\n".join(lines[start + 1 : end])


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the first Markdown table in ``text``, each a list of its cells."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[2:]]


def first_column_names(path: Path, heading: str) -> list[str]:
    """The backticked names that open each row of the table under ``heading`` (``| `dry_run` | ...``)."""
    return [
        name
        for row in table_rows(section(path, heading))
        for name in re.findall(r"`([^`]+)`", row[0].split("(")[0])
    ]
