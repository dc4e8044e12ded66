"""A model that cannot be loaded fails the run at once, and says why in its headline."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance

from emotion_assets.defs.in_process import run_day
from emotion_assets_tests.conftest import copy_into_day

DAY = "2024-06-03"
MODEL_STEP = "emotion_model_outputs.score_model_unit["  # a work unit of the model step


def test_a_missing_model_is_not_retried_and_its_sentence_is_the_headline(
    data_dir: Path, shared_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no_such_model"
    monkeypatch.setenv("EMOTION_MODEL", str(missing))
    monkeypatch.delenv("EMOTION_ALLOW_TINY_FALLBACK", raising=False)
    copy_into_day(data_dir, DAY, shared_audio / "speech" / "librispeech_198-209-0000.ogg")

    outcome = run_day(data_dir, DAY, instance=DagsterInstance.ephemeral(), raise_on_error=False)

    assert not outcome["success"]
    events = outcome["result"].all_events
    model_events = [e for e in events if (e.step_key or "").startswith(MODEL_STEP)]
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


def test_a_fallback_run_says_which_model_and_why_and_asks_no_unreachable_hub(
    data_dir: Path, shared_audio: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25, item 15: the default model's hub was found unreachable by an earlier run, so
    this run knows at once (no lookup, no connection) and its model step says what ran and why."""
    import socket

    from emotion_assets.engine.loading import locate_model
    from emotion_assets.settings import DEFAULT_MODEL

    monkeypatch.delenv("EMOTION_MODEL", raising=False)
    monkeypatch.setenv("EMOTION_ALLOW_TINY_FALLBACK", "1")
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "https://hub.invalid")
    with pytest.raises(Exception, match="hub.invalid is unreachable"):  # the earlier run
        locate_model(DEFAULT_MODEL, "ms", data_dir / "models")
    asked: list[str] = []
    lookup, connect = socket.getaddrinfo, socket.create_connection

    def spy_lookup(host, *args, **kwargs):
        if host == "hub.invalid":
            asked.append("getaddrinfo")
        return lookup(host, *args, **kwargs)

    def spy_connect(address, *args, **kwargs):
        if address[0] == "hub.invalid":
            asked.append("connect")
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy_lookup)
    monkeypatch.setattr(socket, "create_connection", spy_connect)
    copy_into_day(data_dir, DAY, shared_audio / "speech" / "librispeech_198-209-0000.ogg")

    outcome = run_day(data_dir, DAY, instance=DagsterInstance.ephemeral())

    assert outcome["success"] and asked == []
    meta = next(
        m.metadata
        for m in (e.materialization for e in outcome["result"].get_asset_materialization_events())
        if m.asset_key.path == ["frame_emotion_scores"]
    )
    assert "tiny random model" in meta["model_id"].value
    assert str(data_dir / "models" / "tiny") in meta["model_source"].value
    warning = meta["WARNING"].value
    assert f"{DEFAULT_MODEL} could not be loaded (the model hub hub.invalid was unreachable at" in (
        warning
    )
