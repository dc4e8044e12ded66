"""Score the normalized tracks given (a day's): the model step behind frame_emotion_scores.

The tracks go to the engine together (EmotionEngine.score_tracks), so equal-length windows of
different tracks share a forward pass; each track's features stream into its own sinks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl
import soundfile as sf

from emotion_assets.engine import tables
from emotion_assets.engine.core import EmotionEngine, FeatureSink, FrameScores, TrackInput
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


@dataclass
class _Track:
    """What score_day keeps of a track while the engine scores it."""

    recording_id: str
    track: int
    segments: pl.DataFrame
    turns: list[tuple[str, float, float]]
    pooler: SegmentPooler
    files: contextlib.ExitStack  # its .npy writer: closed (renamed into place) once scored


def _tracks(
    engine: EmotionEngine,
    layout: DataLayout,
    day: str,
    normalized: pl.DataFrame,
    segments: pl.DataFrame,
    turns: pl.DataFrame,
    save_frame_embeddings: bool,
    open_files: contextlib.ExitStack,
) -> Iterator[TrackInput]:
    """Each track's waveform, speech and feature sinks, read only when the engine asks."""
    for row in normalized.sort("recording_id", "track").iter_rows(named=True):
        rid, tr = row["recording_id"], int(row["track"])
        wave, rate = sf.read(str(layout.root / row["audio_path"]), dtype="float32")
        if rate != SAMPLE_RATE or wave.ndim != 1:
            raise ValueError(f"{row['audio_path']} is not 16 kHz mono: re-run ingest")
        seg = _of_track(segments, rid, tr)
        turn_rows = _of_track(turns, rid, tr)
        turn_list = list(
            zip(turn_rows["speaker"], turn_rows["t_start"], turn_rows["t_end"], strict=True)
        )
        total = n_frames(len(wave))
        # Features stream into the segment sums (and the .npy when asked): never all in memory.
        pooler = SegmentPooler(total, engine.embed_dim, seg, turn_list)
        sinks = [pooler.add]
        # a failed run leaves through open_files: every unfinished .npy is then deleted
        files = open_files.enter_context(contextlib.ExitStack())
        if save_frame_embeddings:
            target = layout.embeddings_day(day) / f"{rid}_t{tr}.npy"
            writer = files.enter_context(FrameEmbeddingWriter(target, total, engine.embed_dim))
            sinks.append(writer.add)
        # The VAD segments plan the windows (cuts in pauses; speech only when configured).
        yield TrackInput(
            wave,
            speech=tables.segment_bounds(seg),
            on_features=_fan_out(sinks),
            tag=_Track(rid, tr, seg, turn_list, pooler, files),
        )


@dataclass(frozen=True)
class ScoredTrack:
    """One track's rows of frame_emotion_scores and emotion_embeddings."""

    recording_id: str
    track: int
    frames: pl.DataFrame
    embeddings: pl.DataFrame
    seconds: float  # the track's share of the engine's time


def iter_scored_tracks(
    engine: EmotionEngine,
    layout: DataLayout,
    day: str,
    normalized: pl.DataFrame,
    segments: pl.DataFrame,
    turns: pl.DataFrame,
    *,
    save_frame_embeddings: bool = False,
    log: Callable[[str], None] = log.info,
) -> Iterator[ScoredTrack]:
    """Each track of `normalized` as soon as it is scored: a caller that writes it away holds
    one track's rows at a time (the tracks still share the engine's batches)."""
    date = dt.date.fromisoformat(day)
    with contextlib.ExitStack() as open_files:
        tracks = _tracks(
            engine, layout, day, normalized, segments, turns, save_frame_embeddings, open_files
        )
        for i, done in enumerate(engine.score_tracks(tracks), start=1):
            track: _Track = done.track.tag
            track.files.close()  # the track's .npy is complete: into place
            common = {
                "recording_id": track.recording_id,
                "recording_date": date,
                "track": track.track,
                "model_id": engine.model_id,
            }
            scores = done.scores
            frames = tables.frame_table(
                scores, speech_segments=track.segments, turns=track.turns, **common
            )
            seconds = scores.n_samples / SAMPLE_RATE
            took = done.seconds
            others = done.shared_with
            shared = (
                f", passes shared with {others} other track{'s' * (others > 1)}" if others else ""
            )
            log(
                f"[{i}/{normalized.height}] {track.recording_id} track {track.track}: "
                f"{seconds:.1f} s scored in {took:.1f} s "
                f"({seconds / max(took, 1e-9):.1f}x real time), {frames.height} frames, "
                f"{int(frames['is_speech'].sum())} speech, {int(scores.scored.sum())} scored, "
                f"{done.windows} windows{shared}"
            )
            yield ScoredTrack(
                track.recording_id, track.track, frames, track.pooler.table(**common), took
            )


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
    """(frame_emotion_scores, emotion_embeddings) for every track of `normalized`, in memory."""
    scored = list(
        iter_scored_tracks(
            engine,
            layout,
            day,
            normalized,
            segments,
            turns,
            save_frame_embeddings=save_frame_embeddings,
            log=log,
        )
    )
    if not scored:
        return _empty(engine, dt.date.fromisoformat(day))
    return (
        pl.concat([s.frames for s in scored], how="vertical"),
        pl.concat([s.embeddings for s in scored], how="vertical"),
    )
