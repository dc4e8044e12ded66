"""One recording without Dagster: the outputs folder of `emotion-assets analyze` and of the web page.

Both shells call these functions, so `result.json` is the same document whichever wrote it:
DIR/outputs_YYYYMMDD_HHMMSS/ gets processed_audio.wav (16 kHz mono float32), result.json and,
with the embedding option, embedding.npy (utterance: the mean feature (D,); frame: (T, D)).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_assets.engine.core import FrameScores
from emotion_assets.foundation.labels import EMOTIONS, FRAME_RATE_HZ, SAMPLE_RATE
from emotion_assets.settings import Settings

GRANULARITIES = ("utterance", "frame")


@dataclass(frozen=True)
class OutputFiles:
    folder: Path
    processed_audio: Path
    result_json: Path
    embedding: Path | None


def outputs_dir(root: Path) -> Path:
    """A new root/outputs_YYYYMMDD_HHMMSS/ (suffixed _2, _3... when two runs share a second)."""
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    out = root / f"outputs_{stamp}"
    n = 1
    while True:
        try:
            out.mkdir(parents=True)
            return out
        except FileExistsError:  # another run in the same second (or another process)
            n += 1
            out = root / f"outputs_{stamp}_{n}"


def load_engine_or_tiny(
    model: str | None, settings: Settings, warn: Callable[[str], None] | None = None
):
    """The engine for `model` / EMOTION_MODEL; the tiny random model when neither is given and
    the default can't be had (with a loud warning). An explicit model that can't be loaded
    raises ModelUnavailableError."""
    from emotion_assets.engine.config import EngineConfig
    from emotion_assets.engine.selection import load_with_fallback

    models = settings.storage.data_dir / "models"
    # One file, no VAD segments: every frame is scored (EMOTION_SCORE_SPEECH_ONLY is for days).
    overrides = {"speech_only": False, **({"model": model} if model else {})}
    engine, warning = load_with_fallback(
        EngineConfig.from_settings(settings.model, cache_dir=models, **overrides),
        allow_tiny_fallback=settings.model.model_is_default and not model,
        tiny_dir=models / "tiny",
    )
    if warning:
        (warn or (lambda text: print(text, file=sys.stderr)))(f"WARNING: {warning}")
    return engine


def result_document(
    scores: FrameScores, *, granularity: str, model_id: str, n_samples: int
) -> dict:
    """What result.json holds: the utterance scores and, for frame granularity, every frame."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, not {granularity!r}")
    utt = scores.utterance()
    top = int(np.argmax(utt))
    result: dict = {
        "emotion": EMOTIONS[top],
        "confidence": float(utt[top]),
        "scores": {e: float(s) for e, s in zip(EMOTIONS, utt, strict=True)},
        "granularity": granularity,
        "timestamp": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "model_id": model_id,
        "duration_s": n_samples / SAMPLE_RATE,
    }
    if granularity == "frame":
        result["frame_rate_hz"] = FRAME_RATE_HZ
        result["frame_scores"] = [
            {
                "t": round(i / FRAME_RATE_HZ, 2),
                **{e: float(p) for e, p in zip(EMOTIONS, row, strict=True)},
            }
            for i, row in enumerate(scores.probs.tolist())
        ]
    return result


def write_outputs(
    out: Path,
    *,
    wave: np.ndarray,
    result: dict,
    features: np.ndarray | None,
) -> OutputFiles:
    """processed_audio.wav, result.json and (given features) embedding.npy in `out`."""
    from emotion_assets.audio.decode import write_wav_f32
    from emotion_assets.foundation.atomic_files import write_atomically

    # atomic writes: a full disk becomes one sentence naming the file (DiskFullError)
    audio = write_wav_f32(out / "processed_audio.wav", wave)
    text = json.dumps(result, indent=1)
    result_json = write_atomically(
        out / "result.json", lambda tmp: tmp.write_text(text, encoding="utf-8")
    )
    embedding = None
    if features is not None:
        emb = features if result["granularity"] == "frame" else features.mean(axis=0)

        def save(tmp: Path) -> None:
            with open(tmp, "wb") as fh:  # np.save on a path would add ".npy" to the temp name
                np.save(fh, emb.astype(np.float32))

        embedding = write_atomically(out / "embedding.npy", save)
    return OutputFiles(out, audio, result_json, embedding)
