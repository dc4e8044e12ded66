"""EmotionEngine: frame-level emotion2vec scores for a mono 16 kHz waveform of any length.

Frame logits are proj(feature of the frame) and frame scores their softmax; because proj is
linear, the mean of the frame logits is exactly funasr's utterance logit vector
(softmax(proj(mean features))). The track is layer-normalised once (as funasr does for the whole
input), then cut into windows (see windows.py) that run without padding: given the track's
speech segments, windows end in the pauses between them (overlapping windows with context only
where speech runs longer than a window without a pause), and in speech-only mode only the speech
(plus a margin) is computed at all; without segments, equal overlapping windows as before.
Several tracks can be scored together (score_tracks): equal-length windows of different tracks
share a forward pass, and each track gets exactly what scoring it alone gives.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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

# score_tracks reads tracks ahead of the one being finished up to this much audio (230 MB of
# float32 per hour), so that equal-length windows of several tracks can share a batch.
LOOKAHEAD_S = 1800.0

__all__ = [
    "EngineConfig",
    "EmotionEngine",
    "FeatureSink",
    "FrameScores",
    "ModelUnavailableError",
    "ScoredTrack",
    "TrackInput",
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


@dataclass
class TrackInput:
    """One track for EmotionEngine.score_tracks: what score() takes, plus the caller's tag."""

    wave: np.ndarray  # mono 16 kHz float32
    speech: Sequence[Interval] | None = None  # VAD segments (s): windows end in their pauses
    on_features: FeatureSink | None = None  # streamed frame features (then not kept)
    with_features: bool = False  # keep the (T, D) features in FrameScores.features
    tag: Any = None  # handed back untouched with the track's scores


@dataclass
class ScoredTrack:
    """A track's scores from score_tracks, in the order the tracks were given."""

    track: TrackInput
    scores: FrameScores
    seconds: float  # the track's share of the forward passes it was in (by frames)
    windows: int  # windows it was scored in
    shared_with: int  # how many other tracks had windows in the same forward passes


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
        self.forward_passes = 0  # batches run so far (benchmarks: windows per pass)
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
        track = TrackInput(wave, speech, on_features, with_features and on_features is None)
        (done,) = self.score_tracks([track])
        return done.scores

    def score_tracks(
        self, tracks: Iterable[TrackInput], lookahead_s: float = LOOKAHEAD_S
    ) -> Iterator[ScoredTrack]:
        """Score several tracks together; yields each one's scores in the order given.

        Equal-length windows of different tracks share a forward pass (up to batch_size; no
        padding), so a batch can span tracks; each track's scores and streamed features are
        those score() gives it alone (the same windows, the same inputs). Tracks are read from
        `tracks` lazily: besides the oldest unfinished track, at most lookahead_s of audio is
        held (only with batch_size > 1), plus one batch of windows.
        """
        pending = iter(tracks)
        active: list[_TrackRun] = []  # read, not yet handed back, in input order
        held = 0  # samples of audio in `active`
        limit = int(lookahead_s * SAMPLE_RATE) if self.config.batch_size > 1 else 0
        more, n_read = True, 0
        while True:
            with torch_threads(self.threads):  # stated once per finished track, not per batch
                while True:
                    if active and not active[0].left:
                        break  # hand the oldest track back before reading more
                    while more and (not any(run.left for run in active) or held < limit):
                        track = next(pending, None)
                        if track is None:
                            more = False
                        else:
                            active.append(_TrackRun(self, track, n_read))
                            n_read += 1
                            held += active[-1].n_samples
                    if not active or not active[0].left:
                        break
                    self._run_batch(self._next_batch(active))
            while active and not active[0].left:
                run = active.pop(0)
                held -= run.n_samples
                self.model.alibi_biases.clear()  # funasr's cache keeps the longest bias built
                yield run.finish(self.config.speech_only)
            if not active and not more:
                return

    def _next_batch(self, active: list[_TrackRun]) -> list[tuple[_TrackRun, Window]]:
        """The oldest track's next window and, up to batch_size, other windows of its length
        (from any track read so far): equal lengths stack without padding."""
        length = active[0].windows[0].length
        batch: list[tuple[_TrackRun, Window]] = []
        for run in active:
            for w in [w for w in run.windows if w.length == length]:
                if len(batch) == self.config.batch_size:
                    return batch
                batch.append((run, w))
                run.windows.remove(w)
        return batch

    def _run_batch(self, batch: list[tuple[_TrackRun, Window]]) -> None:
        cuda = self.device.startswith("cuda")
        started = time.perf_counter()
        inputs = [run.input(w, alone=len(batch) == 1) for run, w in batch]
        with torch.inference_mode(), self._autocast():
            stacked = torch.stack(inputs) if len(inputs) > 1 else inputs[0].view(1, -1)
            del inputs
            if self._ort is not None:
                wanted = any(run.sink is not None for run, _ in batch)
                logits, feats = self._ort.run(stacked.numpy(), with_features=wanted)
                for j, (run, w) in enumerate(batch):
                    a, b = w.keep_from - w.start, w.keep_to - w.start
                    run.logits[w.keep_from : w.keep_to] = logits[j, a:b]
                    if run.sink is not None:
                        run.sink(w.keep_from, feats[j, a:b])
            else:
                if cuda:
                    stacked = stacked.pin_memory().to(self.device, non_blocking=True)
                x = accel.features_forward(
                    self.model, stacked, self._alibi, self.config.fast_attention
                )
                for j, (run, w) in enumerate(batch):
                    kept = x[j, w.keep_from - w.start : w.keep_to - w.start]
                    run.logits[w.keep_from : w.keep_to] = (
                        self.model.proj(kept).float().cpu().numpy()
                    )
                    if run.sink is not None:
                        run.sink(w.keep_from, kept.float().cpu().numpy())
                del x
            del stacked
        # windows of many lengths leave freed heap behind (heap.py); a one-window track does not
        if not cuda and any(run.n_windows > 1 for run, _ in batch):
            release_free_heap()
        took = time.perf_counter() - started
        self.forward_passes += 1
        frames = sum(w.length for _, w in batch)
        numbers = {run.number for run, _ in batch}
        for run, w in batch:
            run.seconds += took * w.length / frames
            run.left -= 1
            run.partners.update(numbers - {run.number})


class _TrackRun:
    """One track inside score_tracks: its input, its windows still to run, its outputs."""

    def __init__(self, engine: EmotionEngine, track: TrackInput, number: int) -> None:
        wave = np.asarray(track.wave)
        if wave.ndim != 1:
            raise ValueError(f"expected a mono waveform (N,), got shape {wave.shape}")
        self.track, self.number = track, number  # its place in the call's input order
        self.n_samples = int(wave.shape[0])
        total = n_frames(self.n_samples)
        self.speech = track.speech
        fill = np.nan if engine.config.speech_only else 0.0
        self.logits = np.full((total, len(engine.labels)), fill, dtype=np.float32)
        self.features = None
        self.sink = track.on_features
        if self.sink is None and track.with_features:
            self.features = np.full((total, engine.embed_dim), fill, dtype=np.float32)
            self.sink = self._keep
        self.windows = engine.plan(total, track.speech)
        self.n_windows = self.left = len(self.windows)
        # the whole clip in one window: exactly funasr's input (the whole-track layer norm)
        self.whole = self.n_windows == 1 and self.windows[0].length == total
        self.source = TrackNormalizer(wave, engine.normalize)
        self.seconds = 0.0
        self.partners: set[int] = set()

    def _keep(self, start: int, block: np.ndarray) -> None:
        self.features[start : start + len(block)] = block

    def input(self, w: Window, alone: bool) -> torch.Tensor:
        """The window's normalised samples (a whole clip batched with others is cut to the
        window's samples: the conv stack ignores the < 320 samples after the last frame)."""
        if self.whole:
            samples = self.source.whole()
            return samples if alone else samples[: w.sample_length]
        return self.source.window(w.sample_start, w.sample_length)

    def finish(self, speech_only: bool) -> ScoredTrack:
        logits, features = self.logits, self.features
        if speech_only:  # the margin was context, not output
            silent = ~speech_mask(self.speech or [], len(logits))
            logits[silent] = np.nan
            if features is not None:
                features[silent] = np.nan
        probs = softmax(logits).astype(np.float32)
        scores = FrameScores(logits, probs, features, self.n_samples)
        self.source = None  # the waveform goes with the caller's track
        return ScoredTrack(self.track, scores, self.seconds, self.n_windows, len(self.partners))


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
