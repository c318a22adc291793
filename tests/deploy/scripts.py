"""Running deploy/backup and deploy/restore as an operator would: real processes, real files.

The scripts are bash; they find the hotline's Python and command through DEPLOY_PYTHON and
DEPLOY_HOTLINE, set here to the interpreter running the tests and its `hotline` script, so
the restore's `hotline audit verify` is this checkout's code.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import DEFAULT_CONFIG, ROOT

DEPLOY = ROOT / "deploy"
BACKUP = DEPLOY / "backup"
RESTORE = DEPLOY / "restore"


def hotline_command() -> str:
    """The `hotline` console script next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("hotline")
    if beside.exists():
        return str(beside)
    found = shutil.which("hotline")
    assert found, "no `hotline` command: install the package (pip install -e .) first"
    return found


def script_env(**extra: str) -> dict[str, str]:
    """A clean environment: no HOTLINE_* of the caller's leaks into the scripts."""
    bin_dir = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/"),
        "DEPLOY_PYTHON": sys.executable,
        "DEPLOY_HOTLINE": hotline_command(),
        "HOTLINE_CONFIG": str(DEFAULT_CONFIG),
    }
    env.update(extra)
    return env


@dataclass(frozen=True)
class Ran:
    """What a script run printed and how it ended."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


async def run_script(script: Path, *args: str | Path, env: dict[str, str] | None = None) -> Ran:
    """Run a deploy script without blocking the event loop, so the app keeps serving."""
    process = await asyncio.create_subprocess_exec(
        str(script),
        *map(str, args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env or script_env(),
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return Ran(process.returncode, stdout.decode(), stderr.decode())


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a SQLite file read with the standard library, beside whatever has it open."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [tuple(row) for row in conn.execute(sql)]
    finally:
        conn.close()


def backups_in(folder: Path, suffix: str = "sqlite3") -> list[Path]:
    """The finished backups in a folder, oldest first."""
    return sorted(folder.glob(f"hotline-*.{suffix}"))
