"""Engine fixtures: the tiny random model (built once per session), engines, real speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emotion_assets.audio.decode import decode
from emotion_assets.engine.config import EngineConfig
from emotion_assets.engine.core import load_engine
from emotion_assets.engine.model_builder import cached_model_dir


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)  # two shared cores: keep test runs light


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cached_model_dir(tmp_path_factory.mktemp("models"), "tiny")


@pytest.fixture(scope="session")
def tiny_engine(tiny_dir: Path):
    return load_engine(EngineConfig(model=str(tiny_dir), threads=1))


@pytest.fixture(scope="session")
def funasr_tiny(tiny_dir: Path):
    from funasr import AutoModel

    return AutoModel(
        model=str(tiny_dir),
        disable_update=True,
        device="cpu",
        ncpu=1,
        disable_pbar=True,
        log_level="WARNING",
    )


@pytest.fixture(scope="session")
def speech(shared_audio: Path) -> dict[str, np.ndarray]:
    """The shared speech recordings decoded by ffmpeg to 16 kHz mono float32."""
    folder = shared_audio / "speech"
    names = sorted(p.name for p in folder.glob("*.ogg")) + ["two_speakers.wav"]
    return {name: decode(folder / name, sample_rate=16_000, mode="mono")[0] for name in names}
