"""A run worker killed mid-model-step must not block later runs (run monitoring, deploy/dagster.yaml).

Real processes, as `make ui` runs them: `dagster-daemon run` (run queue, sensors, run monitoring)
with the shipped instance config, runs launched with `dagster job launch` through the
QueuedRunCoordinator, executed by the code server's run workers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef

from emotion_assets_tests.conftest import copy_into_day

pytestmark = pytest.mark.slow  # a killed run, the run monitor and a rerun: ~3-5 min

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODEL_STEP = "emotion_model_outputs.score_model_unit["  # a work unit of the model step
POOL = "emotion_model"
DAY = "2024-06-03"
log = logging.getLogger(__name__)


def monitored_home(root: Path) -> Path:
    """DAGSTER_HOME with the shipped dagster.yaml, its monitoring intervals shortened for a test."""
    home = root / "dagster_home"
    home.mkdir(parents=True)
    config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    shipped = config["run_monitoring"]
    assert shipped["enabled"] is True and shipped["free_slots_after_run_end_seconds"] > 0
    config["run_monitoring"].update(poll_interval_seconds=1, free_slots_after_run_end_seconds=1)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def launch(env: dict[str, str], day: str) -> None:
    subprocess.run(
        [
            str(BIN / "dagster"),
            "job",
            "launch",
            "-w",
            "workspace.yaml",
            "-j",
            "emotion_pipeline",
            "--tags",
            json.dumps({"dagster/partition": day}),
        ],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


def wait_for(what: str, predicate, timeout_s: float, daemon: subprocess.Popen):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if daemon.poll() is not None:
            pytest.fail(f"dagster-daemon exited ({daemon.returncode}) while waiting for {what}")
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


def run_worker_pid(instance: DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid, from its 'Started process for run (pid: N).' engine event."""
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        message = record.dagster_event.message or ""
        if message.startswith("Started process for run (pid:"):
            return int(message.rsplit(":", 1)[1].strip(" ).\n"))
    return None


def model_step_started(instance: DagsterInstance, run_id: str) -> bool:
    return any(
        (record.step_key or "").startswith(MODEL_STEP)
        for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    )


def slots_taken(instance: DagsterInstance) -> int:
    return instance.event_log_storage.get_concurrency_info(POOL).active_slot_count


@pytest.mark.timeout(900)
def test_a_killed_run_is_failed_its_slot_freed_and_the_next_run_completes(
    tmp_path: Path, shared_audio: Path, tiny_model_dir: Path
) -> None:
    root = tmp_path / "data"
    # About 45 s of speech, so the model step (model load, then scoring) is still running when
    # its worker is killed.
    copy_into_day(
        root,
        DAY,
        shared_audio / "speech" / "two_speakers.wav",
        shared_audio / "speech" / "librispeech_198-209-0000.ogg",
    )
    home = monitored_home(tmp_path)
    env = dict(
        os.environ,
        EMOTION_DATA_DIR=str(root),
        EMOTION_MODEL=str(tiny_model_dir),
        EMOTION_THREADS="1",
        DAGSTER_HOME=str(home),
        GX_ANALYTICS_ENABLED="false",
    )
    subprocess.run(
        [str(BIN / "dagster"), "instance", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    daemon_log = (tmp_path / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        stdout=daemon_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    try:
        started = time.monotonic()
        launch(env, DAY)
        killed_id = wait_for(
            "the first run", lambda: next(iter(instance.get_run_ids()), None), 60, daemon
        )
        wait_for(
            "the model step to start",
            lambda: model_step_started(instance, killed_id),
            600,
            daemon,
        )
        pid = run_worker_pid(instance, killed_id)
        assert pid, "no 'Started process for run (pid: N)' event"
        assert slots_taken(instance) == 1
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        log.info("killed run worker %s of run %s", pid, killed_id)

        launch(env, DAY)
        new_id = wait_for(
            "the second run",
            lambda: next((r for r in instance.get_run_ids() if r != killed_id), None),
            60,
            daemon,
        )
        final = wait_for(
            "the second run to finish",
            lambda: (run := instance.get_run_by_id(new_id)) and run.is_finished and run,
            600,
            daemon,
        )
        log.info(
            "second run finished %.0f s after the kill (%.0f s after the first launch)",
            time.monotonic() - killed_at,
            time.monotonic() - started,
        )
        assert final.status == DagsterRunStatus.SUCCESS, (tmp_path / "daemon.log").read_text()[
            -3000:
        ]

        # The dead run is FAILURE, says why, and gave its pool slot back (without
        # free_slots_after_run_end_seconds the slot stays taken and the second run's model step
        # waits for it forever: the wait above times out).
        assert instance.get_run_by_id(killed_id).status == DagsterRunStatus.FAILURE
        events = instance.all_logs(killed_id, of_type=DagsterEventType.ENGINE_EVENT)
        why = [
            e.dagster_event.message for e in events if "SIGKILL" in (e.dagster_event.message or "")
        ]
        assert why, "no engine event says the run worker was killed"
        log.info("killed run: %s", why[0])
        assert slots_taken(instance) == 0
    finally:
        instance.dispose()
        os.killpg(daemon.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(timeout=60)
        # Its code server (same process group) may still wait for runs: none outlives the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGKILL)
        daemon_log.close()
