"""Deviation between two runs' outputs on the same clips (engine vs funasr, int8 vs fp32)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emotion_assets.foundation.labels import FRAME_STRIDE, RECEPTIVE_FIELD, SAMPLE_RATE


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def _clip_names(outputs: dict[str, np.ndarray]) -> list[str]:
    return sorted({key.split("/", 1)[0] for key in outputs})


def _max_abs(a: np.ndarray, b: np.ndarray) -> tuple[float, str | None]:
    """Max |a - b| over the common frames; a note when the frame counts differ."""
    note = None
    if a.shape != b.shape:
        note = f"shapes differ: {a.shape} vs {b.shape}; compared the common part"
        n = min(a.shape[0], b.shape[0])
        a, b = a[:n], b[:n]
        if a.ndim > 1 and a.shape[1] != b.shape[1]:
            return float("nan"), f"feature sizes differ: {a.shape} vs {b.shape}"
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))), note


def score_and_feature_deviation(path_a: Path, path_b: Path) -> dict[str, Any]:
    """Max abs difference of utterance scores and of frame features, per clip and overall."""
    a, b = _load(path_a), _load(path_b)
    per_clip: dict[str, Any] = {}
    for name in _clip_names(a):
        row: dict[str, Any] = {}
        row["max_abs_score_diff"], _ = _max_abs(a[f"{name}/scores"], b[f"{name}/scores"])
        fa, fb = a.get(f"{name}/features"), b.get(f"{name}/features")
        if fa is not None and fb is not None:
            row["max_abs_feature_diff"], note = _max_abs(fa, fb)
            row["feature_scale"] = float(np.max(np.abs(fb)))
            if note:
                row["note"] = note
        per_clip[name] = row
    return {
        "max_abs_score_diff": max(r["max_abs_score_diff"] for r in per_clip.values()),
        "max_abs_feature_diff": max(
            (r.get("max_abs_feature_diff", float("nan")) for r in per_clip.values()),
            default=float("nan"),
        ),
        "per_clip": per_clip,
    }


def speech_frame_mask(wave: np.ndarray, n_frames: int) -> np.ndarray:
    """Frames whose centre lies inside a silero-vad speech segment."""
    import torch
    from silero_vad import get_speech_timestamps, load_silero_vad

    segments = get_speech_timestamps(
        torch.from_numpy(wave), load_silero_vad(), sampling_rate=SAMPLE_RATE, return_seconds=True
    )
    centres = (np.arange(n_frames) * FRAME_STRIDE + RECEPTIVE_FIELD / 2) / SAMPLE_RATE
    mask = np.zeros(n_frames, dtype=bool)
    for seg in segments:
        mask |= (centres >= seg["start"]) & (centres < seg["end"])
    return mask


def quantization_deviation(
    fp32_path: Path, int8_path: Path, clips: dict[str, np.ndarray]
) -> dict[str, Any]:
    """int8 vs fp32: max abs utterance score diff; top-emotion agreement on speech frames."""
    a, b = _load(fp32_path), _load(int8_path)
    agree = total = 0
    per_clip: dict[str, Any] = {}
    for name in _clip_names(a):
        score_diff, _ = _max_abs(a[f"{name}/scores"], b[f"{name}/scores"])
        pa, pb = a[f"{name}/probs"], b[f"{name}/probs"]
        n = min(len(pa), len(pb))
        mask = speech_frame_mask(clips[name], n)
        same = pa[:n].argmax(axis=1) == pb[:n].argmax(axis=1)
        agree += int(same[mask].sum())
        total += int(mask.sum())
        per_clip[name] = {
            "max_abs_score_diff": score_diff,
            "speech_frames": int(mask.sum()),
            "top_emotion_agreement": float(same[mask].mean()) if mask.any() else None,
        }
    return {
        "max_abs_score_diff": max(r["max_abs_score_diff"] for r in per_clip.values()),
        "top_emotion_agreement_speech_frames": agree / total if total else None,
        "speech_frames": total,
        "per_clip": per_clip,
    }
