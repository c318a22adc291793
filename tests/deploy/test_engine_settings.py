"""deploy/redis.conf and deploy/postgresql.conf + pg_hba.conf, loaded by the real servers:
they start with them, report the durability settings, and Redis keeps a write through a
SIGKILL."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.deploy.scripts import DEPLOY
from tests.deploy.tools import free_port, require_tool, self_signed_certificate


@contextlib.contextmanager
def _redis_server(conf: Path, port: int, password: str) -> Iterator[subprocess.Popen[bytes]]:
    """redis-server on `conf`, answering, until the block ends (or the test kills it)."""
    server = require_tool("redis-server", "redis-server")
    log = conf.with_suffix(".log")
    client = redis.Redis(port=port, password=password)
    with log.open("ab") as output:
        process = subprocess.Popen([server, str(conf)], stdout=output, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                if client.ping():
                    break
            if process.poll() is not None:
                raise AssertionError(f"redis-server refused deploy/redis.conf:\n{log.read_text()}")
            time.sleep(0.1)
        else:
            raise AssertionError(f"redis-server did not answer:\n{log.read_text()}")
        yield process
    finally:
        client.close()
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def test_redis_survives_a_kill_and_never_evicts(tmp_path: Path) -> None:
    """Redis starts with the shipped file (plus the operator's port, folder and password):
    AOF fsynced every second, noeviction, a password; keys written before a SIGKILL of Redis
    (not of the machine: the kernel still holds what Redis wrote) are all there after the
    restart, and at the memory limit writes fail rather than evict."""
    port, password = free_port(), secrets.token_urlsafe(24)
    conf = tmp_path / "redis.conf"
    # As deploy/redis.conf says: the shipped lines, then what each machine sets (later wins).
    conf.write_text(
        (DEPLOY / "redis.conf").read_text()
        + f"\nport {port}\ndir {tmp_path}\nrequirepass {password}\nmasterauth {password}\n"
        + "bind 127.0.0.1\n"
    )
    queue = [f"contact:{n}" for n in range(200)]
    with _redis_server(conf, port, password) as process:
        client = redis.Redis(port=port, password=password, decode_responses=True)
        settings = {
            name: client.config_get(name)[name]
            for name in ("appendonly", "appendfsync", "maxmemory-policy", "protected-mode")
        }
        assert settings == {
            "appendonly": "yes",
            "appendfsync": "everysec",
            "maxmemory-policy": "noeviction",
            "protected-mode": "yes",
        }
        stranger = redis.Redis(port=port)
        with pytest.raises(redis.AuthenticationError):
            stranger.ping()
        stranger.close()
        with pytest.raises(redis.ResponseError, match="unknown command"):
            client.flushall()
        client.rpush("hotline:queue", *queue)
        client.close()
        process.kill()  # no shutdown, no final save: only the append-only file remains
        process.wait(timeout=30)
    with _redis_server(conf, port, password):
        client = redis.Redis(port=port, password=password, decode_responses=True)
        assert client.lrange("hotline:queue", 0, -1) == queue
        client.config_set("maxmemory", "1")  # far below what is used: the limit is reached
        with pytest.raises(redis.ResponseError, match="used memory > 'maxmemory'"):
            client.set("hotline:presence:7", "available")
        assert client.llen("hotline:queue") == len(queue)  # nothing was evicted to make room
        client.close()


def _as_postgres(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program as the postgres user (the server refuses to run as root)."""
    if os.geteuid() == 0:
        args = [require_tool("runuser", "util-linux"), "-u", "postgres", "--", *args]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def pg_cluster_dir() -> Iterator[Path]:
    """A folder the postgres user owns (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


def test_postgresql_runs_with_the_shipped_settings_and_hba(pg_cluster_dir: Path) -> None:
    """A throwaway cluster started with deploy/postgresql.conf (in conf.d, as on Debian) and
    deploy/pg_hba.conf: no setting or rule is rejected, and the durability and replication
    settings are in force."""
    initdb = require_tool("initdb", "postgresql")
    pg_ctl = require_tool("pg_ctl", "postgresql")
    psql = require_tool("psql", "postgresql-client")
    data = pg_cluster_dir / "data"
    made = _as_postgres([initdb, "--data-checksums", "-D", str(data)])
    assert made.returncode == 0, made.stdout + made.stderr

    port = free_port()
    conf_d = data / "conf.d"
    conf_d.mkdir()
    shutil.copy(DEPLOY / "postgresql.conf", conf_d / "hotline.conf")
    # What differs on this test machine, read after hotline.conf (file names sort).
    (conf_d / "zz-test.conf").write_text(
        f"port = {port}\nunix_socket_directories = '{pg_cluster_dir}'\n"
        "listen_addresses = '127.0.0.1'\nshared_buffers = 128MB\n"
    )
    with (data / "postgresql.conf").open("a") as main:
        main.write("\ninclude_dir = 'conf.d'\n")
    shutil.copy(DEPLOY / "pg_hba.conf", data / "pg_hba.conf")
    cert, key = self_signed_certificate(pg_cluster_dir)
    shutil.copy(cert, data / "server.crt")
    shutil.copy(key, data / "server.key")
    for path in (conf_d, conf_d / "hotline.conf", conf_d / "zz-test.conf", data / "pg_hba.conf"):
        _own(path)
    for path in (data / "server.crt", data / "server.key"):
        _own(path)
        path.chmod(0o600)

    log = pg_cluster_dir / "server.log"
    started = _as_postgres([pg_ctl, "-D", str(data), "-l", str(log), "-w", "start"])
    try:
        assert started.returncode == 0, started.stderr + (log.read_text() if log.exists() else "")

        def query(sql: str) -> str:
            where = ["-h", str(pg_cluster_dir), "-p", str(port), "-d", "postgres"]
            ran = _as_postgres([psql, *where, "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql])
            assert ran.returncode == 0, ran.stderr
            return ran.stdout.strip()

        assert query("SELECT count(*) FROM pg_file_settings WHERE error IS NOT NULL") == "0"
        assert query("SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL") == "0"
        shipped_rules = [
            line
            for line in (DEPLOY / "pg_hba.conf").read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        assert query("SELECT count(*) FROM pg_hba_file_rules") == str(len(shipped_rules))
        expected = {
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "wal_level": "replica",
            "wal_log_hints": "on",
            "hot_standby": "on",
            "ssl": "on",
            "password_encryption": "scram-sha-256",
            "log_parameter_max_length": "0",
            "data_checksums": "on",
        }
        for name, value in expected.items():
            assert query(f"SHOW {name}") == value, name
    finally:
        _as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"])
