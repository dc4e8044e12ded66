"""Fixtures of the web page's tests: a Runner on the tiny model, writing into a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotion_assets.app.runner import Limits, Runner

SPEECH = "speech/librispeech_198-209-0000.ogg"  # 13.9 s, one speaker


@pytest.fixture
def tiny_engine(pipeline_env: Path):
    from emotion_assets.settings import load_settings
    from emotion_assets.single_file import load_engine_or_tiny

    # EMOTION_MODEL = the tiny model (pipeline_env)
    return load_engine_or_tiny(None, load_settings())


@pytest.fixture
def runner(tiny_engine, pipeline_env: Path) -> Runner:
    return Runner(
        tiny_engine,
        outputs_root=pipeline_env / "outputs",
        limits=Limits(max_upload_bytes=50_000_000, max_duration_s=600.0),
    )


@pytest.fixture
def speech_file(shared_audio: Path) -> Path:
    return shared_audio / SPEECH
