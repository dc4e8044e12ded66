"""One day fans out over the worker pool (issue 27, item 1): a day of 40 recordings, launched as
the UI's Materialize does, on two CPU-queue and two GPU-queue Celery workers (separate processes,
one worker process each, tiny model, one torch thread), storage on the S3 server.

EMOTION_UNIT_AUDIO_HOURS is 16 s of audio, so the day's model step is five work units, one step
each. The run's event log says where each step ran: the units on both GPU workers, the CPU steps
(ingest, plan, publish, analytics, checks, reports) on both CPU workers, none in the run's own
process. The tables equal an in-process run of the day on local storage with the default unit
size (one unit): row counts of every table, frame scores within 1e-6.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf
from dagster import AssetKey

from devstack.stack import print_places, where_steps_ran
from emotion_assets_tests.clips import distinct_clips
from emotion_assets_tests.distributed.celery_stack import (
    PUBLISH_STEP,
    Stack,
    assert_equals_in_process,
    assert_unique_keys,
    celery_stack,
    descendants,
    drop,
    is_model_step,
    launch,
    run_pid,
    step_starts,
    table,
    workers_of_steps,
)

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

DAY = "2024-07-10"
RECORDINGS = 40
UNIT_AUDIO_S = 16  # eight 2 s recordings a unit: five units
WORKERS = {"cpu1": "cpu", "cpu2": "cpu", "gpu1": "gpu", "gpu2": "gpu"}


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_model_dir: Path,
    redis_server,
    postgres_server,
    s3_server,
) -> Iterator[Stack]:
    with celery_stack(
        tmp_path_factory.mktemp("fan_out"),
        tiny_model_dir,
        redis_server,
        postgres_server,
        s3_server,
        WORKERS,
        EMOTION_UNIT_AUDIO_HOURS=f"{UNIT_AUDIO_S / 3600!r}",
    ) as running:
        yield running


def test_a_day_spreads_over_two_cpu_and_two_gpu_workers_and_equals_an_in_process_run(
    stack: Stack,
    shared_audio: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    speech, rate = sf.read(shared_audio / "speech" / "librispeech_3436-172162-0000.ogg")
    drop(stack.storage, DAY, *distinct_clips(speech, rate, tmp_path / "made", RECORDINGS))
    started = time.monotonic()
    run_id = launch(stack.ui, DAY)
    run = stack.ui.wait_for_run(run_id, timeout=900)
    celery_s = time.monotonic() - started
    assert run["status"] == "SUCCESS", stack.ui.tail()
    instance = stack.instance()

    # Where each step ran: the worker that announced it, the process that started it.
    with capsys.disabled():
        print_places(*where_steps_ran(instance, run_id))
    worker_of: dict[str, set[str]] = {}
    for step, name in workers_of_steps(instance, run_id):
        worker_of.setdefault(step, set()).add(name.split("@")[0])
    pids_of: dict[str, set[int]] = {}
    for step, pid in step_starts(instance, run_id):
        pids_of.setdefault(step, set()).add(pid)
    assert set(worker_of) == set(pids_of)
    processes = {name: descendants(stack.workers[name]) for name in WORKERS}
    own_pid = run_pid(instance, run_id)
    for step, pids in pids_of.items():
        kind = "gpu" if is_model_step(step) else "cpu"
        assert {WORKERS[name] for name in worker_of[step]} == {kind}, (step, worker_of[step])
        # Each start ran in a process of a worker that announced the step, never in the run's.
        assert own_pid not in pids, (step, pids)
        assert pids <= set().union(*(processes[name] for name in worker_of[step])), step
    units = sorted(step for step in pids_of if is_model_step(step))
    used = Counter(name for step, names in worker_of.items() for name in names)
    assert {name for step in units for name in worker_of[step]} == {"gpu1", "gpu2"}, used
    cpu_steps = [step for step in worker_of if not is_model_step(step)]
    assert {name for step in cpu_steps for name in worker_of[step]} == {"cpu1", "cpu2"}, used

    # The publish step counted every track of the day as scored, in as many units as ran.
    tracks = table(stack.storage, "frame_emotion_scores", DAY).select("recording_id", "track")
    n_tracks = tracks.unique().height
    assert tracks["recording_id"].n_unique() == RECORDINGS
    event = instance.get_latest_materialization_event(AssetKey("frame_emotion_scores"))
    assert event.step_key == PUBLISH_STEP
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert meta["tracks_scored"] == n_tracks and meta["tracks_kept"] == 0
    assert meta["work_units"] == len(units) >= 4
    unit_pids = {int(place.split(":")[1]) for place in meta["unit_processes"].values()}
    assert unit_pids == set().union(*(pids_of[step] for step in units))
    assert_unique_keys(stack.storage, DAY)

    # The same day in-process on local storage, one unit (the default size): the same tables.
    local_s = assert_equals_in_process(stack, [DAY], tmp_path / "local", monkeypatch)
    log.warning(
        "a day of %d recordings: %d steps (%d units) on 4 workers in %.0f s; in-process %.0f s; "
        "steps per worker %s",
        RECORDINGS,
        len(pids_of),
        len(units),
        celery_s,
        local_s,
        dict(sorted(used.items())),
    )
