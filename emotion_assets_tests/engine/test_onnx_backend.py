"""EMOTION_ENGINE_BACKEND=onnx: the exported encoder scores like the torch engine (tiny model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotion_assets.engine.core import EngineConfig, build_engine
from emotion_assets.engine.onnx_backend import ONNX_NAME
from emotion_assets.settings import ModelSettings


def test_onnx_backend_matches_torch_on_windows_and_features(tiny_model_dir: Path) -> None:
    base = EngineConfig(
        model=str(tiny_model_dir),
        device="cpu",
        threads=1,
        window_s=6.0,
        context_s=1.0,
        batch_size=2,
    )
    torch_engine = build_engine(base)
    onnx_engine = build_engine(
        EngineConfig.from_settings(
            ModelSettings(
                model=str(tiny_model_dir),
                device="cpu",
                threads=1,
                window_s=6.0,
                context_s=1.0,
                batch_size=2,
                engine_backend="onnx",
            )
        )
    )
    assert (tiny_model_dir / ONNX_NAME).is_file()  # exported once, beside the model
    rng = np.random.default_rng(3)
    wave = (rng.standard_normal(16000 * 20) * 0.1).astype(np.float32)  # 20 s: several windows
    speech = [(0.5, 7.0), (7.6, 15.2), (16.0, 19.5)]
    for segments in (None, speech):
        ref = torch_engine.score(wave, speech=segments)
        got = onnx_engine.score(wave, speech=segments)
        assert got.probs.shape == ref.probs.shape
        assert float(np.abs(got.probs - ref.probs).max()) <= 1e-4
        assert float(np.abs(got.features - ref.features).max()) <= 1e-3


def test_onnx_backend_is_float32_only() -> None:
    with pytest.raises(ValueError, match="float32"):
        EngineConfig(backend="onnx", quantize="int8")
