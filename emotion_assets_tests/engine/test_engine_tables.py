"""Table builders: contract columns and types, speaker attribution, speech flags, summaries."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from emotion_assets.contracts import CONTRACT_SCHEMAS
from emotion_assets.engine.core import FrameScores, softmax, utterance_scores
from emotion_assets.engine.embeddings import embedding_table, save_frame_embeddings
from emotion_assets.engine.tables import frame_table, utterance_table
from emotion_assets.foundation.labels import EMOTIONS

DAY = dt.date(2024, 3, 1)
TURNS = [("alice", 0.0, 1.0), ("bob", 0.8, 2.0)]  # overlap 0.8-1.0 s
SPEECH = [(0.1, 0.5), (1.0, 1.9)]


def _scores(n: int = 100, d: int = 8) -> FrameScores:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (n, 9)).astype(np.float32)
    feats = rng.normal(0, 1, (n, d)).astype(np.float32)
    return FrameScores(logits, softmax(logits).astype(np.float32), feats, (n - 1) * 320 + 400)


def _frames(scores: FrameScores) -> pl.DataFrame:
    return frame_table(
        scores,
        recording_id="0123456789abcdef",
        recording_date=DAY,
        track=0,
        model_id="m",
        speech_segments=SPEECH,
        turns=TURNS,
    )


def _segments() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "recording_date": [DAY, DAY],
            "recording_id": ["0123456789abcdef"] * 2,
            "track": pl.Series([0, 0], dtype=pl.Int32),
            "segment_idx": pl.Series([0, 1], dtype=pl.Int32),
            "t_start": [s for s, _ in SPEECH],
            "t_end": [e for _, e in SPEECH],
            "duration_s": [e - s for s, e in SPEECH],
        }
    )


def test_frame_table_contract():
    df = _frames(_scores())
    expected = CONTRACT_SCHEMAS["frame_emotion_scores"]  # docs/CONTRACTS.md, spelled out once
    assert dict(df.schema) == expected and list(df.columns) == list(expected)
    assert df.height == 100
    np.testing.assert_allclose(df["t_start"].to_numpy(), 0.02 * np.arange(100))
    np.testing.assert_allclose((df["t_end"] - df["t_start"]).to_numpy(), 0.025)
    sums = df.select(pl.sum_horizontal(list(EMOTIONS))).to_series().to_numpy()
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)


def test_speaker_attribution_by_frame_centre():
    df = _frames(_scores())
    by_idx = {r["frame_idx"]: r for r in df.iter_rows(named=True)}
    # centre of frame i is 0.02 i + 0.0125 s
    assert by_idx[10]["speaker"] == "alice" and not by_idx[10]["is_overlap"]  # 0.2125
    assert by_idx[40]["speaker"] is None and by_idx[40]["is_overlap"]  # 0.8125: both
    assert by_idx[49]["is_overlap"]  # 0.9925 < 1.0
    assert by_idx[50]["speaker"] == "bob" and not by_idx[50]["is_overlap"]  # 1.0125
    assert by_idx[99]["speaker"] == "bob"  # 1.9925 < 2.0
    assert df.filter(pl.col("is_overlap"))["frame_idx"].to_list() == list(range(40, 50))
    alone = frame_table(
        _scores(120),
        recording_id="x",
        recording_date=DAY,
        track=0,
        model_id="m",
        speech_segments=[],
        turns=TURNS,
    )
    assert alone.filter(pl.col("frame_idx") >= 100)["speaker"].null_count() == 20  # after 2 s


def test_is_speech_by_frame_centre():
    df = _frames(_scores())
    speech = df.filter(pl.col("is_speech"))["frame_idx"].to_list()
    # centre in [0.1, 0.5): i in 5..24 ; [1.0, 1.9): i in 50..94
    assert speech == list(range(5, 25)) + list(range(50, 95))


def test_utterance_table():
    scores = _scores()
    out = utterance_table(_frames(scores), _segments())
    assert out.schema == pl.Schema(CONTRACT_SCHEMAS["utterance_emotion_scores"])  # the contract
    assert out.schema["segment_idx"] == pl.Int32 and out.schema["angry"] == pl.Float64
    track = out.filter(pl.col("scope") == "track").row(0, named=True)
    assert track["segment_idx"] is None and track["n_frames"] == 100
    np.testing.assert_allclose(
        [track[e] for e in EMOTIONS], utterance_scores(scores.logits), atol=1e-5
    )
    segs = out.filter(pl.col("scope") == "segment").sort("segment_idx")
    assert segs["n_frames"].to_list() == [20, 45]
    np.testing.assert_allclose(
        [segs.row(1, named=True)[e] for e in EMOTIONS],
        utterance_scores(scores.logits[50:95]),
        atol=1e-5,
    )
    assert segs["speaker"].to_list() == ["alice", "bob"]
    for row in out.iter_rows(named=True):
        values = [row[e] for e in EMOTIONS]
        assert abs(sum(values) - 1) < 1e-9
        assert row["confidence"] == max(values)
        assert row["top_emotion"] == EMOTIONS[int(np.argmax(values))]


def test_embedding_table_and_frame_embeddings(tmp_path):
    scores = _scores()
    df = embedding_table(
        scores.features,
        segments=_segments(),
        recording_id="r",
        recording_date=DAY,
        track=0,
        model_id="m",
        turns=TURNS,
    )
    assert df.schema["embedding"] == pl.Array(pl.Float32, 8)
    assert df.columns == [
        "recording_date",
        "recording_id",
        "track",
        "segment_idx",
        "speaker",
        "t_start",
        "t_end",
        "embedding",
        "model_id",
    ]
    np.testing.assert_allclose(
        df["embedding"][1].to_numpy(), scores.features[50:95].mean(axis=0), rtol=1e-5
    )
    path = save_frame_embeddings(tmp_path / "emb" / "x.npy", scores.features)
    np.testing.assert_array_equal(np.load(path), scores.features)
    assert [p.name for p in path.parent.iterdir()] == ["x.npy"]
