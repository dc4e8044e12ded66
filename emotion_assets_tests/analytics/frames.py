"""Hand-built frame tables with the columns of docs/CONTRACTS.md frame_emotion_scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl

from emotion_assets.foundation.labels import EMOTIONS

DAY = dt.date(2024, 3, 5)
RID = "0123456789abcdef"


def build_frames(
    n: int,
    scores: dict[str, Sequence[float] | float] | None = None,
    *,
    recording_id: str = RID,
    track: int = 0,
    day: dt.date = DAY,
    speech: Sequence[bool] | None = None,
    speaker: str | None | Sequence[str | None] = "alice",
    overlap: Sequence[bool] | None = None,
    first_frame: int = 0,
) -> pl.DataFrame:
    """n frames; `scores` sets some emotions (scalar or per frame), neutral takes the rest."""
    values = np.zeros((n, len(EMOTIONS)))
    for emotion, value in (scores or {}).items():
        values[:, EMOTIONS.index(emotion)] = np.broadcast_to(np.asarray(value, float), (n,))
    if "neutral" not in (scores or {}):
        rest = 1.0 - values.sum(axis=1)
        values[:, EMOTIONS.index("neutral")] = np.clip(rest, 0.0, None)
    speech_mask = np.ones(n, bool) if speech is None else np.asarray(speech, bool)
    overlap_mask = np.zeros(n, bool) if overlap is None else np.asarray(overlap, bool)
    speakers = [speaker] * n if speaker is None or isinstance(speaker, str) else list(speaker)
    speakers = [None if o else s for s, o in zip(speakers, overlap_mask, strict=True)]
    idx = np.arange(first_frame, first_frame + n, dtype=np.int32)
    t = idx * 0.02
    scores32 = values.astype(np.float32)
    return pl.DataFrame(
        {
            "recording_date": pl.Series([day] * n, dtype=pl.Date),
            "recording_id": [recording_id] * n,
            "track": pl.Series([track] * n, dtype=pl.Int32),
            "speaker": pl.Series(speakers, dtype=pl.String),
            "is_overlap": overlap_mask,
            "frame_idx": idx,
            "t_start": t,
            "t_end": t + 0.025,
            **{e: pl.Series(scores32[:, i], dtype=pl.Float32) for i, e in enumerate(EMOTIONS)},
            "top_emotion": np.array(EMOTIONS)[scores32.argmax(axis=1)],
            "is_speech": speech_mask,
            "model_id": ["iic/emotion2vec_plus_large"] * n,
        }
    )


def steps(*parts: tuple[int, float]) -> np.ndarray:
    """Piecewise-constant curve: steps((100, 0.0), (150, 0.8)) -> 100 zeros then 150 × 0.8."""
    return np.concatenate([np.full(count, value, float) for count, value in parts])


def raw_recordings(rows: list[dict]) -> pl.DataFrame:
    """raw_recordings rows with defaults for the columns a test does not care about."""
    base = {
        "recording_date": DAY,
        "recording_id": RID,
        "file_name": "a.wav",
        "source_path": "",
        "container": "wav",
        "codec": "pcm_s16le",
        "duration_s": 1.0,
        "sample_rate": 16000,
        "channels": 1,
        "bytes": 1,
        "sha256": "",
        "status": "ok",
        "duplicate_of": None,
        "reason": None,
        "speaker": None,
        "team": None,
        "compare_with": None,
        "metadata_json": None,
        "has_rttm": False,
        "channel_map_json": None,
    }
    schema = {
        k: (
            pl.Date
            if k == "recording_date"
            else pl.Int64
            if k in ("sample_rate", "channels", "bytes")
            else pl.Float64
            if k == "duration_s"
            else pl.Boolean
            if k == "has_rttm"
            else pl.String
        )
        for k in base
    }
    return pl.DataFrame([{**base, **r} for r in rows], schema=schema)
