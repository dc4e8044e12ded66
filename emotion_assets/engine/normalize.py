"""The whole-track layer norm funasr applies to its input, without a second copy of the track.

funasr normalises the entire waveform once (``F.layer_norm(x, x.shape)``: zero mean, unit
variance, eps 1e-5). A clip that fits one window gets exactly that call; a long track gets the
mean and variance from one chunked float64 pass and each window is normalised when it is cut,
so an hour of audio (230 MB as float32) is never held twice.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

LAYER_NORM_EPS = 1e-5  # F.layer_norm's default, as funasr calls it
_CHUNK = 1 << 20  # samples per float64 chunk of the statistics pass (8 MB)


def track_moments(wave: np.ndarray) -> tuple[float, float]:
    """(mean, population variance) of a 1-D float32 track, accumulated in float64 by chunks."""
    n = int(wave.shape[0])
    if n == 0:
        return 0.0, 0.0
    total = 0.0
    for i in range(0, n, _CHUNK):
        total += float(np.sum(wave[i : i + _CHUNK], dtype=np.float64))
    mean = total / n
    squares = 0.0
    for i in range(0, n, _CHUNK):
        d = wave[i : i + _CHUNK].astype(np.float64) - mean
        squares += float(np.dot(d, d))
    return mean, squares / n


class TrackNormalizer:
    """Windows of a waveform, layer-normalised over the whole track when `enabled`."""

    def __init__(self, wave: np.ndarray, enabled: bool) -> None:
        self._wave = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
        self.enabled = enabled
        self._moments: tuple[float, float] | None = None

    def whole(self) -> torch.Tensor:
        """The full track: funasr's exact call (used when the clip is a single window)."""
        if not self.enabled:
            return self._wave
        return F.layer_norm(self._wave, self._wave.shape, eps=LAYER_NORM_EPS)

    def window(self, start: int, length: int) -> torch.Tensor:
        """Samples [start, start + length) of the normalised track, as a new float32 tensor."""
        piece = self._wave[start : start + length]
        if not self.enabled:
            return piece
        if self._moments is None:
            mean, var = track_moments(self._wave.numpy())
            self._moments = (mean, 1.0 / float(np.sqrt(var + LAYER_NORM_EPS)))
        mean, inv_std = self._moments
        return (piece - mean) * inv_std
