"""`make stack`'s summary of where each step ran, from a run's step events in order: a step
whose worker process died mid-step and that the broker handed to another process says so."""

from __future__ import annotations

import pytest

from devstack.stack import StepTry, print_places, step_places

ANNOUNCE = "ENGINE_EVENT"  # dagster_celery's "Executing steps ... in celery worker"


def _ran(
    step: str, worker: str, pid: int, *, ends: str | None = "STEP_SUCCESS", start="STEP_START"
):
    events = [(ANNOUNCE, step, pid, worker), (start, step, pid, None)]
    return events + ([(ends, step, pid, None)] if ends else [])


def test_a_step_started_again_after_its_process_died_is_reported_as_redelivered(
    capsys: pytest.CaptureFixture,
) -> None:
    events = [
        *_ran("ingest", "cpu@host", 11),
        *_ran("emotion_model_outputs", "gpu@host", 21, ends=None),  # killed: no end event
        *_ran("emotion_model_outputs", "gpu@host", 22),
    ]
    places = {p.step: p for p in step_places(events)}
    model = places["emotion_model_outputs"]
    assert (model.worker, model.pid, model.lost) == ("gpu@host", 22, (StepTry("gpu@host", 21),))
    assert places["ingest"].lost == ()

    print_places(run_pid=5, places=list(places.values()))
    out = capsys.readouterr().out
    assert "redelivered: its start on gpu@host pid 21 died before the step ended" in out
    assert "1 step(s) redelivered after a worker process died: emotion_model_outputs" in out
    assert "   emotion_model_outputs  gpu@host" in out and out.count("redelivered") == 2


def test_a_step_retried_after_it_failed_is_not_called_redelivered(
    capsys: pytest.CaptureFixture,
) -> None:
    events = [
        *_ran("ingest", "cpu@host", 11, ends="STEP_UP_FOR_RETRY"),
        *_ran("ingest", "cpu@host", 12, start="STEP_RESTARTED"),
    ]
    (place,) = step_places(events)
    assert (place.pid, place.lost) == (12, ())  # where it finally ran; nothing was lost
    print_places(run_pid=5, places=[place])
    assert "redelivered" not in capsys.readouterr().out
