"""The systemd units in deploy/: systemd itself accepts them, and the gateway template keeps
the single-process unit's hardening."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.scripts import DEPLOY
from tests.deploy.tools import require_tool

UNITS = [
    "hotline.service",
    "hotline@.service",
    "hotline.target",
    "hotline-backup.service",
    "hotline-backup.timer",
]
# The programs the units start, as installed by deploy/README.md.
EXECUTABLES = ["/opt/hotline/.venv/bin/hotline", "/opt/hotline/deploy/backup"]


def _unit(name: str) -> dict[str, list[tuple[str, str]]]:
    """A unit file's sections and their key=value lines, in order (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in (DEPLOY / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{name}: {line!r} before any [section]"
        key, sep, value = line.partition("=")
        assert sep, f"{name}: {line!r} is not key=value"
        current.append((key.strip(), value.strip()))
    return sections


def _systemd_units_dir() -> Path:
    for candidate in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if (candidate / "multi-user.target").exists():
            return candidate
    raise AssertionError("no systemd unit directory with multi-user.target to verify against")


def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify` in a root of their own (the units, systemd's own units, the
    programs they start) prints no warning at all, for two instances of the template too."""
    analyze = require_tool("systemd-analyze", "systemd")
    root = tmp_path / "root"
    shutil.copytree(_systemd_units_dir(), root / "usr/lib/systemd/system", symlinks=True)
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    for name in UNITS:
        shutil.copy(DEPLOY / name, units / name)
    for program in EXECUTABLES:
        stub = root / program.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    names = [n for n in UNITS if n != "hotline@.service"] + [
        "hotline@8081.service",
        "hotline@8082.service",
    ]
    ran = subprocess.run(
        [analyze, "verify", f"--root={root}", *names],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stderr.strip() == "", ran.stderr  # unknown keys and bad values are only warnings


def test_the_gateway_template_keeps_the_single_process_hardening() -> None:
    """Every [Service] line of hotline.service is in hotline@.service; the port comes from the
    instance name, and a configuration error (exit 2) is not restarted."""
    single = _unit("hotline.service")["Service"]
    template = _unit("hotline@.service")
    missing = [line for line in single if line not in template["Service"]]
    assert not missing, f"hotline@.service lacks {missing}"
    assert ("Environment", "HOTLINE_SERVER__PORT=%i") in template["Service"]
    assert ("RestartPreventExitStatus", "2") in template["Service"]
    assert ("WantedBy", "hotline.target") in template["Install"]
    assert ("PartOf", "hotline.target") in template["Unit"]


@pytest.mark.parametrize("name", UNITS)
def test_every_unit_has_its_sections(name: str) -> None:
    """The sections systemd needs for each kind of unit, with what makes it do anything."""
    sections = _unit(name)
    kind = name.rsplit(".", 1)[1]
    assert "Unit" in sections and ("Description" in dict(sections["Unit"]))
    if kind == "service":
        service = dict(sections["Service"])
        assert service["ExecStart"].startswith("/opt/hotline/")
        assert service["User"] == "hotline"
        assert service["NoNewPrivileges"] == "true"
    if kind == "timer":
        assert "OnCalendar" in dict(sections["Timer"])
    if name != "hotline-backup.service":  # started by its timer, not enabled itself
        assert "Install" in sections
