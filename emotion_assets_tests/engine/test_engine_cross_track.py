"""Scoring several tracks together (EmotionEngine.score_tracks): batches span tracks, and every
track gets what scoring it alone gives (scores, streamed features, pooled embeddings)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf

from emotion_assets.engine import accel
from emotion_assets.engine.config import EngineConfig
from emotion_assets.engine.core import TrackInput, load_engine
from emotion_assets.engine.day import score_day
from emotion_assets.engine.embeddings import SegmentPooler
from emotion_assets.foundation.labels import EMOTIONS, n_frames
from emotion_assets.foundation.layout import DataLayout

SR = 16_000
# pauses of 0.6-0.7 s: a 75 s track is cut into windows of several lengths
LONG_SPEECH = [(0.5, 13.5), (14.2, 30.0), (30.6, 44.0), (44.5, 74.0)]


def _engine(tiny_dir: Path, **overrides):
    return load_engine(EngineConfig(model=str(tiny_dir), threads=1, **overrides))


@pytest.fixture(scope="module")
def tracks(speech) -> dict[str, tuple[np.ndarray, list[tuple[float, float]]]]:
    """(wave, speech segments) of tracks of different lengths; two pairs share window lengths."""
    clips = list(speech.values())
    long = np.resize(np.concatenate(clips), 75 * SR).astype(np.float32)
    rng = np.random.default_rng(5)
    return {
        "long": (long, LONG_SPEECH),
        # other audio, the same speech times: the same windows, so they can share batches
        "long twin": (np.ascontiguousarray(long[::-1]), LONG_SPEECH),
        "short": (clips[0][: 5 * SR], [(0.3, 4.8)]),  # shorter than one window: funasr's input
        "short twin": (clips[1][: 5 * SR], [(0.3, 4.8)]),
        "no speech": ((rng.standard_normal(20 * SR) * 5e-4).astype(np.float32), []),
        "too short for a frame": (np.zeros(399, np.float32), []),
    }


def _alone(engine, tracks):
    out = {}
    for name, (wave, segments) in tracks.items():
        scores = engine.score(wave, with_features=True, speech=segments)
        pooler = SegmentPooler(scores.n_frames, engine.embed_dim, segments)
        pooler.add(0, np.nan_to_num(scores.features))
        out[name] = (scores, pooler)
    return out


def _together(engine, tracks, **kwargs):
    """Every track through one score_tracks call, features both kept and streamed."""
    poolers = {}

    def inputs():
        for name, (wave, segments) in tracks.items():
            pooler = SegmentPooler(n_frames(len(wave)), engine.embed_dim, segments)
            poolers[name] = pooler
            yield TrackInput(wave, segments, on_features=pooler.add, tag=name)

    kept = {d.track.tag: d.scores for d in engine.score_tracks(_with_features(tracks), **kwargs)}
    streamed = {d.track.tag: d for d in engine.score_tracks(inputs(), **kwargs)}
    return kept, streamed, poolers


def _with_features(tracks):
    for name, (wave, segments) in tracks.items():
        yield TrackInput(wave, segments, with_features=True, tag=name)


def _pooled(pooler: SegmentPooler) -> np.ndarray:
    common = {"recording_id": "r", "recording_date": dt.date(2024, 5, 2), "track": 0}
    table = pooler.table(model_id="m", **common)
    return np.stack(table["embedding"].to_numpy()) if table.height else np.zeros((0, pooler.dim))


@pytest.mark.parametrize("speech_only", [False, True], ids=["all frames", "speech only"])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_tracks_scored_together_equal_tracks_scored_alone(
    tiny_dir, tracks, batch_size, speech_only
):
    reference = _alone(_engine(tiny_dir, batch_size=1, speech_only=speech_only), tracks)
    engine = _engine(tiny_dir, batch_size=batch_size, speech_only=speech_only)
    kept, streamed, poolers = _together(engine, tracks)
    assert list(kept) == list(tracks) == list(streamed)  # handed back in the order given
    for name, (want, want_pooler) in reference.items():
        for got in (kept[name], streamed[name].scores):
            assert got.n_samples == want.n_samples
            np.testing.assert_allclose(got.logits, want.logits, atol=1e-5, rtol=0, err_msg=name)
            np.testing.assert_allclose(got.probs, want.probs, atol=1e-5, rtol=0, err_msg=name)
        np.testing.assert_allclose(kept[name].features, want.features, atol=1e-5, rtol=0)
        assert streamed[name].scores.features is None
        np.testing.assert_allclose(
            _pooled(poolers[name]), _pooled(want_pooler), atol=1e-5, rtol=0, err_msg=name
        )
    if speech_only:  # nothing of the silent track is computed
        assert not kept["no speech"].scored.any() and streamed["no speech"].windows == 0
    assert kept["too short for a frame"].n_frames == 0
    shared = {name: done.shared_with for name, done in streamed.items()}
    if batch_size == 1:
        assert set(shared.values()) == {0}
    else:
        assert shared["long"] >= 1 and shared["short"] >= 1


def test_a_batch_spans_two_tracks(tiny_dir, tracks, monkeypatch):
    batches: list[int] = []
    forward = accel.features_forward

    def counting(model, source, *args, **kwargs):
        batches.append(int(source.shape[0]))
        return forward(model, source, *args, **kwargs)

    monkeypatch.setattr(accel, "features_forward", counting)
    engine = _engine(tiny_dir, batch_size=4)
    pair = {name: tracks[name] for name in ("short", "short twin")}
    list(engine.score_tracks(_with_features(pair)))
    assert batches == [2]  # one window each, of equal length: one forward pass for both
    batches.clear()
    twins = {name: tracks[name] for name in ("long", "long twin")}
    alone = len(engine.plan(n_frames(75 * SR), LONG_SPEECH))
    list(engine.score_tracks(_with_features(twins)))
    assert sum(batches) == 2 * alone and len(batches) < alone + alone
    assert max(batches) >= 2


def test_tracks_are_read_lazily(tiny_dir, tracks):
    """Memory: no more audio is read ahead than the lookahead allows."""
    engine = _engine(tiny_dir, batch_size=4)
    read: list[str] = []

    def inputs():
        for name in ("short", "long", "short twin"):
            read.append(name)
            yield TrackInput(*tracks[name], tag=name)

    results = engine.score_tracks(inputs(), lookahead_s=0)
    assert next(results).track.tag == "short" and read == ["short"]
    assert [d.track.tag for d in results] == ["long", "short twin"]
    read.clear()
    results = engine.score_tracks(inputs(), lookahead_s=80)  # 5 s + 75 s: the limit reached
    first = next(results)
    assert first.track.tag == "short" and read == ["short", "long"] and first.shared_with == 0
    read.clear()
    results = engine.score_tracks(inputs(), lookahead_s=81)
    first = next(results)  # the two 5 s tracks now share their forward pass
    assert read == ["short", "long", "short twin"] and first.shared_with == 1


def test_score_day_batches_across_tracks(tiny_dir, tracks, tmp_path):
    """A day's tracks through score_day: batched across tracks equals one track at a time,
    tables and .npy frame embeddings, and the progress log has a line per track."""
    names = ["long", "long twin", "short", "short twin", "no speech"]
    for name in names:
        sf.write(tmp_path / f"{name}.wav", tracks[name][0], SR, subtype="FLOAT")
    keys = {"recording_id": names, "track": [0] * len(names)}
    normalized = pl.DataFrame({**keys, "audio_path": [f"{n}.wav" for n in names]})
    rows = [(n, i, s, e) for n in names for i, (s, e) in enumerate(tracks[n][1])]
    segments = pl.DataFrame(
        rows, schema=["recording_id", "segment_idx", "t_start", "t_end"], orient="row"
    ).with_columns(track=pl.lit(0, pl.Int32), segment_idx=pl.col("segment_idx").cast(pl.Int32))
    turns = pl.DataFrame(
        {**keys, "speaker": ["ana"] * len(names), "t_start": [0.0] * 5, "t_end": [80.0] * 5},
        schema_overrides={"track": pl.Int32},
    )
    out = {}
    for batch_size in (1, 4):
        layout, lines = DataLayout(tmp_path / f"b{batch_size}"), []
        layout.root.mkdir()
        for name in names:
            (layout.root / f"{name}.wav").symlink_to(tmp_path / f"{name}.wav")
        frames, embeddings = score_day(
            _engine(tiny_dir, batch_size=batch_size),
            layout,
            "2024-05-02",
            normalized,
            segments,
            turns,
            save_frame_embeddings=True,
            log=lines.append,
        )
        npy = {n: np.load(layout.embeddings_day("2024-05-02") / f"{n}_t0.npy") for n in names}
        out[batch_size] = (frames, embeddings, npy, lines)
    (f1, e1, n1, log1), (f4, e4, n4, log4) = out[1], out[4]
    # top_emotion may flip where two scores tie within the tolerance
    assert f1.drop(*EMOTIONS, "top_emotion").equals(f4.drop(*EMOTIONS, "top_emotion"))
    for col in EMOTIONS:
        assert float((f1[col] - f4[col]).abs().max()) <= 1e-5
    assert e1.drop("embedding").equals(e4.drop("embedding"))
    np.testing.assert_allclose(
        np.stack(e1["embedding"].to_numpy()), np.stack(e4["embedding"].to_numpy()), atol=1e-5
    )
    for name in names:
        np.testing.assert_allclose(n4[name], n1[name], atol=1e-5, rtol=0)
    assert [line.split(":")[0] for line in log4] == [
        f"[{i}/5] {name} track 0" for i, name in enumerate(sorted(names), start=1)
    ]
    assert any("passes shared with" in line for line in log4)
    assert not any("shared with" in line for line in log1)


def test_onnx_backend_batches_across_tracks(tiny_dir, tracks):
    """EMOTION_ENGINE_BACKEND=onnx takes the same cross-track batches as torch."""
    onnx = {b: _engine(tiny_dir, batch_size=b, backend="onnx") for b in (1, 4)}
    some = {name: tracks[name] for name in ("long", "long twin", "short", "short twin")}
    reference = _alone(onnx[1], some)
    kept, streamed, poolers = _together(onnx[4], some)
    for name, (want, want_pooler) in reference.items():
        np.testing.assert_allclose(kept[name].probs, want.probs, atol=1e-5, rtol=0)
        np.testing.assert_allclose(kept[name].features, want.features, atol=1e-5, rtol=0)
        np.testing.assert_allclose(_pooled(poolers[name]), _pooled(want_pooler), atol=1e-5)
    assert streamed["short"].shared_with == 1 and streamed["long"].shared_with >= 1
