"""Per-recording tables computed a group of recordings at a time (analytics/by_recording.py)
equal the same tables computed on the whole day: the bounded-memory path changes no row."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from emotion_assets.analytics.bursts import find_bursts
from emotion_assets.analytics.by_recording import by_recording
from emotion_assets.analytics.segment_emotions import segment_emotions
from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets.analytics.summary import recording_summary
from emotion_assets.analytics.team_health import (
    speaker_parts,
    team_health,
    team_health_from_parts,
)
from emotion_assets.analytics.timeline import emotion_timeline
from emotion_assets.contracts import TABLE_SCHEMAS
from emotion_assets.engine.tables import utterance_table
from emotion_assets.foundation.labels import EMOTIONS, FRAME_HOP_S
from emotion_assets.foundation.work_units import recording_groups
from emotion_assets.settings import AnalyticsSettings

DAY = dt.date(2024, 6, 3)
# (recording, track, frames): lengths differ so groups hold one, two or three recordings.
TRACKS = [("r1", 0, 900), ("r1", 1, 700), ("r2", 0, 3000), ("r3", 0, 400), ("r4", 0, 1200)]


def _frames(seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for rid, track, n in TRACKS:
        logits = rng.normal(size=(n, len(EMOTIONS))) * 2
        scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        idx = np.arange(n, dtype=np.int32)
        speech = (idx // 150) % 3 != 2  # speech runs with pauses
        values = {
            "recording_date": [DAY] * n,
            "recording_id": [rid] * n,
            "track": np.full(n, track, dtype=np.int32),
            # The same two people in every recording: team health combines them across groups.
            "speaker": np.where(idx < n // 2, "alice", np.where(idx < n - 50, "bob", None)),
            "is_overlap": idx >= n - 50,  # the last second: both at once
            "frame_idx": idx,
            "t_start": idx * FRAME_HOP_S,
            "t_end": (idx + 1) * FRAME_HOP_S,
            **{e: scores[:, i].astype(np.float32) for i, e in enumerate(EMOTIONS)},
            "top_emotion": np.asarray(EMOTIONS)[scores.argmax(axis=1)],
            "is_speech": speech,
            "model_id": ["tiny"] * n,
        }
        parts.append(pl.DataFrame(values).cast(TABLE_SCHEMAS["frame_emotion_scores"]))
    return pl.concat(parts)


def _segments(frames: pl.DataFrame) -> pl.DataFrame:
    """One speech segment per speech run of each track."""
    runs = (
        frames.filter(pl.col("is_speech"))
        .with_columns((pl.col("frame_idx") // 150).alias("run"))
        .group_by("recording_date", "recording_id", "track", "run", maintain_order=True)
        .agg(pl.col("t_start").min(), pl.col("t_end").max())
    )
    return runs.with_columns(
        pl.col("run")
        .rank("dense")
        .over("recording_id", "track")
        .cast(pl.Int32)
        .sub(1)
        .alias("segment_idx")
    ).drop("run")


@pytest.fixture(scope="module")
def frames() -> pl.DataFrame:
    return _frames()


def _grouped(frames: pl.DataFrame, inputs: dict, compute, limit_s: float) -> pl.DataFrame:
    return pl.concat(list(by_recording(frames.lazy(), inputs, compute, limit_s)))


@pytest.mark.parametrize("limit_s", [20.0, 45.0])
def test_groups_bound_the_audio_and_keep_the_order(frames: pl.DataFrame, limit_s: float) -> None:
    groups = recording_groups(frames.lazy(), limit_s)
    assert [rid for group in groups for rid in group] == ["r1", "r2", "r3", "r4"]
    seconds = frames.group_by("recording_id").len().with_columns(pl.col("len") * FRAME_HOP_S)
    per_id = dict(seconds.iter_rows())
    for group in groups:  # within the limit, unless one recording alone is longer
        assert len(group) == 1 or sum(per_id[r] for r in group) <= limit_s
    assert len(groups) > 1


def test_smoothing_summary_timeline_and_bursts_equal_the_whole_day(frames: pl.DataFrame) -> None:
    smoothed = smooth_frames(frames, window=5)
    lazy, lazy_smoothed = frames.lazy(), smoothed.lazy()
    cases = [
        (smoothed, {"frames": lazy}, lambda frames: smooth_frames(frames, window=5)),
        (
            recording_summary(frames, smoothed, window=5),
            {"frames": lazy, "smoothed": lazy_smoothed},
            lambda frames, smoothed: recording_summary(frames, smoothed, window=5),
        ),
        (
            emotion_timeline(frames, bucket_s=10.0),
            {"frames": lazy},
            lambda frames: emotion_timeline(frames, bucket_s=10.0),
        ),
        (
            find_bursts(smoothed, {"angry": (0.15, 0.2), "happy": (0.15, 0.2)}),
            {"smoothed": lazy_smoothed},
            lambda smoothed: find_bursts(smoothed, {"angry": (0.15, 0.2), "happy": (0.15, 0.2)}),
        ),
    ]
    for whole, inputs, compute in cases:
        grouped = _grouped(frames, inputs, compute, limit_s=20.0)
        assert whole.height > 0
        assert_frame_equal(grouped, whole)


def test_utterances_equal_the_whole_day(frames: pl.DataFrame) -> None:
    segments = _segments(frames)
    whole = utterance_table(frames, segments)
    grouped = _grouped(
        frames, {"frames": frames.lazy(), "segments": segments}, utterance_table, limit_s=20.0
    )
    assert whole.height >= segments.height > 0  # a row per segment (and per track)
    assert_frame_equal(grouped, whole)


def test_sentence_and_word_emotions_equal_the_whole_day(frames: pl.DataFrame) -> None:
    segments = _segments(frames).with_columns(
        pl.lit("alice").alias("speaker"),
        pl.format("sentence {}", pl.col("segment_idx")).alias("text"),
    )
    words = segments.with_columns(  # one word a sentence, its first second
        pl.lit(0, pl.Int32).alias("word_idx"),
        (pl.col("t_start") + 1.0).alias("t_end"),
        pl.lit("word").alias("word"),
    )
    smoothed = smooth_frames(frames, window=5)
    whole = segment_emotions(frames, smoothed, segments, words)
    grouped = _grouped(
        frames,
        {
            "frames": frames.lazy(),
            "smoothed": smoothed.lazy(),
            "segments": segments,
            "words": words,
        },
        segment_emotions,
        limit_s=20.0,
    )
    assert set(whole["scope"]) == {"segment", "word"}
    assert_frame_equal(grouped, whole)


def test_a_day_without_frames_gives_the_empty_table() -> None:
    empty = pl.DataFrame(schema=TABLE_SCHEMAS["frame_emotion_scores"]).lazy()
    out = list(by_recording(empty, {"frames": empty}, lambda frames: smooth_frames(frames), 60))
    assert len(out) == 1 and out[0].height == 0
    assert out[0].schema == smooth_frames(_frames().head(0)).schema


def test_team_health_from_groups_equals_the_whole_day(frames: pl.DataFrame) -> None:
    smoothed = smooth_frames(frames, window=5)
    turns = pl.DataFrame(
        [(rid, track, who, 0.0, n * FRAME_HOP_S) for rid, track, n in TRACKS for who in ("bob",)],
        schema=["recording_id", "track", "speaker", "t_start", "t_end"],
        orient="row",
    ).with_columns(pl.col("track").cast(pl.Int32))
    bursts = find_bursts(smoothed, {"angry": (0.15, 0.2)})
    whole = team_health(frames, smoothed, bursts, None, turns, AnalyticsSettings())
    parts = _grouped(
        frames,
        {"frames": frames.lazy(), "smoothed": smoothed.lazy(), "turns": turns},
        lambda frames, smoothed, turns: speaker_parts(frames, smoothed, turns, 5),
        limit_s=20.0,
    )
    grouped = team_health_from_parts(parts, bursts, None, AnalyticsSettings())
    assert whole["speaker"].to_list() == ["alice", "bob"]
    assert whole["n_recordings"].to_list() == [4, 4] and whole["overlap_s"][1] > 0
    assert_frame_equal(grouped, whole, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
