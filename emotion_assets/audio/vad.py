"""Where people speak: silero-vad over 16 kHz mono audio (weights ship inside the wheel)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from emotion_assets.foundation.labels import SAMPLE_RATE
from emotion_assets.foundation.torch_threads import torch_threads
from emotion_assets.settings import AudioSettings

log = logging.getLogger(__name__)

_models: dict[str, object] = {}
BACKENDS = ("sequence", "onnx", "jit")
# silero's streaming models keep recurrent state between chunks: one caller at a time per
# process. The sequence model is handed its state on every call and needs no lock.
_lock = threading.Lock()


@dataclass(frozen=True)
class VadParams:
    """silero-vad's settings (from AudioSettings in emotion_assets.settings)."""

    threshold: float = 0.5
    min_speech_ms: int = 250
    min_silence_ms: int = 100
    speech_pad_ms: int = 30
    # "sequence": silero's own export that runs 512 chunks per ONNX Runtime call, bit-identical
    # probabilities and ~4-5x faster than "onnx" (one call per 32 ms chunk, ~2x faster than
    # "jit", silero's TorchScript model). All three find the same regions (tests).
    backend: str = "sequence"

    @classmethod
    def from_settings(cls, settings: AudioSettings) -> VadParams:
        return cls(
            threshold=settings.vad_threshold,
            min_speech_ms=settings.vad_min_speech_ms,
            min_silence_ms=settings.vad_min_silence_ms,
            speech_pad_ms=settings.vad_speech_pad_ms,
            backend=settings.vad_backend,
        )


def _get_model(backend: str = "sequence"):
    """Loaded once per process and backend (weights from the silero-vad wheel, no download)."""
    if backend not in BACKENDS:
        raise ValueError(
            f"the VAD backend must be one of {', '.join(map(repr, BACKENDS))}, not {backend!r}"
        )
    if backend not in _models:
        with torch_threads():  # silero-vad sets 1 thread for the whole process on import
            from silero_vad import load_silero_vad  # late: importing torch is slow

            _models[backend] = load_silero_vad(
                onnx=backend == "onnx", sequence=backend == "sequence"
            )
        log.info("silero-vad loaded (%s)", backend)
    return _models[backend]


def speech_regions(
    wave16k: np.ndarray,
    *,
    threshold: float = 0.5,
    min_speech_ms: int = 250,
    min_silence_ms: int = 100,
    speech_pad_ms: int = 30,
    backend: str = "sequence",
) -> list[tuple[float, float]]:
    """Speech regions (start, end) in seconds of a 16 kHz mono signal, in time order."""
    x = np.asarray(wave16k, dtype=np.float32)
    if x.ndim == 2 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 1:
        raise ValueError(f"speech_regions wants mono audio, got shape {x.shape}")
    # Nothing shorter than the minimum speech length can be a region; silence has none either.
    if x.size < SAMPLE_RATE * min_speech_ms / 1000 or not np.any(x):
        return []
    if not np.all(np.isfinite(x)):
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    model = _get_model(backend)
    settings = {
        "threshold": threshold,
        "sampling_rate": SAMPLE_RATE,
        "min_speech_duration_ms": min_speech_ms,
        "min_silence_duration_ms": min_silence_ms,
        "speech_pad_ms": speech_pad_ms,
    }
    if backend == "sequence":
        from silero_vad.sequence_vad import get_speech_timestamps_sequence

        stamps = get_speech_timestamps_sequence(np.ascontiguousarray(x), model, **settings)
    else:
        import torch
        from silero_vad import get_speech_timestamps

        # 512-sample steps of a tiny network: one thread is fastest, and the count is given back.
        with _lock, torch_threads(1):
            stamps = get_speech_timestamps(
                torch.from_numpy(np.ascontiguousarray(x)), model, **settings
            )
    # Samples, not silero's rounded seconds: keeps sub-frame precision.
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]
