"""The engine reproduces funasr's own emotion2vec inference on the tiny random model."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_assets.engine.config import EngineConfig
from emotion_assets.engine.core import load_engine, utterance_scores, utterance_scores_from_probs
from emotion_assets.foundation.labels import n_frames

TOL = 1e-4  # the fidelity bound (float32 re-ordering differences are ~1e-6)


def _funasr(model, wave: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    res = model.generate(input=wave, granularity="frame", disable_pbar=True)[0]
    return np.asarray(res["feats"]), np.asarray(res["scores"])


def _check_against_funasr(engine, funasr_tiny, wave: np.ndarray) -> None:
    feats, scores = _funasr(funasr_tiny, wave)
    out = engine.score(wave)
    assert out.n_frames == n_frames(len(wave)) == feats.shape[0]
    assert np.abs(out.features - feats).max() <= TOL
    assert np.abs(out.utterance() - scores).max() <= TOL


def test_real_speech_matches_funasr(tiny_engine, funasr_tiny, speech):
    for name, wave in speech.items():
        assert len(wave) <= 30 * 16_000, f"{name} is longer than one window"
        _check_against_funasr(tiny_engine, funasr_tiny, wave)


@pytest.mark.parametrize("n", [400, 1_000, 16_000 * 7 + 123])
def test_noise_matches_funasr(tiny_engine, funasr_tiny, n):
    wave = (np.random.default_rng(n).normal(0, 0.2, n)).astype(np.float32)
    _check_against_funasr(tiny_engine, funasr_tiny, wave)


def test_unpatched_model_matches_funasr(tiny_dir, funasr_tiny, speech):
    engine = load_engine(EngineConfig(model=str(tiny_dir), threads=1, fast_attention=False))
    _check_against_funasr(engine, funasr_tiny, speech["two_speakers.wav"])


def test_accelerated_equals_unpatched_when_stitching(tiny_dir, speech):
    wave = np.concatenate(list(speech.values()))  # longer than a 20 s window: stitched
    cfg = dict(model=str(tiny_dir), threads=1, window_s=20.0, context_s=4.0)
    fast = load_engine(EngineConfig(**cfg)).score(wave)
    slow = load_engine(EngineConfig(**cfg, fast_attention=False)).score(wave)
    assert np.abs(fast.features - slow.features).max() <= TOL
    assert np.abs(fast.probs - slow.probs).max() <= TOL


def test_frame_scores_are_consistent(tiny_engine, speech):
    out = tiny_engine.score(speech["librispeech_198-209-0000.ogg"])
    assert out.logits.dtype == out.probs.dtype == out.features.dtype == np.float32
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0, atol=1e-5)
    # softmax(mean logits) == softmax(proj(mean features)): proj is linear
    proj = tiny_engine.model.proj
    w, b = proj.weight.detach().numpy(), proj.bias.detach().numpy()
    direct = out.features.mean(axis=0).astype(np.float64) @ w.T.astype(np.float64) + b
    np.testing.assert_allclose(out.logits.mean(axis=0), direct, atol=1e-4)
    np.testing.assert_allclose(
        utterance_scores_from_probs(out.probs), utterance_scores(out.logits), atol=1e-5
    )


def test_tiny_model_is_not_degenerate(tiny_engine, speech):
    probs = tiny_engine.score(speech["two_speakers.wav"], with_features=False).probs
    assert len(set(probs.argmax(axis=1).tolist())) >= 3
    assert probs.std(axis=0).max() > 0.05


def test_too_short_for_a_frame(tiny_engine):
    out = tiny_engine.score(np.zeros(399, dtype=np.float32))
    assert out.n_frames == 0 and out.probs.shape == (0, 9) and out.features.shape == (0, 128)
