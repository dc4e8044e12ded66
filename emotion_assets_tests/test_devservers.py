"""The real servers the distributed tests and `make stack` start: each answers, and each is gone
after its context ends (nothing left listening, nothing left running)."""

from __future__ import annotations

import socket

import pytest

from emotion_assets import devservers


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


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
