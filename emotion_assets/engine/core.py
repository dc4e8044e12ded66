"""EmotionEngine: frame-level emotion2vec scores for a mono 16 kHz waveform of any length.

Frame logits are proj(feature of the frame) and frame scores their softmax; because proj is
linear, the mean of the frame logits is exactly funasr's utterance logit vector
(softmax(proj(mean features))). The track is layer-normalised once (as funasr does for the whole
input), then cut into windows (see windows.py) that run without padding: given the track's
speech segments, windows end in the pauses between them (overlapping windows with context only
where speech runs longer than a window without a pause), and in speech-only mode only the speech
(plus a margin) is computed at all; without segments, equal overlapping windows as before.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from emotion_assets.engine import accel
from emotion_assets.engine.config import EngineConfig
from emotion_assets.engine.heap import release_free_heap
from emotion_assets.engine.loading import (
    ModelUnavailableError,
    load_funasr_model,
    locate_model,
)
from emotion_assets.engine.model_builder import random_model_marker
from emotion_assets.engine.normalize import TrackNormalizer
from emotion_assets.engine.windows import (
    Interval,
    Window,
    plan_pause_aligned,
    plan_windows,
    speech_mask,
    window_frames,
)
from emotion_assets.foundation.labels import (
    EMOTIONS,
    FRAME_HOP_S,
    FRAME_STRIDE,
    SAMPLE_RATE,
    label_from_token,
    n_frames,
)
from emotion_assets.foundation.torch_threads import available_cores, torch_threads

log = logging.getLogger(__name__)

# on_features(first_frame, (n, D) float32 block): frame features streamed out window by window
FeatureSink = Callable[[int, np.ndarray], None]

__all__ = [
    "EngineConfig",
    "EmotionEngine",
    "FeatureSink",
    "FrameScores",
    "ModelUnavailableError",
    "load_engine",
    "softmax",
    "utterance_scores",
    "utterance_scores_from_probs",
]


@dataclass
class FrameScores:
    """Scores for frames i = 0..T-1, frame i covering [0.02 i, 0.02 i + 0.025) s.

    In speech-only mode the frames outside speech were not computed: their rows are NaN.
    """

    logits: np.ndarray  # (T, 9) float32
    probs: np.ndarray  # (T, 9) float32, rows sum to 1 (NaN rows: not scored)
    features: np.ndarray | None  # (T, D) float32
    n_samples: int
    labels: tuple[str, ...] = field(default=EMOTIONS)

    @property
    def n_frames(self) -> int:
        return int(self.logits.shape[0])

    @property
    def scored(self) -> np.ndarray:
        """(T,) bool: the frames that have scores."""
        return ~np.isnan(self.logits[:, 0])

    @property
    def t_start(self) -> np.ndarray:
        return np.arange(self.n_frames, dtype=np.float64) * FRAME_HOP_S

    def utterance(self) -> np.ndarray:
        """Scores of the whole input: softmax(mean frame logits) = funasr's utterance scores
        (over the scored frames only, in speech-only mode)."""
        return utterance_scores(self.logits[self.scored])


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def utterance_scores(frame_logits: np.ndarray) -> np.ndarray:
    """softmax of the mean frame logits (float64)."""
    logits = np.asarray(frame_logits, dtype=np.float64)
    return softmax(logits.mean(axis=0))


def utterance_scores_from_probs(frame_probs: np.ndarray, eps: float = 1e-30) -> np.ndarray:
    """Same as utterance_scores, from the frame probabilities alone.

    log p_t = l_t - logsumexp(l_t): the per-frame constant cancels in the softmax, so
    softmax(mean_t log p_t) == softmax(mean_t l_t). eps only guards float32 underflow to 0.
    """
    logp = np.log(np.maximum(np.asarray(frame_probs, dtype=np.float64), eps))
    return softmax(logp.mean(axis=0))


def _resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        log.warning("EMOTION_DEVICE=%s but CUDA is not available: using the CPU", device)
        return "cpu"
    return device


def _quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    from torch.ao.quantization import quantize_dynamic

    engines = torch.backends.quantized.supported_engines
    # fbgemm needs AVX2; qnnpack runs on any x86-64/ARM CPU.
    if "fbgemm" in engines and _cpu_has("avx2"):
        torch.backends.quantized.engine = "fbgemm"
    elif "qnnpack" in engines:
        torch.backends.quantized.engine = "qnnpack"
    return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _cpu_has(flag: str) -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            return any(flag in line.split() for line in f if line.startswith("flags"))
    except OSError:
        return True  # not Linux: trust torch's default engine


def _frames(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE / FRAME_STRIDE))


def plan_track(
    config: EngineConfig, total_frames: int, speech: Sequence[Interval] | None = None
) -> list[Window]:
    """The windows a track of total_frames is scored in, under `config` (see windows.py).

    speech: the track's VAD segments (seconds). Without them, equal overlapping windows.
    """
    window, context = window_frames(config.window_s), _frames(config.context_s)
    if speech is None:
        if config.speech_only:
            raise ValueError("speech-only scoring needs the track's speech segments")
        return plan_windows(total_frames, window, context)
    return plan_pause_aligned(
        total_frames,
        window,
        context,
        speech,
        min_pause=_frames(config.pause_s) if config.pause_s > 0 else 0,
        speech_only=config.speech_only,
        margin=_frames(config.speech_margin_s),
        pack=window_frames(config.pack_s),
    )


class EmotionEngine:
    """A loaded emotion2vec model plus the windowing that scores recordings of any length."""

    def __init__(self, auto_model, model_dir: Path, cfg: EngineConfig, model_name: str) -> None:
        self.config = cfg
        self.model_dir = model_dir
        self.model = auto_model.model
        self.device = str(auto_model.kwargs.get("device", "cpu"))
        tokens = list(auto_model.kwargs.get("token_list") or [])
        self.labels = tuple(label_from_token(t) for t in tokens)
        if self.labels != EMOTIONS:
            raise ModelUnavailableError(
                f"The emotion model {model_name!r} has labels {self.labels}, not the nine "
                f"emotion2vec+ labels {EMOTIONS}; use an emotion2vec+ model (large, base or seed)."
            )
        marker = random_model_marker(model_dir)
        self.model_id = marker["model_id"] if marker else model_name
        self.model_source = model_name  # build_engine says where the folder came from
        self.embed_dim = int(self.model.cfg.get("embed_dim"))
        self.normalize = bool(self.model.cfg.get("normalize", False))
        # Stated on every score(): silero-vad (imported later in the same run) sets 1 thread.
        self.threads = (cfg.threads or available_cores()) if self.device == "cpu" else None
        if cfg.quantize == "int8":
            if self.device != "cpu":
                raise ValueError("quantize='int8' is a CPU option")
            self.model = _quantize_int8(self.model)
            if cfg.fast_attention:  # the GEMM conv extractor (accel.py) quantized as well
                accel.quantize_conv_features(self.model)
            self.model_id += " [int8]"
        if cfg.fast_attention:
            accel.patch_attention(self.model)
        self._window = window_frames(cfg.window_s)
        self._alibi = accel.AlibiCache(max_frames=self._window)
        self._context = _frames(cfg.context_s)
        self._ort = None
        if cfg.backend == "onnx":
            if self.device != "cpu":
                raise ValueError("backend='onnx' is a CPU option")
            from emotion_assets.engine import onnx_backend

            path = onnx_backend.export_encoder(self.model, model_dir, self._alibi)
            self._ort = onnx_backend.OrtEncoder(self.model, path, self._alibi, self.threads)
            self.model_id += " [onnx]"

    def plan(self, total_frames: int, speech: Sequence[Interval] | None = None) -> list[Window]:
        """The windows score() runs for a track of total_frames (plan_track)."""
        return plan_track(self.config, total_frames, speech)

    # --- scoring --------------------------------------------------------------------
    def _autocast(self):
        if self.device.startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def score(
        self,
        wave: np.ndarray,
        with_features: bool = True,
        on_features: FeatureSink | None = None,
        speech: Sequence[Interval] | None = None,
    ) -> FrameScores:
        """Frame scores of a mono 16 kHz float32 waveform (any length).

        speech: the track's speech segments (start, end) in seconds: windows then end in its
        pauses, and in speech-only mode only frames whose centre lies in a segment get scores
        (the rest are NaN; on_features also sees the margin frames that were computed).

        Frame features (T x D float32: 737 MB for an hour on the large model) are returned when
        with_features is true; given on_features, they go to on_features(first_frame, block)
        window by window instead and are not kept (FrameScores.features is then None).
        """
        wave = np.asarray(wave)
        if wave.ndim != 1:
            raise ValueError(f"expected a mono waveform (N,), got shape {wave.shape}")
        n = int(wave.shape[0])
        total = n_frames(n)
        fill = np.nan if self.config.speech_only else 0.0
        logits = np.full((total, len(self.labels)), fill, dtype=np.float32)
        features = None
        sink = on_features
        if sink is None and with_features:
            features = np.full((total, self.embed_dim), fill, dtype=np.float32)

            def sink(start: int, block: np.ndarray) -> None:
                features[start : start + len(block)] = block

        windows = self.plan(total, speech)
        if windows:
            with torch_threads(self.threads):
                self._run(wave, windows, logits, sink)
        self.model.alibi_biases.clear()  # funasr's cache keeps the longest bias ever built
        if self.config.speech_only:  # the margin was context, not output
            silent = ~speech_mask(speech or [], total)
            logits[silent] = np.nan
            if features is not None:
                features[silent] = np.nan
        probs = softmax(logits).astype(np.float32)
        return FrameScores(logits=logits, probs=probs, features=features, n_samples=n)

    def _batches(self, windows: list[Window]) -> list[list[Window]]:
        """Consecutive windows of equal length, at most batch_size at a time (no padding)."""
        groups: list[list[Window]] = []
        for w in windows:
            last = groups[-1] if groups else None
            if last and len(last) < self.config.batch_size and last[0].length == w.length:
                last.append(w)
            else:
                groups.append([w])
        return groups

    def _run(self, wave: np.ndarray, windows: list[Window], logits, sink) -> None:
        cuda = self.device.startswith("cuda")
        proj = self.model.proj
        source = TrackNormalizer(wave, self.normalize)
        whole = len(windows) == 1 and windows[0].start == 0 and windows[0].length == len(logits)
        # windows of many lengths leave freed heap behind (heap.py); one window does not
        trim = not cuda and len(windows) > 1
        with torch.inference_mode(), self._autocast():
            for group in self._batches(windows):
                if whole:  # the whole clip: exactly funasr's input
                    batch = source.whole().view(1, -1)
                else:
                    batch = torch.stack(
                        [source.window(w.sample_start, w.sample_length) for w in group]
                    )
                if self._ort is not None:
                    self._run_ort(batch, group, logits, sink)
                    continue
                if cuda:
                    batch = batch.pin_memory().to(self.device, non_blocking=True)
                x = accel.features_forward(
                    self.model, batch, self._alibi, self.config.fast_attention
                )
                for j, w in enumerate(group):
                    kept = x[j, w.keep_from - w.start : w.keep_to - w.start]
                    logits[w.keep_from : w.keep_to] = proj(kept).float().cpu().numpy()
                    if sink is not None:
                        sink(w.keep_from, kept.float().cpu().numpy())
                del x, batch
                if trim:
                    release_free_heap()

    def _run_ort(self, batch: torch.Tensor, group: list[Window], logits, sink) -> None:
        out, feats = self._ort.run(batch.numpy(), with_features=sink is not None)
        for j, w in enumerate(group):
            a, b = w.keep_from - w.start, w.keep_to - w.start
            logits[w.keep_from : w.keep_to] = out[j, a:b]
            if sink is not None:
                sink(w.keep_from, feats[j, a:b])


def build_engine(cfg: EngineConfig) -> EmotionEngine:
    """A new engine for cfg (no cache: load_engine is the once-per-process entry point)."""
    located = locate_model(cfg.model, cfg.hub, cfg.cache_dir)
    model_dir = located.path
    device = _resolve_device(cfg.device)
    threads = cfg.threads or available_cores()
    auto_model = load_funasr_model(model_dir, device, threads)
    engine = EmotionEngine(auto_model, model_dir, cfg, cfg.model)
    engine.model_source = located.source  # which model and from where, for logs and metadata
    log.info(
        "emotion model %s loaded from %s on %s (%s threads)",
        engine.model_id,
        located.source,
        engine.device,
        engine.threads or "GPU, not",
    )
    return engine


def load_engine(cfg: EngineConfig | None = None) -> EmotionEngine:
    """The engine for cfg, loaded once per process (later calls return the same object)."""
    cfg = cfg or EngineConfig()
    if cfg.cache_dir is not None:
        cfg = replace(cfg, cache_dir=Path(cfg.cache_dir).expanduser().resolve())
    return _cached_engine(cfg)


_cached_engine = functools.lru_cache(maxsize=4)(build_engine)
load_engine.cache_clear = _cached_engine.cache_clear  # type: ignore[attr-defined]


def engines_loaded() -> int:
    """How many engines this process has loaded so far (a worker keeps them between steps)."""
    return _cached_engine.cache_info().misses
