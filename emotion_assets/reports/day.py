"""Render every track of a day (pictures + HTML) and the day's index; return the report table."""

from __future__ import annotations

import datetime as dt
import logging

import polars as pl

from emotion_assets.contracts import REPORT_SCHEMA
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.reports.day_index import render_day_index
from emotion_assets.reports.render import render_recording_report
from emotion_assets.reports.series import duration_s

log = logging.getLogger(__name__)


def _one(df: pl.DataFrame, recording_id: str, track: int) -> pl.DataFrame:
    return df.filter((pl.col("recording_id") == recording_id) & (pl.col("track") == track))


def render_tracks(
    layout: DataLayout,
    day: str,
    tracks: list[tuple[str, int]],
    *,
    frames: pl.DataFrame,
    smoothed: pl.DataFrame,
    bursts: pl.DataFrame,
    highlights: pl.DataFrame,
    summary: pl.DataFrame,
    utterances: pl.DataFrame,
    recordings: pl.DataFrame,
    sentences: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, list[dict]]:
    """Pictures and a report of each (recording_id, track) of `tracks`: the report table's rows
    (paths relative to the data dir) and the rows the day's index lists.

    `sentences`: segment_emotions (its scope='segment' rows are the transcript lane).
    """
    if sentences is not None and "scope" in sentences.columns:
        sentences = sentences.filter(pl.col("scope") == "segment")
    names = dict(zip(recordings["recording_id"], recordings["file_name"], strict=False))
    track_rows = summary.filter(pl.col("scope") == "track")
    whole = utterances.filter(pl.col("scope") == "track")
    rows, index_rows = [], []
    for rid, track in tracks:
        track_frames = _one(frames, rid, track)
        summary_row = next(iter(_one(track_rows, rid, track).to_dicts()), {})
        utterance = next(iter(_one(whole, rid, track).to_dicts()), {})
        # The headline is what the original tool showed: the utterance emotion and confidence.
        summary_row = {
            **summary_row,
            "dominant_emotion": utterance.get("top_emotion", summary_row.get("dominant_emotion")),
            "confidence": utterance.get("confidence"),
            "file_name": names.get(rid),
        }
        speakers = track_frames["speaker"].drop_nulls().unique().sort().to_list()
        files = render_recording_report(
            layout=layout,
            day=day,
            recording_id=rid,
            track=track,
            frames=track_frames,
            smoothed=_one(smoothed, rid, track),
            bursts=_one(bursts, rid, track),
            highlights=_one(highlights, rid, track),
            summary_row=summary_row,
            title=f"{names.get(rid, rid)} · track {track}",
            model_id=str(track_frames["model_id"][0]),
            transcript=None if sentences is None else _one(sentences, rid, track),
        )
        log.info("report for %s track %s: %s", rid, track, files.html)
        rows.append(
            {
                "recording_date": dt.date.fromisoformat(day),
                "recording_id": rid,
                "track": track,
                "file_name": names.get(rid),
                "speaker": ", ".join(speakers) or None,
                "dominant_emotion": files.dominant_emotion,
                "confidence": files.confidence,
                "curves_png": layout.relative(files.curves_png),
                "heatmap_png": layout.relative(files.heatmap_png),
                "report_html": layout.relative(files.html),
            }
        )
        # The index also shows each track's length and warns about a meaningless model.
        index_rows.append(
            {
                **rows[-1],
                "duration_s": duration_s(track_frames),
                "model_id": str(track_frames["model_id"][0]),
            }
        )
    return pl.DataFrame(rows, schema=REPORT_SCHEMA), index_rows


def day_tracks(frames: pl.DataFrame) -> list[tuple[str, int]]:
    """The (recording_id, track) pairs of a day's frames, sorted."""
    return list(
        frames.select("recording_id", "track").unique().sort("recording_id", "track").iter_rows()
    )


def render_day(
    layout: DataLayout,
    day: str,
    *,
    frames: pl.DataFrame,
    smoothed: pl.DataFrame,
    bursts: pl.DataFrame,
    highlights: pl.DataFrame,
    summary: pl.DataFrame,
    utterances: pl.DataFrame,
    recordings: pl.DataFrame,
    sentences: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every track of the day rendered in this process, and the day's index."""
    table, index_rows = render_tracks(
        layout,
        day,
        day_tracks(frames),
        frames=frames,
        smoothed=smoothed,
        bursts=bursts,
        highlights=highlights,
        summary=summary,
        utterances=utterances,
        recordings=recordings,
        sentences=sentences,
    )
    # Always rewritten: a day whose recordings are all gone must not keep listing them.
    render_day_index(layout, day, index_rows)
    return table
