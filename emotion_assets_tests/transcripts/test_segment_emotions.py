"""segment_emotions against an independent computation from the frame table; bursts, highlights
and the UI summary carry what was said."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from emotion_assets.analytics import find_bursts, find_highlights, smooth_frames
from emotion_assets.analytics.common import EMOTIONAL
from emotion_assets.analytics.segment_emotions import (
    most_emotional,
    most_emotional_markdown,
    segment_emotions,
)
from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.transcripts.day import transcripts_of_day
from emotion_assets_tests.analytics.frames import build_frames, steps
from emotion_assets_tests.transcripts.helpers import DATA, DAY, make_day, rid_of

LIBRI = "librispeech_198-209-0000"


def _independent(frames: pl.DataFrame, t0: float, t1: float) -> tuple[np.ndarray, int]:
    """softmax(mean log p) over frames whose centre lies in [t0, t1)."""
    centre = frames["t_start"].to_numpy() + 0.0125
    inside = (centre >= t0) & (centre < t1)
    probs = frames.select(EMOTIONS).to_numpy().astype(np.float64)[inside]
    mean_logit = np.log(probs).mean(axis=0)
    e = np.exp(mean_logit - mean_logit.max())
    return e / e.sum(), int(inside.sum())


@pytest.fixture
def transcribed(tmp_path, shared_audio):
    name = f"{LIBRI}.transcript.json"
    layout, raw, norm, turns = make_day(
        tmp_path, {f"{LIBRI}.ogg": shared_audio / "speech" / f"{LIBRI}.ogg"}, {name: DATA / name}
    )
    tables = transcripts_of_day(layout, DAY, raw, norm, turns)
    n = int(norm["n_samples"][0] - 400) // 320 + 1
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(len(EMOTIONS)) * 0.7, size=n)
    frames = build_frames(
        n,
        {e: probs[:, i] for i, e in enumerate(EMOTIONS)},
        recording_id=rid_of(f"{LIBRI}.ogg"),
        day=raw["recording_date"][0],
        speech=rng.random(n) > 0.2,
    )
    return frames, tables


def test_scores_are_softmax_of_mean_frame_logits(transcribed):
    frames, tables = transcribed
    smoothed = smooth_frames(frames)
    out = segment_emotions(frames, smoothed, tables.segments, tables.words)
    assert out.filter(pl.col("scope") == "segment").height == 2
    assert out.filter(pl.col("scope") == "word").height == 15
    for row in out.iter_rows(named=True):
        expected, count = _independent(frames, row["t_start"], row["t_end"])
        got = np.array([row[e] for e in EMOTIONS])
        assert row["n_frames"] == count
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
        assert row["top_emotion"] == EMOTIONS[int(np.argmax(expected))]
        assert row["confidence"] == pytest.approx(expected.max(), abs=1e-6)
        assert row["emotional_share"] == pytest.approx(
            sum(expected[EMOTIONS.index(e)] for e in EMOTIONAL), abs=1e-6
        )
        centre = smoothed["t_start"] + 0.0125
        inside = smoothed.filter((centre >= row["t_start"]) & (centre < row["t_end"]))
        assert row["speech_share"] == pytest.approx(inside["is_speech"].mean())
        assert row["peak_score"] == pytest.approx(
            inside.select(EMOTIONAL).max().max_horizontal()[0]
        )
    word = out.filter(pl.col("text") == "uneasiness").row(0, named=True)
    assert (word["scope"], word["segment_idx"], word["word_idx"]) == ("word", 0, 4)


def test_a_burst_carries_the_text_of_the_cue_it_overlaps(tmp_path):
    # 20 s track: angry 0.9 from 6 s to 10 s (frames 300-499), calm elsewhere.
    frames = build_frames(
        1000,
        {"angry": steps((300, 0.05), (200, 0.9), (500, 0.05))},
        recording_id=rid_of("call.wav"),
    )
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nGood morning.\n\n"
        "00:00:06.500 --> 00:00:09.000\n<v Customer>I want a refund, now!\n\n"
        "00:00:12.000 --> 00:00:13.000\nThank you, bye.\n"
    )
    layout, raw, norm, turns = make_day(tmp_path, {"call.wav": 20.0}, {"call.vtt": vtt})
    segments = transcripts_of_day(layout, DAY, raw, norm, turns).segments
    smoothed = smooth_frames(frames)
    (burst,) = find_bursts(smoothed, {"angry": (0.7, 3.0)}, segments).rows(named=True)
    assert burst["text"] == "I want a refund, now!"
    assert find_bursts(smoothed, {"angry": (0.7, 3.0)})["text"].to_list() == [None]
    highlights = find_highlights(
        smoothed, None, DataLayout(tmp_path), write_clips=False, transcript=segments
    )
    top = highlights.filter((pl.col("rank_by") == "intensity") & (pl.col("rank") == 1)).row(
        0, named=True
    )
    assert top["text"] == "I want a refund, now!"

    table = segment_emotions(frames, smoothed, segments)
    (first,) = most_emotional(table, 1).rows(named=True)
    assert first["text"] == "I want a refund, now!" and first["top_emotion"] == "angry"
    md = most_emotional_markdown(table, {rid_of("call.wav"): "call.wav"})
    assert md.index("I want a refund, now!") < md.index("Good morning.")
    assert "**call.wav**" in md and "Customer" in md


def test_no_transcript_no_rows(transcribed):
    frames, tables = transcribed
    assert segment_emotions(frames, None, tables.segments.clear()).is_empty()
