"""Running the pipeline the way users do: `dagster asset materialize` in its own process."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl

REPO = Path(__file__).resolve().parents[2]
DAGSTER = Path(sys.executable).with_name("dagster")


def instance_home(root: Path) -> Path:
    """A DAGSTER_HOME inside the data dir with the project's instance config (pool limits)."""
    home = root / "dagster_home"
    if (home / "dagster.yaml").exists():
        return home
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    # Create the SQLite storage once, as `make setup` does: runs started together must not race
    # to create it.
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        instance.get_runs_count()
    return home


def materialize_cmd(day: str) -> list[str]:
    """The documented command line (README, Operations) for one day."""
    return [
        str(DAGSTER),
        "job",
        "execute",
        "-m",
        "emotion_assets.definitions",
        "-j",
        "emotion_pipeline",
        "--tags",
        json.dumps({"dagster/partition": day}),
    ]


def pipeline_env(root: Path, model_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        EMOTION_DATA_DIR=str(root),
        EMOTION_MODEL=str(model_dir),
        EMOTION_THREADS="1",
        DAGSTER_HOME=str(instance_home(root)),
        GX_ANALYTICS_ENABLED="false",
    )
    return env


def start_materialize(root: Path, model_dir: Path, day: str, log: Path) -> subprocess.Popen:
    handle = open(log, "wb")  # noqa: SIM115 - closed by the caller via the process's lifetime
    return subprocess.Popen(
        materialize_cmd(day),
        cwd=REPO,
        env=pipeline_env(root, model_dir),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.is_symlink()
    }


def read_view(root: Path, sql: str, params: list | None = None) -> pl.DataFrame:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(sql, params=params or None).pl()
    finally:
        con.close()


def view_counts(root: Path, day: str) -> dict[str, int]:
    names = read_view(root, "SELECT view_name FROM duckdb_views() WHERE NOT internal")["view_name"]
    return {
        n: read_view(root, f'SELECT count(*) AS n FROM "{n}" WHERE recording_date = ?', [day])["n"][
            0
        ]
        for n in names
    }
