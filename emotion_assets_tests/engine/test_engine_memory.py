"""A 60-minute recording runs through the engine with flat memory."""

from __future__ import annotations

import threading

import numpy as np
import psutil
import pytest

from emotion_assets.labels import n_frames


@pytest.mark.slow
@pytest.mark.timeout(600)  # two test workers share the cores
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
    seen = np.zeros(n_frames(n), dtype=np.int8)

    def count_frames(first: int, block: np.ndarray) -> None:  # a sink that keeps nothing
        assert block.shape[1] == tiny_engine.embed_dim
        seen[first : first + len(block)] += 1

    try:
        out = tiny_engine.score(wave, on_features=count_frames)
    finally:
        done.set()
        watcher.join()
    assert out.n_frames == n_frames(n)
    assert np.isfinite(out.probs).all()
    assert out.features is None and (seen == 1).all()  # every frame streamed out exactly once
    assert not tiny_engine.model.alibi_biases  # funasr's grow-only cache is cleared
    # Allowed: the score arrays and 150 MB of working memory (a few windows of activations);
    # a normalised copy of the track (230 MB), kept features or growth with the number of
    # windows would all blow past it.
    allowed = out.logits.nbytes + out.probs.nbytes + seen.nbytes + 150 * 2**20
    assert peak[0] - baseline < allowed, (peak[0] - baseline) / 2**20
