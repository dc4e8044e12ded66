"""The distributed tests' stack and what they read from it (shared by the test modules here).

`celery_stack` starts, on one S3 root, Celery workers (`emotion-assets worker cpu|gpu --name N`,
each with one worker process and its own scratch folder, as on separate machines) and `dagster
dev` (webserver + daemon) with EMOTION_EXECUTOR=celery, on a Dagster instance in PostgreSQL.
Where each step ran comes from the run's own event log: dagster_celery's "Executing steps ... in
celery worker" event names the worker, and every event carries the process id that wrote it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import psutil
import pytest
from dagster import DagsterEventType, DagsterInstance

from emotion_assets.contracts import TABLE_KEYS
from emotion_assets.deployment.celery_workers import celery_app, listening_queues, worker_env
from emotion_assets.deployment.instance import postgres_env, write_instance
from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets.settings import ExecutionSettings, StorageSettings
from emotion_assets.storage import Storage, pull
from emotion_assets.warehouse.lake import SCORE_BITS_DROPPED
from emotion_assets.warehouse.tables import days_by_table, read_days
from emotion_assets_tests.conftest import REPO, dagster_env
from emotion_assets_tests.storage.conftest import s3_settings
from emotion_assets_tests.ui.conftest import (
    ASSET_JOB,
    BIN,
    LOCATION,
    REPOSITORY,
    DagsterUI,
    _wait_until_loaded,
    start_dagster_dev,
)

# The model step's work units (one step each, on the GPU queue) and the op that publishes them.
MODEL_STEP = "emotion_model_outputs.score_model_unit["
PUBLISH_STEP = "emotion_model_outputs.publish_model_scores"
MODEL_POOL = "emotion_model"  # the model steps' pool (defs/emotion/assets.py)
EXECUTING = "Executing steps "  # dagster_celery's event in the worker, before the step runs

LAUNCH_RUN = """mutation($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) { __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message } ... on RunConfigValidationInvalid { errors { message } } } }"""


def is_model_step(step: str | None) -> bool:
    return bool(step) and step.startswith(MODEL_STEP)


@dataclass
class Stack:
    ui: DagsterUI
    workers: dict[str, subprocess.Popen]  # by worker name (and "dagster dev")
    settings: ExecutionSettings
    storage: Storage  # the S3 root every process of the stack shares

    def instance(self) -> DagsterInstance:
        os.environ.update({k: v for k, v in self.ui.env.items() if k.startswith("DAGSTER_PG_")})
        return DagsterInstance.from_config(str(self.ui.home))


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for_named_workers(settings: ExecutionSettings, names: set[str], timeout_s: float) -> None:
    """Until a worker of each name (`name@host`) listens on the broker."""
    app = celery_app(settings)
    deadline = time.monotonic() + timeout_s
    while True:
        listening = {worker.split("@")[0] for worker in listening_queues(app)}
        if names <= listening:
            return
        assert time.monotonic() < deadline, f"workers not listening: {names - listening}"
        time.sleep(1)


@contextmanager
def celery_stack(
    root: Path,
    model_dir: Path,
    redis_server,
    postgres_server,
    s3_server,
    workers: dict[str, str],
    **extra_env: str,
) -> Iterator[Stack]:
    """The stack with one Celery worker per `workers` entry (name -> "cpu" or "gpu")."""
    home, data_dir = root / "dagster_home", root / "data"
    (data_dir / "raw").mkdir(parents=True)
    write_instance(home, postgres=True)
    database = postgres_server.create_database(f"celery_{uuid.uuid4().hex[:8]}")
    settings = ExecutionSettings(
        executor="celery", celery_broker=redis_server.url(1), celery_worker_wait_s=60
    )
    env = dagster_env(
        home,
        data_dir,
        model_dir,
        **postgres_env(database),
        EMOTION_EXECUTOR=settings.executor,
        EMOTION_CELERY_BROKER=settings.celery_broker,
        EMOTION_CELERY_WORKER_WAIT_S=f"{settings.celery_worker_wait_s:g}",
        **extra_env,
    )
    # Shared storage: the S3 server. EMOTION_DATA_DIR is only local scratch, and each worker gets
    # its own (as on separate machines): steps hand each other their outputs through S3 alone.
    bucket = f"celery-{uuid.uuid4().hex[:8]}"
    s3_server.create_bucket(bucket)
    env.update(s3_server.env(), EMOTION_STORAGE_URL=f"s3://{bucket}/emotion")
    storage = Storage.from_settings(s3_settings(s3_server, env["EMOTION_STORAGE_URL"]))
    dagster = str(BIN / "dagster")
    subprocess.run([dagster, "instance", "migrate"], env=env, check=True, capture_output=True)
    gpus = sum(kind == "gpu" for kind in workers.values())
    # As docs/deploy.md says for a deployment: the model pool's limit is the number of GPU
    # worker processes (the shipped default, 1, runs one model step at a time anywhere).
    subprocess.run(
        [dagster, "instance", "concurrency", "set", MODEL_POOL, str(max(gpus, 1))],
        env=env,
        check=True,
        capture_output=True,
    )
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, kind in workers.items():
            with (root / f"worker-{name}.log").open("wb") as out:
                procs[name] = subprocess.Popen(
                    [str(BIN / "python"), "-m", "emotion_assets.cli", "worker", kind]
                    + ["--name", name],
                    cwd=REPO,
                    env=worker_env({**env, "EMOTION_DATA_DIR": str(root / f"scratch-{name}")}),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        procs["dagster dev"], ui = start_dagster_dev(root, home, data_dir, env)
        # Workers and `dagster dev` start side by side (each imports Dagster: ~1 min here).
        _wait_for_named_workers(settings, set(workers), timeout_s=300)
        _wait_until_loaded(ui, procs["dagster dev"], timeout=240)
        yield Stack(ui, procs, settings, storage)
    finally:
        for proc in procs.values():
            stop(proc)


def _asset_keys(ui: DagsterUI, groups: set[str]) -> list[dict]:
    nodes = ui.graphql("{ assetNodes { groupName assetKey { path } } }")["assetNodes"]
    return [{"path": n["assetKey"]["path"]} for n in nodes if n["groupName"] in groups]


def launch(
    ui: DagsterUI, day: str, run_config: dict | None = None, groups: set[str] | None = None
) -> str:
    """One day, as the UI's Materialize does: every asset and check, or the groups' assets."""
    selection = ui.asset_keys() if groups is None else _asset_keys(ui, groups)
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "pipelineName": ASSET_JOB,
            "assetSelection": selection,
            "assetCheckSelection": ui.asset_checks() if groups is None else [],
        },
        "runConfigData": run_config or {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day}]},
        "mode": "default",
    }
    result = ui.graphql(LAUNCH_RUN, {"params": params})["launchPipelineExecution"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def workers_of_steps(instance: DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step key, Celery worker name) for every step execution a worker began."""
    found = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        if EXECUTING in (event.message or ""):
            found.append(
                (event.step_key, event.event_specific_data.metadata["Celery worker"].value)
            )
    return found


def step_starts(instance: DagsterInstance, run_id: str) -> list[tuple[str, int]]:
    """(step key, pid of the process that started it) for every step start of the run."""
    events = instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    return [(e.dagster_event.step_key, e.dagster_event.pid) for e in events]


def run_pid(instance: DagsterInstance, run_id: str) -> int:
    """The pid of the run's own process (the run worker that hands steps to Celery)."""
    return next(
        e.dagster_event.pid for e in instance.all_logs(run_id, of_type=DagsterEventType.RUN_START)
    )


def descendants(proc: subprocess.Popen) -> set[int]:
    return {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}


def drop(storage: Storage, day: str, *files: Path) -> None:
    """Recordings dropped under raw/<day>/ of the root, as the call centre does."""
    for src in files:
        storage.put_file(f"raw/{day}/{src.name}", src)


def day_tables(storage: Storage, day: str) -> list[str]:
    """The tables that hold a partition of the day on the root."""
    return sorted(t for t, days in days_by_table(storage).items() if day in days)


def table(storage: Storage, name: str, day: str) -> pl.DataFrame:
    df = read_days(storage, name, [day])
    assert df is not None, f"{name} has no partition {day} in {storage.uri('lake')}"
    return df


def counts(storage: Storage, day: str) -> dict[str, int]:
    return {name: table(storage, name, day).height for name in day_tables(storage, day)}


def assert_unique_keys(storage: Storage, day: str) -> None:
    for name in day_tables(storage, day):
        df = table(storage, name, day)
        keys = [k for k in TABLE_KEYS.get(name, ()) if k in df.columns]
        if keys and df.height:
            assert not df.select(keys).is_duplicated().any(), f"{name}: duplicated rows"


def assert_equals_in_process(
    stack: Stack, days: list[str], local: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> float:
    """The days run in-process on local storage (the default), on a copy of the bucket's raw/,
    give the same tables as the stack did: row counts of every table, frame scores within 1e-6.
    Returns the in-process seconds."""
    from emotion_assets.defs.in_process import run_day

    pull(stack.storage, "raw", local)
    local_storage = Storage.from_settings(StorageSettings(data_dir=local))
    monkeypatch.delenv("EMOTION_STORAGE_URL", raising=False)
    monkeypatch.setenv("EMOTION_DATA_DIR", str(local))
    monkeypatch.setenv("EMOTION_MODEL", stack.ui.env["EMOTION_MODEL"])
    monkeypatch.setenv("EMOTION_THREADS", "1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    local_s = 0.0
    for day in days:
        started = time.monotonic()
        run_day(local, day, instance=DagsterInstance.ephemeral())
        local_s += time.monotonic() - started
        assert counts(stack.storage, day) == counts(local_storage, day), day
        keys = ["recording_id", "track", "frame_idx"]
        expected = table(local_storage, "frame_emotion_scores", day).sort(keys)
        got = table(stack.storage, "frame_emotion_scores", day).sort(keys)
        assert got.select(keys).equals(expected.select(keys))
        diff = (got.select(EMOTIONS) - expected.select(EMOTIONS)).select(
            pl.max_horizontal(pl.all().abs())
        )
        # the lake stores scores rounded to 16 significant bits (warehouse/lake.py): two runs
        # 1e-6 apart may round to neighbouring steps, 2**-16 apart at most for scores < 1
        assert diff.max().item() <= 1e-6 + 2.0 ** -(24 - SCORE_BITS_DROPPED)
    return local_s
