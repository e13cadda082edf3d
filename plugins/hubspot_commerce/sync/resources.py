"""Where SQL and mapping files are: ``include/`` in a checkout, ``hubspot_commerce/include`` in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def include_path(*parts: str) -> Path:
    """A path under the project's ``include/`` directory, wherever the package is installed from."""
    for root in (_PACKAGE / "include", _PACKAGE.parents[1] / "include"):
        if root.is_dir():
            return root.joinpath(*parts)
    raise FileNotFoundError(f"no include/ directory next to {_PACKAGE}")
