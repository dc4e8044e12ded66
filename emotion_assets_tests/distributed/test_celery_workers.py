"""Steps on real Celery workers, launched through Dagster's webserver + daemon (issue 14).

One stack per module: Redis, a Dagster instance on PostgreSQL, S3 storage (SeaweedFS: every
process reads and writes s3://<bucket>/emotion; the tests drop recordings under raw/<day>/ there
and read the tables back from lake/ there), one CPU-queue and one GPU-queue worker
(`emotion-assets worker cpu|gpu`, each with one worker process),
and `dagster dev` (webserver + daemon) with EMOTION_EXECUTOR=celery. Where each step ran comes
from the run's own event log: dagster_celery's "Executing steps ... in celery worker" event names
the worker, and every event carries the process id that wrote it.

The tests run in order: the kill test needs a GPU worker process that has not loaded the model
yet (so the model step lasts long enough to be killed in), the last test stops the GPU worker.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from dagster import DagsterEventType

from devstack.servers import free_port
from devstack.stack import print_places, where_steps_ran
from emotion_assets_tests.distributed.celery_stack import (
    PUBLISH_STEP,
    Stack,
    assert_equals_in_process,
    assert_unique_keys,
    celery_stack,
    counts,
    descendants,
    drop,
    is_model_step,
    launch,
    run_pid,
    step_starts,
    stop,
    table,
    workers_of_steps,
)

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

CLIP = "speech/librispeech_198-209-0000.ogg"
OTHER_CLIP = "speech/librispeech_3436-172162-0000.ogg"
LONG = "speech/two_speakers.wav"  # 30 s: the first model step in a worker takes a while
UP_TO_THE_MODEL = {"ingest", "emotion"}  # the kill test's runs: no analytics, no checks

LAUNCH_BACKFILL = """mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) { __typename
    ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_model_dir: Path,
    redis_server,
    postgres_server,
    s3_server,
) -> Iterator[Stack]:
    with celery_stack(
        tmp_path_factory.mktemp("celery"),
        tiny_model_dir,
        redis_server,
        postgres_server,
        s3_server,
        {"cpu": "cpu", "gpu": "gpu"},
    ) as running:
        yield running


def test_a_worker_process_killed_in_the_model_step_is_replaced_and_the_step_runs_again(
    stack: Stack, shared_audio: Path, capsys: pytest.CaptureFixture
) -> None:
    day = "2024-07-01"
    drop(stack.storage, day, shared_audio / LONG, shared_audio / CLIP)
    run_id = launch(stack.ui, day, groups=UP_TO_THE_MODEL)
    instance = stack.instance()
    deadline = time.monotonic() + 300
    victim = None
    while victim is None and time.monotonic() < deadline:
        started = [pid for step, pid in step_starts(instance, run_id) if is_model_step(step)]
        if started:
            victim = started[0]
            assert victim in descendants(stack.workers["gpu"])
            os.kill(victim, signal.SIGKILL)  # the worker process running the model step
            break
        assert stack.ui.run(run_id)["status"] not in ("SUCCESS", "FAILURE"), stack.ui.tail()
        time.sleep(0.1)
    assert victim, "the model step never started on a worker"

    run = stack.ui.wait_for_run(run_id, timeout=400)
    assert run["status"] == "SUCCESS", stack.ui.tail()
    # The broker handed the step back (acks_late + reject_on_worker_lost): it ran again in
    # the GPU worker's new process, and the run went on.
    again = [pid for step, pid in step_starts(instance, run_id) if is_model_step(step)]
    assert again[0] == victim and len(set(again)) == 2, again
    assert again[-1] in descendants(stack.workers["gpu"]) and not psutil.pid_exists(victim)
    workers = [name for step, name in workers_of_steps(instance, run_id) if is_model_step(step)]
    assert len(workers) == 2 and all(name.startswith("gpu@") for name in workers), workers
    # `make stack`'s summary of this run says so (it read the same event log).
    print_places(*where_steps_ran(instance, run_id))
    summary = capsys.readouterr().out
    assert f"redelivered: its start on {workers[0]} pid {victim} died" in summary, summary
    model_step = next(step for step, _ in step_starts(instance, run_id) if is_model_step(step))
    assert f"1 step(s) redelivered after a worker process died: {model_step}" in summary
    frames = table(stack.storage, "frame_emotion_scores", day)
    rows = counts(stack.storage, day)
    assert_unique_keys(stack.storage, day)

    # A re-run of the day: the same rows, nothing duplicated or lost.
    rerun = stack.ui.wait_for_run(launch(stack.ui, day, groups=UP_TO_THE_MODEL), timeout=400)
    assert rerun["status"] == "SUCCESS", stack.ui.tail()
    assert counts(stack.storage, day) == rows
    assert_unique_keys(stack.storage, day)
    assert table(stack.storage, "frame_emotion_scores", day).equals(frames)
    assert frames["recording_id"].n_unique() == 2


def test_a_two_day_backfill_runs_every_step_on_workers_and_equals_an_in_process_run(
    stack: Stack, shared_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = ["2024-07-02", "2024-07-03"]
    drop(stack.storage, days[0], shared_audio / CLIP)
    drop(stack.storage, days[1], shared_audio / CLIP, shared_audio / OTHER_CLIP)
    params = {
        "assetSelection": stack.ui.asset_keys(),
        "partitionNames": days,
        "fromFailure": False,
        "tags": [],
    }
    result = stack.ui.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    backfill_id = result["backfillId"]
    instance = stack.instance()
    deadline = time.monotonic() + 500
    while time.monotonic() < deadline:
        backfill = instance.get_backfill(backfill_id)
        if backfill.status.value != "REQUESTED":
            break
        time.sleep(2)
    assert backfill.status.value == "COMPLETED_SUCCESS", stack.ui.tail()

    runs = instance.get_runs()
    runs = [r for r in runs if r.tags.get("dagster/backfill") == backfill_id]
    assert sorted(r.tags["dagster/partition"] for r in runs) == days
    worker_pids = {kind: descendants(stack.workers[kind]) for kind in ("cpu", "gpu")}
    model_steps = []
    for run in runs:
        assert run.status.value == "SUCCESS"
        own_pid = run_pid(instance, run.run_id)
        started: dict[str, set[int]] = {}
        for step, pid in step_starts(instance, run.run_id):
            started.setdefault(step, set()).add(pid)
        executed: dict[str, set[str]] = {}
        for step, name in workers_of_steps(instance, run.run_id):
            executed.setdefault(step, set()).add(name.split("@")[0])
        assert len(started) > 10 and set(started) == set(executed)
        for step, pids in started.items():
            kind = "gpu" if is_model_step(step) else "cpu"
            # The step ran in a process of its queue's worker, not in the run's process.
            assert executed[step] == {kind}, (step, executed[step])
            assert own_pid not in pids and pids <= worker_pids[kind], (step, pids, own_pid)
        model_steps += [
            pid for step, pids in started.items() if is_model_step(step) for pid in pids
        ]

    # Both model steps ran in one GPU worker process, which loaded the model at most once.
    assert len(set(model_steps)) == 1
    loads = [
        entry.dagster_event.step_materialization_data.materialization.metadata[
            "model_loaded_in_this_step"
        ].value
        for run in runs
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        if entry.step_key == PUBLISH_STEP
    ]
    assert len(loads) == 4 and sum(loads) <= 2, loads  # two outputs per step

    # The same days in-process on local storage (the default), on a copy of the bucket's raw/.
    local_s = assert_equals_in_process(stack, days, tmp_path / "local", monkeypatch)
    # Measured, not asserted: Celery pays per step (a task, the plan rebuilt in the worker,
    # events over the broker); five agents share two cores here.
    celery_s = sum(
        (r.end_time or 0) - (r.start_time or 0)
        for r in instance.get_run_records()
        if r.dagster_run.run_id in {run.run_id for run in runs}
    )
    log.warning(
        "two days: Celery runs %.1f s (run-seconds, the days side by side), in-process %.1f s",
        celery_s,
        local_s,
    )


def test_bad_configuration_fails_the_run_in_one_sentence(stack: Stack, shared_audio: Path) -> None:
    day = "2024-07-04"
    drop(stack.storage, day, shared_audio / CLIP)
    instance = stack.instance()

    def failure_text(run_id: str) -> str:
        run = stack.ui.wait_for_run(run_id, timeout=180)
        assert run["status"] == "FAILURE", stack.ui.tail()
        return " ".join(e.message or "" for e in instance.all_logs(run_id))

    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    config = {"execution": {"config": {"broker": dead_broker}}}
    said = failure_text(launch(stack.ui, day, config, UP_TO_THE_MODEL))
    assert f"The Celery broker {dead_broker} (EMOTION_CELERY_BROKER) is unreachable" in said

    stop(stack.workers["gpu"])  # no GPU machine is up
    config = {"execution": {"config": {"worker_wait_s": 3.0}}}
    run_id = launch(stack.ui, day, config, UP_TO_THE_MODEL)
    said = failure_text(run_id)
    assert "No GPU worker is listening on queue `gpu`" in said
    assert not workers_of_steps(instance, run_id) and not step_starts(instance, run_id)  # none sent
