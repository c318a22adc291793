"""The outside programs the deploy tests drive (nginx, systemd-analyze, redis-server, initdb),
found or installed, never silently missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

# Where Debian keeps PostgreSQL's server programs, when they are not on PATH.
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def require_tool(name: str, package: str) -> str:
    """The program's path; installed with apt-get when missing and possible, else a failure
    that says what to install (a skipped check would pass for a checked one)."""
    found = shutil.which(name) or _in_pg_bin(name)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", package],  # noqa: S607
            check=False,
            capture_output=True,
            timeout=600,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which(name) or _in_pg_bin(name)
        if found:
            return found
    raise AssertionError(
        f"`{name}` is needed by this test and could not be installed: "
        f"run `apt-get install -y {package}` (as root) and run the tests again"
    )


def _in_pg_bin(name: str) -> str | None:
    for folder in PG_BIN_DIRS:
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    return None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def self_signed_certificate(folder: Path, name: str = "hotline.example.org") -> tuple[Path, Path]:
    """A throwaway certificate and key made with openssl, for servers that insist on TLS."""
    openssl = require_tool("openssl", "openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subject = ["-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *subject],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key
