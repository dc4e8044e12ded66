"""A model that cannot be loaded fails the run at once, and says why in its headline."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance

from emotion_assets.pipeline_runner import run_partition
from emotion_assets_tests.conftest import copy_into_day

DAY = "2024-06-03"
MODEL_STEP = "emotion_model_outputs"


def test_a_missing_model_is_not_retried_and_its_sentence_is_the_headline(
    data_dir: Path, shared_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no_such_model"
    monkeypatch.setenv("EMOTION_MODEL", str(missing))
    monkeypatch.delenv("EMOTION_ALLOW_TINY_FALLBACK", raising=False)
    copy_into_day(data_dir, DAY, shared_audio / "speech" / "librispeech_198-209-0000.ogg")

    outcome = run_partition(
        data_dir, DAY, instance=DagsterInstance.ephemeral(), raise_on_error=False
    )

    assert not outcome["success"]
    events = outcome["result"].all_events
    model_events = [e for e in events if e.step_key == MODEL_STEP]
    kinds = [e.event_type for e in model_events]
    assert kinds.count(DagsterEventType.STEP_START) == 1, kinds  # one attempt, no retry
    assert DagsterEventType.STEP_UP_FOR_RETRY not in kinds
    failure = next(e for e in model_events if e.event_type == DagsterEventType.STEP_FAILURE)
    sentence = failure.step_failure_data.user_failure_data.description
    assert str(missing) in sentence and "EMOTION_MODEL" in sentence
    assert "\n" not in sentence and sentence.endswith(".")  # one sentence, no traceback

    run_failure = next(e for e in events if e.event_type == DagsterEventType.RUN_FAILURE)
    headline = run_failure.event_specific_data.error.message.splitlines()[0]
    assert sentence in headline
    assert "max_retries" not in headline
