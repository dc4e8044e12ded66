"""Score every normalized track of a day: the model step behind frame_emotion_scores."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable

import numpy as np
import polars as pl
import soundfile as sf

from emotion_assets.engine import tables
from emotion_assets.engine.core import EmotionEngine, FeatureSink, FrameScores
from emotion_assets.engine.embeddings import FrameEmbeddingWriter, SegmentPooler
from emotion_assets.foundation.labels import EMOTIONS, SAMPLE_RATE, n_frames
from emotion_assets.foundation.layout import DataLayout

log = logging.getLogger(__name__)


def _empty(engine: EmotionEngine, day: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    n_labels = len(EMOTIONS)
    nothing = FrameScores(
        logits=np.zeros((0, n_labels), np.float32),
        probs=np.zeros((0, n_labels), np.float32),
        features=np.zeros((0, engine.embed_dim), np.float32),
        n_samples=0,
    )
    common = {"recording_id": "", "recording_date": day, "track": 0, "model_id": engine.model_id}
    frames = tables.frame_table(nothing, speech_segments=[], turns=[], **common)
    embeddings = SegmentPooler(0, engine.embed_dim, []).table(**common)
    return frames, embeddings


def _fan_out(sinks: list[FeatureSink]) -> FeatureSink:
    def send(first_frame: int, block: np.ndarray) -> None:
        for sink in sinks:
            sink(first_frame, block)

    return send


def _of_track(df: pl.DataFrame, recording_id: str, track: int) -> pl.DataFrame:
    return df.filter((pl.col("recording_id") == recording_id) & (pl.col("track") == track))


def score_day(
    engine: EmotionEngine,
    layout: DataLayout,
    day: str,
    normalized: pl.DataFrame,
    segments: pl.DataFrame,
    turns: pl.DataFrame,
    *,
    save_frame_embeddings: bool = False,
    log: Callable[[str], None] = log.info,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(frame_emotion_scores, emotion_embeddings) for every track of `normalized`."""
    date = dt.date.fromisoformat(day)
    frames_out, embeddings_out = [], []
    tracks = normalized.sort("recording_id", "track").iter_rows(named=True)
    for i, track in enumerate(tracks, start=1):
        rid, tr = track["recording_id"], int(track["track"])
        wave, rate = sf.read(str(layout.root / track["audio_path"]), dtype="float32")
        if rate != SAMPLE_RATE or wave.ndim != 1:
            raise ValueError(f"{track['audio_path']} is not 16 kHz mono: re-run ingest")
        seg = _of_track(segments, rid, tr)
        turn_rows = _of_track(turns, rid, tr)
        turn_list = list(
            zip(turn_rows["speaker"], turn_rows["t_start"], turn_rows["t_end"], strict=True)
        )
        common = {
            "recording_id": rid,
            "recording_date": date,
            "track": tr,
            "model_id": engine.model_id,
        }
        total = n_frames(len(wave))
        # Features stream into the segment sums (and the .npy when asked): never all in memory.
        pooler = SegmentPooler(total, engine.embed_dim, seg, turn_list)
        with contextlib.ExitStack() as stack:
            sinks = [pooler.add]
            if save_frame_embeddings:
                target = layout.embeddings_day(day) / f"{rid}_t{tr}.npy"
                sinks.append(
                    stack.enter_context(FrameEmbeddingWriter(target, total, engine.embed_dim)).add
                )
            started = time.perf_counter()
            # The VAD segments plan the windows (cuts in pauses; speech only when configured).
            scores = engine.score(
                wave, on_features=_fan_out(sinks), speech=tables.segment_bounds(seg)
            )
            took = time.perf_counter() - started
        frames = tables.frame_table(scores, speech_segments=seg, turns=turn_list, **common)
        frames_out.append(frames)
        embeddings_out.append(pooler.table(**common))
        seconds = len(wave) / SAMPLE_RATE
        log(
            f"[{i}/{normalized.height}] {rid} track {tr}: {seconds:.1f} s scored in {took:.1f} s "
            f"({seconds / max(took, 1e-9):.1f}x real time), {frames.height} frames, "
            f"{int(frames['is_speech'].sum())} speech, {int(scores.scored.sum())} scored"
        )
    if not frames_out:
        return _empty(engine, date)
    return (
        pl.concat(frames_out, how="vertical"),
        pl.concat(embeddings_out, how="vertical"),
    )
