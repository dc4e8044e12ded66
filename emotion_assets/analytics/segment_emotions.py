"""Emotion per transcript sentence and word, and the words spoken during bursts and highlights.

segment_emotions: for every transcript segment (scope 'segment') and word (scope 'word'), the
frames whose centre (t_start + 12.5 ms) lies in [t_start, t_end) are scored with the utterance
definition (softmax of the mean frame logits: emotion_assets.engine.tables.summarise_frames);
peak_score / peak_emotion are the highest smoothed score of the six emotional labels over those
frames (null when none is speech); emotional_share is the six emotional scores' sum (the
"intensity" of highlights); speech_share the share of the frames that are speech. A segment
holding no frame (shorter than a frame stride, or past the audio) gets no row.
"""

from __future__ import annotations

import math

import polars as pl

from emotion_assets.analytics.common import EMOTIONAL
from emotion_assets.contracts import TRANSCRIPT_SCHEMAS, conform
from emotion_assets.engine.tables import FRAME_CENTRE_S, FRAME_HOP_S, summarise_frames
from emotion_assets.transcripts.shown import shown_text

SEGMENT_EMOTIONS_SCHEMA = TRANSCRIPT_SCHEMAS["segment_emotions"]
_TRACK = ["recording_id", "track"]
_SPAN = "_span"


def _spans(segments: pl.DataFrame, words: pl.DataFrame | None) -> pl.DataFrame:
    cols = ["recording_date", "recording_id", "track", "segment_idx", "speaker", "t_start", "t_end"]
    parts = [
        segments.select(*cols, "text").with_columns(
            pl.lit("segment").alias("scope"), pl.lit(None, dtype=pl.Int32).alias("word_idx")
        )
    ]
    if words is not None and words.height:
        parts.append(
            words.select(*cols, pl.col("word").alias("text"), "word_idx").with_columns(
                pl.lit("word").alias("scope")
            )
        )
    spans = pl.concat(parts, how="diagonal_relaxed").with_columns(pl.col("track").cast(pl.Int32))
    return spans.with_row_index(_SPAN)


def frames_in_spans(frames: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """Each span's frames (centre in [t_start, t_end)), span columns prefixed with 'span_'."""
    # Candidate frame indices from the 20 ms grid (one either side for float rounding), then
    # the exact test on the frames' own times.
    lo = ((pl.col("t_start") - FRAME_CENTRE_S) / FRAME_HOP_S).floor().cast(pl.Int64) - 1
    hi = ((pl.col("t_end") - FRAME_CENTRE_S) / FRAME_HOP_S).ceil().cast(pl.Int64) + 1
    candidates = (
        spans.select(
            _SPAN,
            *_TRACK,
            pl.col("t_start").alias("span_start"),
            pl.col("t_end").alias("span_end"),
            pl.int_ranges(lo.clip(lower_bound=0), hi.clip(lower_bound=0)).alias("frame_idx"),
        )
        .explode("frame_idx")
        .drop_nulls("frame_idx")
        .with_columns(pl.col("frame_idx").cast(pl.Int32), pl.col("track").cast(pl.Int32))
    )
    centre = pl.col("t_start") + FRAME_CENTRE_S
    return (
        frames.with_columns(pl.col("track").cast(pl.Int32))
        .join(candidates, on=[*_TRACK, "frame_idx"], how="inner")
        .filter((centre >= pl.col("span_start")) & (centre < pl.col("span_end")))
    )


def segment_emotions(
    frames: pl.DataFrame,
    smoothed: pl.DataFrame | None,
    segments: pl.DataFrame,
    words: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Table `segment_emotions` (see module doc)."""
    if frames.is_empty() or segments.is_empty():
        return pl.DataFrame(schema=SEGMENT_EMOTIONS_SCHEMA)
    spans = _spans(segments, words)
    tagged = frames_in_spans(frames, spans)
    if tagged.is_empty():
        return pl.DataFrame(schema=SEGMENT_EMOTIONS_SCHEMA)
    scores = summarise_frames(tagged, [_SPAN]).drop("speaker")
    extras = tagged.group_by(_SPAN).agg(
        pl.col("is_speech").cast(pl.Float64).mean().alias("speech_share")
    )
    if smoothed is not None and smoothed.height:
        peaks = (
            tagged.select(_SPAN, *_TRACK, "frame_idx")
            .join(
                smoothed.select(*_TRACK, "frame_idx", *EMOTIONAL).with_columns(
                    pl.col("track").cast(pl.Int32)
                ),
                on=[*_TRACK, "frame_idx"],
            )
            .group_by(_SPAN)
            .agg(pl.col(e).max().cast(pl.Float64) for e in EMOTIONAL)
            .with_columns(pl.max_horizontal(EMOTIONAL).alias("peak_score"))
            .with_columns(
                pl.concat_list(EMOTIONAL)
                .list.arg_max()
                .replace_strict(
                    list(range(len(EMOTIONAL))), list(EMOTIONAL), return_dtype=pl.String
                )
                .alias("peak_emotion")
            )
            .with_columns(
                pl.when(pl.col("peak_score").is_null())
                .then(None)
                .otherwise("peak_emotion")
                .alias("peak_emotion")
            )
            .select(_SPAN, "peak_score", "peak_emotion")
        )
        extras = extras.join(peaks, on=_SPAN, how="left")
    out = (
        spans.join(scores, on=_SPAN, how="inner")
        .join(extras, on=_SPAN, how="left")
        .with_columns(pl.sum_horizontal(EMOTIONAL).alias("emotional_share"))
    )
    for name in ("peak_score", "peak_emotion"):
        if name not in out.columns:
            out = out.with_columns(pl.lit(None).alias(name))
    return conform(out, SEGMENT_EMOTIONS_SCHEMA).sort(
        "recording_id", "track", "segment_idx", "scope", "word_idx", nulls_last=False
    )


def most_emotional(table: pl.DataFrame, n: int = 3) -> pl.DataFrame:
    """The n sentences (scope 'segment') with the highest emotional_share per recording."""
    sentences = table.filter(pl.col("scope") == "segment")
    return (
        sentences.sort("emotional_share", descending=True, nulls_last=True)
        .group_by("recording_id", maintain_order=True)
        .head(n)
        .sort("recording_id", "emotional_share", descending=[False, True])
    )


def _fmt_time(t: float) -> str:
    return f"{int(t // 60)}:{math.floor(t % 60):02d}"


def most_emotional_markdown(table: pl.DataFrame, names: dict[str, str], n: int = 3) -> str:
    """Markdown for the Dagster UI: per recording, its n most emotional sentences."""
    top = most_emotional(table, n)
    if top.is_empty():
        return "no transcribed sentences"
    parts = []
    for (rid,), group in top.group_by("recording_id", maintain_order=True):
        lines = [f"**{names.get(rid, rid)}**", ""]
        for r in group.iter_rows(named=True):
            text = shown_text(r["text"]).replace("|", "\\|")
            lines.append(
                f"- {_fmt_time(r['t_start'])} · track {r['track']} · {r['speaker'] or 'unknown'} · "
                f"**{r['top_emotion']}** {r['confidence']:.2f} (emotional {r['emotional_share']:.2f}): "
                f"“{text}”"
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
