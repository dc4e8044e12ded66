"""Polars tables of emotion scores, per docs/CONTRACTS.md (frame, utterance, embedding).

Frames are attributed by their centre (t_start + 0.0125 s): a frame is speech when its centre lies
in a VAD segment [t_start, t_end), and belongs to the one speaker whose turn covers the centre
(null with is_overlap when two or more speakers' turns cover it, null when nobody's does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from emotion_assets.contracts import CONTRACT_SCHEMAS
from emotion_assets.foundation.labels import EMOTIONS, FRAME_HOP_S, FRAME_LENGTH_S

if TYPE_CHECKING:  # the engine (torch) is not needed to build or read these tables
    from emotion_assets.engine.core import FrameScores

FRAME_CENTRE_S = FRAME_LENGTH_S / 2
_KEYS = ["recording_date", "recording_id", "track"]


def frame_centres(n_frames: int) -> np.ndarray:
    return np.arange(n_frames, dtype=np.float64) * FRAME_HOP_S + FRAME_CENTRE_S


def _covered(centres: np.ndarray, intervals: Sequence[tuple[float, float]]) -> np.ndarray:
    """Boolean mask of centres inside any [start, end) interval."""
    mask = np.zeros(centres.shape[0], dtype=bool)
    for start, end in intervals:
        lo, hi = np.searchsorted(centres, [start, end], side="left")
        mask[lo:hi] = True
    return mask


def frame_speaker_codes(
    n_frames: int, turns: Sequence[tuple[str, float, float]]
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Per frame: the index into `names` of the single speaker covering its centre (-1: nobody
    or several), the sorted speaker names, and whether >= 2 speakers cover it.

    A sweep over turn boundaries: memory is O(frames + turns), not speakers x frames (an RTTM
    naming 150,000 speakers used to build a 7.6 GB mask). Overlapping turns of one speaker are
    merged first, so they never count as overlap.
    """
    centres = frame_centres(n_frames)
    by_speaker: dict[str, list[tuple[float, float]]] = {}
    for speaker, start, end in turns:
        by_speaker.setdefault(str(speaker), []).append((float(start), float(end)))
    names = sorted(by_speaker)
    count = np.zeros(n_frames + 1, dtype=np.int32)
    code_sum = np.zeros(n_frames + 1, dtype=np.int64)
    for code, name in enumerate(names):
        bounds = np.searchsorted(centres, np.array(by_speaker[name], dtype=np.float64), "left")
        bounds = bounds[bounds[:, 1] > bounds[:, 0]]
        if not len(bounds):
            continue
        bounds = bounds[np.argsort(bounds[:, 0], kind="stable")]
        # union of this speaker's frame ranges: a new run starts where it passes the furthest end
        ends = np.maximum.accumulate(bounds[:, 1])
        starts_run = np.r_[True, bounds[1:, 0] > ends[:-1]]
        run_lo = bounds[starts_run, 0]
        run_hi = ends[np.r_[starts_run[1:], True]]
        np.add.at(count, run_lo, 1)
        np.add.at(count, run_hi, -1)
        np.add.at(code_sum, run_lo, code)
        np.add.at(code_sum, run_hi, -code)
    covering = np.cumsum(count[:n_frames])
    codes = np.where(covering == 1, np.cumsum(code_sum[:n_frames]), -1).astype(np.int32)
    return codes, names, covering >= 2


def frame_speakers(
    n_frames: int, turns: Sequence[tuple[str, float, float]]
) -> tuple[list[str | None], np.ndarray]:
    """Per frame: the single speaker covering its centre (or None) and whether >= 2 overlap."""
    codes, names, overlap = frame_speaker_codes(n_frames, turns)
    lookup = [*names, None]  # code -1 picks the trailing None
    return [lookup[c] for c in codes.tolist()], overlap


def speaker_column(codes: np.ndarray, names: list[str]) -> pl.Series:
    """The per-frame speaker column, built by gathering from the distinct names.

    A gather of a string column shares the names' bytes (each row is a 16-byte view), so a long
    name costs its length once, not once per frame.
    """
    distinct = pl.Series("speaker", [*names, None], dtype=pl.String)
    index = np.where(codes < 0, len(names), codes).astype(np.uint32)
    return distinct.gather(pl.Series(index))


def segment_bounds(segments: pl.DataFrame | Sequence[tuple[float, float]]) -> list:
    if isinstance(segments, pl.DataFrame):
        return list(zip(segments["t_start"].to_list(), segments["t_end"].to_list(), strict=True))
    return [(float(s), float(e)) for s, e in segments]


def frame_table(
    scores: FrameScores,
    *,
    recording_id: str,
    recording_date: dt.date,
    track: int,
    model_id: str,
    speech_segments: Sequence[tuple[float, float]] | pl.DataFrame,
    turns: Sequence[tuple[str, float, float]],
) -> pl.DataFrame:
    """frame_emotion_scores rows for one track."""
    n = scores.n_frames
    idx = np.arange(n, dtype=np.int32)
    t_start = idx.astype(np.float64) * FRAME_HOP_S
    codes, names, overlap = frame_speaker_codes(n, turns)
    probs = np.asarray(scores.probs, dtype=np.float32)
    labels = np.array(EMOTIONS)
    data: dict[str, pl.Series] = {
        "recording_date": pl.Series([recording_date] * n, dtype=pl.Date),
        "recording_id": pl.Series([recording_id] * n, dtype=pl.String),
        "track": pl.Series([track] * n, dtype=pl.Int32),
        "speaker": speaker_column(codes, names),
        "is_overlap": pl.Series(overlap, dtype=pl.Boolean),
        "frame_idx": pl.Series(idx, dtype=pl.Int32),
        "t_start": pl.Series(t_start, dtype=pl.Float64),
        "t_end": pl.Series(t_start + FRAME_LENGTH_S, dtype=pl.Float64),
    }
    # Frames the engine did not score (speech-only mode: outside speech) get NULL scores.
    unscored = np.isnan(probs).any(axis=1)
    for j, name in enumerate(EMOTIONS):
        data[name] = pl.Series(probs[:, j], dtype=pl.Float32, nan_to_null=True)
    top = pl.Series(labels[np.nan_to_num(probs).argmax(axis=1)] if n else [], dtype=pl.String)
    data["top_emotion"] = top.scatter(np.flatnonzero(unscored), None) if unscored.any() else top
    centres = frame_centres(n)
    data["is_speech"] = pl.Series(
        _covered(centres, segment_bounds(speech_segments)), dtype=pl.Boolean
    )
    data["model_id"] = pl.Series([model_id] * n, dtype=pl.String)
    return pl.DataFrame(data)


def _softmax_columns(prefix: str) -> list[pl.Expr]:
    """softmax over the nine mean-log-probability columns, as float64 score columns."""
    cols = [pl.col(f"{prefix}{e}") for e in EMOTIONS]
    peak = pl.max_horizontal(cols)
    total = pl.sum_horizontal([(c - peak).exp() for c in cols])
    return [((pl.col(f"{prefix}{e}") - peak).exp() / total).alias(e) for e in EMOTIONS]


def _majority_speaker(frames: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The speaker of more than half of each group's frames (else null)."""
    counts = (
        frames.group_by([*keys, "speaker"])
        .agg(pl.len().alias("_n_spk"))
        .join(frames.group_by(keys).agg(pl.len().alias("_n_all")), on=keys, nulls_equal=True)
        .filter(pl.col("speaker").is_not_null() & (2 * pl.col("_n_spk") > pl.col("_n_all")))
    )
    return counts.select([*keys, "speaker"])


def _summarise(frames: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    logp = [
        pl.col(e).cast(pl.Float64).clip(lower_bound=1e-30).log().mean().alias(f"_lp_{e}")
        for e in EMOTIONS
    ]
    out = frames.group_by(keys).agg(
        pl.col("t_start").min().alias("_t0"),
        pl.col("t_end").max().alias("_t1"),
        # scored frames (speech-only mode leaves the others NULL; means skip them too)
        pl.col(EMOTIONS[0]).count().cast(pl.Int64).alias("n_frames"),
        pl.col("model_id").first(),
        *logp,
    )
    out = out.filter(pl.col("n_frames") > 0).with_columns(_softmax_columns("_lp_"))
    out = out.join(_majority_speaker(frames, keys), on=keys, how="left", nulls_equal=True)
    return out.with_columns(
        pl.concat_list([pl.col(e) for e in EMOTIONS]).list.arg_max().alias("_top"),
        pl.max_horizontal([pl.col(e) for e in EMOTIONS]).alias("confidence"),
    ).with_columns(
        pl.col("_top")
        .replace_strict(list(range(len(EMOTIONS))), list(EMOTIONS), return_dtype=pl.String)
        .alias("top_emotion")
    )


def summarise_frames(frames: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per group of `keys`: the utterance definition (softmax of the mean frame logits as the
    nine score columns, top_emotion, confidence, n_frames, model_id, majority speaker), plus
    _t0/_t1 (first frame start, last frame end). Shared by utterances and transcript segments."""
    return _summarise(frames, keys)


_UTTERANCE_COLUMNS = list(CONTRACT_SCHEMAS["utterance_emotion_scores"])


def utterance_table(frames: pl.DataFrame, segments: pl.DataFrame) -> pl.DataFrame:
    """utterance_emotion_scores: one scope='track' row per track, one 'segment' row per segment.

    Scores are softmax(mean frame logits), computed from the frame probabilities as
    softmax(mean log p) (equal: each frame's log-sum-exp constant cancels). A segment holds the
    frames whose centre lies in [t_start, t_end); segments without any frame get no row.
    speaker = the speaker of more than half of the frames in scope, else null.
    """
    if frames.is_empty():
        return pl.DataFrame(schema=_utterance_schema())
    track_rows = _summarise(frames, _KEYS).with_columns(
        pl.lit("track").alias("scope"),
        pl.lit(None, dtype=pl.Int32).alias("segment_idx"),
        pl.col("_t0").alias("t_start"),
        pl.col("_t1").alias("t_end"),
    )
    parts = [track_rows.select(_UTTERANCE_COLUMNS)]
    if not segments.is_empty():
        segs = (
            segments.select(
                *_KEYS,
                pl.col("segment_idx").cast(pl.Int32),
                pl.col("t_start").alias("seg_start"),
                pl.col("t_end").alias("seg_end"),
            )
            .with_columns(pl.col("track").cast(pl.Int32))
            .sort("seg_start")
        )
        tagged = (
            frames.with_columns((pl.col("t_start") + FRAME_CENTRE_S).alias("_centre"))
            .sort("_centre")
            .join_asof(
                segs,
                left_on="_centre",
                right_on="seg_start",
                by=_KEYS,
                check_sortedness=False,
                strategy="backward",
            )
            .filter(pl.col("_centre") < pl.col("seg_end"))
        )
        if not tagged.is_empty():
            seg_keys = [*_KEYS, "segment_idx", "seg_start", "seg_end"]
            seg_rows = _summarise(tagged, seg_keys).with_columns(
                pl.lit("segment").alias("scope"),
                pl.col("seg_start").alias("t_start"),
                pl.col("seg_end").alias("t_end"),
            )
            parts.append(seg_rows.select(_UTTERANCE_COLUMNS))
    out = pl.concat(parts).cast(_utterance_schema())
    return out.sort(
        ["recording_date", "recording_id", "track", "scope", "segment_idx"],
        descending=[False, False, False, True, False],
        nulls_last=False,
    )


def _utterance_schema() -> dict:
    return dict(CONTRACT_SCHEMAS["utterance_emotion_scores"])
