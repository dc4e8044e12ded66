"""The shared deployment's Dagster instance on PostgreSQL (deploy/postgres-storage.yaml):
a materialization launched from the CLI lands its run and events in PostgreSQL, not SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from emotion_assets.deployment.instance import postgres_env, write_instance
from emotion_assets_tests.conftest import REPO, copy_into_day

DAY = "2024-06-06"


def test_instance_yaml_from_the_deploy_files(tmp_path: Path) -> None:
    sqlite = write_instance(tmp_path / "a", postgres=False).read_text()
    shared = write_instance(tmp_path / "b", postgres=True).read_text()
    assert "postgres" not in sqlite.split("concurrency:")[0] + sqlite.split("run_monitoring:")[1]
    assert shared.startswith(sqlite.rstrip("\n"))  # the shared rules are the same file
    assert "scheme: postgresql+psycopg2" in shared  # SQLAlchemy 2.1 would pick psycopg 3


@pytest.mark.slow
def test_a_materialization_lands_in_postgres(
    data_dir: Path, shared_audio: Path, tmp_path: Path, postgres_url: str
) -> None:
    home = tmp_path / "dagster_home"
    write_instance(home, postgres=True)
    copy_into_day(data_dir, DAY, shared_audio / "speech" / "librispeech_198-209-0000.ogg")
    env = {**os.environ, **postgres_env(postgres_url), "DAGSTER_HOME": str(home)}
    env["EMOTION_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "asset", "materialize", "-m",
         "emotion_assets.definitions", "--select", "group:ingest", "--partition", DAY],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with psycopg2.connect(postgres_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT status FROM runs")
        assert cur.fetchall() == [("SUCCESS",)]
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
            "AND partition = %s AND asset_key LIKE '%%raw_recordings%%'",
            (DAY,),
        )
        assert cur.fetchone() == (1,)
    assert not list(home.rglob("*.db"))  # no SQLite run or event storage beside it
