"""Small contract-shaped tables from random logits (no model, no audio) for the quality tests.

Frame scores are softmax(random logits); utterance scores are softmax(mean logits) over the
utterance's frames — computed here with numpy, independently of the checks' polars code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping

import numpy as np
import polars as pl

from emotion_assets.contracts import TABLE_SCHEMAS, conform
from emotion_assets.foundation.labels import (
    EMOTIONS,
    FRAME_STRIDE,
    RECEPTIVE_FIELD,
    SAMPLE_RATE,
    n_frames,
)
from emotion_assets.quality.outcome import CheckOutcome
from emotion_assets.quality.registry import all_checks

DATE = dt.date(2024, 1, 15)
MODEL_ID = "synthetic/emotion2vec_plus_test"
HOP_S = FRAME_STRIDE / SAMPLE_RATE
WINDOW_S = RECEPTIVE_FIELD / SAMPLE_RATE


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def synthetic_lake(
    durations_s: tuple[float, ...] = (3.0, 2.17),
    segments_per_track: int = 3,
    seed: int = 0,
    embedding_dim: int = 8,
) -> dict[str, pl.DataFrame]:
    """One mono recording per duration (track 0), with VAD segments, turns, frames, utterances,
    embeddings, and one quarantined file. All tables pass every check."""
    rng = np.random.default_rng(seed)
    raw, norm, segs, turns, frames, utts, embs = [], [], [], [], [], [], []
    for i, duration in enumerate(durations_s):
        name = f"call_{i}.wav"
        sha = hashlib.sha256(name.encode()).hexdigest()
        rid = sha[:16]
        samples = round(duration * SAMPLE_RATE)
        seconds = samples / SAMPLE_RATE
        ident = {"recording_date": DATE, "recording_id": rid}
        raw.append(
            {
                **ident,
                "file_name": name,
                "source_path": f"raw/{DATE}/{name}",
                "container": "wav",
                "codec": "pcm_s16le",
                "duration_s": seconds,
                "sample_rate": 44_100,
                "channels": 1,
                "bytes": samples * 2 + 44,
                "sha256": sha,
                "status": "ok",
                "duplicate_of": None,
                "reason": None,
                "speaker": f"agent_{i}",
                "team": "blue",
                "compare_with": None,
                "metadata_json": None,
                "has_rttm": False,
                "channel_map_json": None,
            }
        )
        peak = float(rng.uniform(0.3, 0.9))
        norm.append(
            {
                **ident,
                "track": 0,
                "channel_mode": "mono",
                "speaker": f"agent_{i}",
                "audio_path": f"processed/{DATE}/{rid}_t0.wav",
                "sample_rate": SAMPLE_RATE,
                "n_samples": samples,
                "duration_s": seconds,
                "source_duration_s": seconds + 0.004,
                "peak": peak,
                "rms": peak / 4,
                "clipped_fraction": 0.0,
            }
        )

        count = n_frames(samples)
        logits = rng.normal(0.0, 2.0, size=(count, len(EMOTIONS)))
        probs = _softmax(logits).astype(np.float32)
        idx = np.arange(count)
        starts = HOP_S * idx
        frames.append(
            pl.DataFrame(
                {
                    "recording_date": [DATE] * count,
                    "recording_id": [rid] * count,
                    "track": np.zeros(count, np.int32),
                    "speaker": [f"agent_{i}"] * count,
                    "is_overlap": np.zeros(count, bool),
                    "frame_idx": idx.astype(np.int32),
                    "t_start": starts,
                    "t_end": starts + WINDOW_S,
                    **{e: probs[:, j] for j, e in enumerate(EMOTIONS)},
                    "top_emotion": [EMOTIONS[j] for j in probs.argmax(axis=1)],
                    "is_speech": np.ones(count, bool),
                    "model_id": [MODEL_ID] * count,
                }
            )
        )

        def utterance(
            scope: str,
            seg: int | None,
            t0: float,
            t1: float,
            mask: np.ndarray,
            rid: str = rid,
            i: int = i,
            logits: np.ndarray = logits,
        ) -> dict:
            scores = _softmax(logits[mask].mean(axis=0))
            return {
                "recording_date": DATE,
                "recording_id": rid,
                "track": 0,
                "scope": scope,
                "segment_idx": seg,
                "speaker": f"agent_{i}",
                "t_start": t0,
                "t_end": t1,
                "n_frames": int(mask.sum()),
                **dict(zip(EMOTIONS, scores.tolist(), strict=True)),
                "top_emotion": EMOTIONS[int(scores.argmax())],
                "confidence": float(scores.max()),
                "model_id": MODEL_ID,
            }

        utts.append(utterance("track", None, 0.0, seconds, np.ones(count, bool)))
        # Non-overlapping segments: random cut points, each segment inside its slot.
        edges = np.linspace(0.0, seconds, segments_per_track + 1)
        centres = starts + WINDOW_S / 2
        for s in range(segments_per_track):
            t0 = float(edges[s] + rng.uniform(0.01, 0.1))
            t1 = float(edges[s + 1] - rng.uniform(0.01, 0.1))
            seg = {
                **ident,
                "track": 0,
                "segment_idx": s,
                "t_start": t0,
                "t_end": t1,
                "duration_s": t1 - t0,
            }
            segs.append(seg)
            turns.append(
                {
                    **ident,
                    "track": 0,
                    "turn_idx": s,
                    "speaker": f"agent_{i}",
                    "t_start": t0,
                    "t_end": t1,
                    "duration_s": t1 - t0,
                    "source": "sidecar",
                }
            )
            mask = (centres >= t0) & (centres < t1)
            utts.append(utterance("segment", s, t0, t1, mask))
            embs.append(
                {
                    **ident,
                    "track": 0,
                    "segment_idx": s,
                    "speaker": f"agent_{i}",
                    "t_start": t0,
                    "t_end": t1,
                    "embedding": rng.normal(size=embedding_dim).astype(np.float32).tolist(),
                    "model_id": MODEL_ID,
                }
            )

    quarantine = [
        {
            "recording_date": DATE,
            "recording_id": None,
            "file_name": "broken.mp3",
            "stage": "decode",
            "problem_idx": 0,
            "reason": "The file could not be decoded as audio.",
            "detail": "Invalid data found when processing input",
        }
    ]
    emb_schema = dict(TABLE_SCHEMAS["emotion_embeddings"])
    emb_schema["embedding"] = pl.Array(pl.Float32, embedding_dim)

    def table(rows: list[dict], name: str, schema: dict | None = None) -> pl.DataFrame:
        return conform(pl.DataFrame(rows, schema=schema or TABLE_SCHEMAS[name], orient="row"), name)

    return {
        "raw_recordings": table(raw, "raw_recordings"),
        "normalized_audio": table(norm, "normalized_audio"),
        "speech_segments": table(segs, "speech_segments"),
        "speaker_turns": table(turns, "speaker_turns"),
        "quarantine": table(quarantine, "quarantine"),
        "frame_emotion_scores": conform(pl.concat(frames), "frame_emotion_scores"),
        "utterance_emotion_scores": table(utts, "utterance_emotion_scores"),
        "emotion_embeddings": table(embs, "emotion_embeddings", emb_schema),
    }


def set_value(df: pl.DataFrame, row: int, column: str, value: object) -> pl.DataFrame:
    """A copy of `df` with one cell replaced (to break a table in exactly one way)."""
    dtype = df.schema[column]
    replaced = pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value, dtype=dtype))
    return df.with_columns(replaced.otherwise(pl.col(column)).alias(column))


__all__ = ["DATE", "MODEL_ID", "set_value", "synthetic_lake"]


def run_checks(
    available: Mapping[str, pl.DataFrame], with_gx: bool = True
) -> dict[str, CheckOutcome]:
    """Run every check whose input tables are all in `available`, keyed by check name."""
    return {
        spec.name: spec.run(*(available[t] for t in spec.inputs))
        for spec in all_checks(with_gx)
        if all(t in available for t in spec.inputs)
    }
