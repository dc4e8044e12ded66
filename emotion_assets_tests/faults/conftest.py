"""A tiny emotion2vec model for pipeline tests, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from emotion_assets.engine.model_builder import build_model_dir

    return build_model_dir(tmp_path_factory.mktemp("tiny_model"), size="tiny", seed=0)


@pytest.fixture
def pipeline_env(data_dir: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """EMOTION_DATA_DIR = a fresh dir, EMOTION_MODEL = the tiny model; returns the data dir."""
    monkeypatch.setenv("EMOTION_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("EMOTION_THREADS", "1")
    return data_dir
