"""The Debian servers the lab needs (PostgreSQL, Redis): found where Debian installs them, installed if not.

CI runs as root on a fresh Debian 12 machine, so a missing server is installed with ``apt-get`` (once: a
present binary is never reinstalled). Without root the lab says what to install instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

POSTGRES_ROOT = Path("/usr/lib/postgresql")
PREFERRED_POSTGRES = "15"  # Debian 12's PostgreSQL


@dataclass(frozen=True)
class ServerBinaries:
    """Where the PostgreSQL tools and ``redis-server`` are."""

    postgres_bin: Path
    redis_server: Path


def find_postgres_bin() -> Path | None:
    """Debian's PostgreSQL bin directory (15 if present, else the newest installed), or None."""
    preferred = POSTGRES_ROOT / PREFERRED_POSTGRES / "bin"
    if (preferred / "initdb").exists():
        return preferred
    found = sorted(
        (path.parent for path in POSTGRES_ROOT.glob("*/bin/initdb")),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def find_redis_server() -> Path | None:
    """``redis-server`` on PATH or in Debian's location, or None."""
    found = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin")
    return Path(found) if found else None


def missing_packages() -> list[str]:
    """Debian packages to install for the binaries that are not there."""
    missing = []
    if find_postgres_bin() is None:
        missing.append("postgresql")
    if find_redis_server() is None:
        missing.append("redis-server")
    return missing


def apt_install(packages: list[str]) -> None:
    """Install Debian packages with apt-get (root only); without root, say what to install."""
    if os.geteuid() != 0:
        raise RuntimeError(f"missing {' and '.join(packages)}: run `apt-get install -y {' '.join(packages)}`")
    print(f"Installing {' '.join(packages)} with apt-get ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], env=env, check=True)


def ensure_postgres_bin() -> Path:
    """Debian's PostgreSQL bin directory, installed first when missing (the tests' PostgreSQL needs no
    Redis)."""
    if find_postgres_bin() is None:
        apt_install(["postgresql"])
    postgres_bin = find_postgres_bin()
    if postgres_bin is None:
        raise RuntimeError("PostgreSQL is still missing after apt-get install")
    return postgres_bin


def ensure_server_binaries() -> ServerBinaries:
    """Install what is missing with apt-get (root only), then return where the binaries are."""
    missing = missing_packages()
    if missing:
        apt_install(missing)
    postgres_bin, redis_server = find_postgres_bin(), find_redis_server()
    if postgres_bin is None or redis_server is None:
        raise RuntimeError("PostgreSQL or redis-server is still missing after apt-get install")
    return ServerBinaries(postgres_bin, redis_server)
