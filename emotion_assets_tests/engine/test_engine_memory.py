"""A 60-minute recording runs through the engine with flat memory."""

from __future__ import annotations

import threading

import numpy as np
import psutil
import pytest

from emotion_assets.labels import n_frames


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sixty_minutes_with_flat_memory(tiny_engine, speech):
    clip = np.concatenate(list(speech.values()))
    n = 60 * 60 * 16_000
    wave = np.resize(clip, n).astype(np.float32)  # real speech, repeated to 60 min (230 MB)
    wave += np.random.default_rng(0).normal(0, 1e-3, n).astype(np.float32)
    proc = psutil.Process()
    baseline = proc.memory_info().rss
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], proc.memory_info().rss)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        out = tiny_engine.score(wave, with_features=True)
    finally:
        done.set()
        watcher.join()
    assert out.n_frames == n_frames(n)
    assert np.isfinite(out.probs).all()
    assert not tiny_engine.model.alibi_biases  # funasr's grow-only cache is cleared
    # Allowed: one normalised copy of the input, the outputs, and 300 MB of working memory
    # (a few windows of activations). Growth with the number of windows would blow far past it.
    outputs = out.features.nbytes + out.logits.nbytes + out.probs.nbytes
    allowed = wave.nbytes + outputs + 300 * 2**20
    assert peak[0] - baseline < allowed, (peak[0] - baseline) / 2**20
