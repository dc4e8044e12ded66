"""The executor setting, the worker config and the checks before a Celery run (real Redis)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

from devstack.servers import free_port
from emotion_assets import cli
from emotion_assets.cli import worker as worker_command_line
from emotion_assets.deployment.celery_workers import (
    ExecutionSetupError,
    celery_config,
    wait_for_workers,
    worker_command,
    worker_config,
    worker_config_path,
)
from emotion_assets.settings import ExecutionSettings, SettingsError, load_settings
from emotion_assets_tests.conftest import code_location


def _job_executor_and_tags():
    job = code_location().resolve_implicit_global_asset_job_def()
    tags = {op.name: dict(op.tags) for op in job.graph.iterate_op_defs()}
    return job.executor_def, tags


def test_in_process_is_the_default_and_celery_is_one_setting(
    pipeline_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor, _ = _job_executor_and_tags()
    assert executor.name == "in_process"  # `make demo` needs no broker

    monkeypatch.setenv("EMOTION_EXECUTOR", "celery")
    monkeypatch.setenv("EMOTION_CELERY_GPU_QUEUE", "h200")
    executor, tags = _job_executor_and_tags()
    assert executor.name == "celery"
    # The model step's work units alone are routed to the GPU queue; every other step (the
    # units' planning and publishing included) has no queue tag and goes to Celery's default
    # queue, which the config makes the CPU queue.
    routed = {
        name: t["dagster-celery/queue"] for name, t in tags.items() if "dagster-celery/queue" in t
    }
    assert routed == {"score_model_unit": "h200"}
    assert len(tags) > 10


@pytest.mark.parametrize(
    ("variable", "value"),
    [("EMOTION_EXECUTOR", "dask"), ("EMOTION_CELERY_BROKER", "localhost:6379")],
)
def test_a_bad_execution_setting_is_one_sentence_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=rf"^{variable}=.* is not valid: [^\n]*\.$"):
        load_settings()


def test_workers_get_the_executors_broker_and_queues(tmp_path) -> None:
    settings = ExecutionSettings(
        celery_broker="redis://10.0.0.5:6379/2", celery_cpu_queue="cheap", celery_gpu_queue="a100"
    )
    config = worker_config(settings)["execution"]["config"]
    assert config["broker"] == config["backend"] == "redis://10.0.0.5:6379/2"
    assert config["config_source"] == celery_config(settings)
    assert config["config_source"]["task_default_queue"] == "cheap"
    path = tmp_path / "worker.yaml"
    path.write_text(yaml.safe_dump(worker_config(settings)))
    gpu = worker_command(settings, "gpu", path)
    assert gpu[gpu.index("-q") + 1] == "a100"
    assert gpu[gpu.index("--") + 1 :] == ["--concurrency=1"]  # Celery's own options after --
    # dagster-celery itself accepts the file (validated against celery_executor's schema).
    from dagster_celery.cli import get_validated_config

    assert get_validated_config(str(path))["broker"] == "redis://10.0.0.5:6379/2"


def test_the_worker_command_prints_its_config_from_the_settings() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emotion_assets.cli", "worker-config"],
        env={"EMOTION_CELERY_BROKER": "redis://127.0.0.1:1/0", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert yaml.safe_load(result.stdout)["execution"]["config"]["broker"] == "redis://127.0.0.1:1/0"


def test_a_worker_start_writes_one_private_config_file_and_leaves_nothing_behind(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    # the worker replaces its process with dagster-celery: record the command instead
    monkeypatch.setattr(
        worker_command_line.os, "execve", lambda path, argv, env: started.append(argv)
    )
    monkeypatch.setenv("EMOTION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EMOTION_CELERY_BROKER", "redis://:secret@127.0.0.1:1/0")
    for _ in range(2):  # a restarted worker rewrites the same file
        cli.main(["worker", "gpu"])
    config = worker_config_path(tmp_path, "gpu")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [config]
    assert config.stat().st_mode & 0o077 == 0  # the broker URL may carry a password
    assert yaml.safe_load(config.read_text())["execution"]["config"]["broker"].endswith("/0")
    assert all(str(config) in argv for argv in started) and len(started) == 2


def test_an_unreachable_broker_fails_in_one_sentence_quickly() -> None:
    broker = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = ExecutionSettings(executor="celery", celery_broker=broker)
    started = time.monotonic()
    with pytest.raises(ExecutionSetupError) as caught:
        wait_for_workers(settings, {"cpu", "gpu"}, timeout_s=60)
    message = str(caught.value)
    assert message.startswith(f"The Celery broker {broker} (EMOTION_CELERY_BROKER) is unreachable")
    assert message.count(". ") == 0 and message.endswith(".")
    assert time.monotonic() - started < 30  # not the 60 s worker wait, not Celery's retries


def test_no_worker_on_the_gpu_queue_times_out_naming_the_queue(redis_server) -> None:
    settings = ExecutionSettings(executor="celery", celery_broker=redis_server.url(3))
    with pytest.raises(ExecutionSetupError, match="No GPU worker is listening on queue `gpu`"):
        wait_for_workers(settings, {"gpu"}, timeout_s=2)


def test_a_process_loads_the_model_once_for_many_steps(pipeline_env) -> None:
    """What a long-lived worker process relies on: the second step reuses the first's engine."""
    from emotion_assets.engine.core import engines_loaded, load_engine

    resource = code_location().resources["emotion_model"]
    layout = code_location().resources["storage"].layout
    load_engine.cache_clear()
    before = engines_loaded()
    first, _ = resource.load(layout)
    second, _ = resource.load(layout)
    assert second is first
    assert engines_loaded() == before + 1
