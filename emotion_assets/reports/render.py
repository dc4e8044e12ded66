"""Render one recording/track: curves PNG, heat-map PNG and the interactive HTML report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from emotion_assets.audio.ingest import wav_path
from emotion_assets.foundation.atomic_files import write_bytes_atomically
from emotion_assets.foundation.labels import FRAME_STRIDE, SAMPLE_RATE
from emotion_assets.foundation.layout import DataLayout, UnsafePathError
from emotion_assets.reports import pictures
from emotion_assets.reports.files import (
    ensure_plotly_js,
    relative_url,
    report_stem,
    reports_dir,
)
from emotion_assets.reports.html_report import AudioClip, curves_figure, report_html
from emotion_assets.reports.palette import is_meaningless_model
from emotion_assets.reports.series import (
    DEFAULT_MAX_POINTS,
    downsample,
    duration_s,
    emotion_means,
    headline,
    heatmap,
    main_speaker,
    nonspeech_spans,
    select_track,
)


@dataclass(frozen=True)
class ReportFiles:
    curves_png: Path
    heatmap_png: Path
    html: Path
    dominant_emotion: str | None = None
    confidence: float | None = None


def _audio_clips(
    layout: DataLayout, folder: Path, highlights: pl.DataFrame | None
) -> list[AudioClip]:
    clips: list[AudioClip] = []
    if highlights is None:
        return clips
    paths = (
        highlights["clip_path"] if "clip_path" in highlights.columns else [None] * highlights.height
    )
    for clip_path in paths:
        try:
            target = layout.resolve_inside(str(clip_path)) if clip_path else None
        except UnsafePathError:
            target = None
        if target is None:
            clips.append(AudioClip(src=None, exists=False))
        else:
            clips.append(AudioClip(src=relative_url(target, folder), exists=target.is_file()))
    return clips


def _track_audio(
    layout: DataLayout, day: str, recording_id: str, track: int, folder: Path
) -> str | None:
    """URL of the track's normalized WAV relative to the report, None when it is missing."""
    target = wav_path(layout, day, recording_id, track)
    return relative_url(target, folder) if target.is_file() else None


def _clock(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d} h"


def _numbers(
    frames: pl.DataFrame,
    bursts: pl.DataFrame | None,
    highlights: pl.DataFrame | None,
    summary_row: dict | None,
) -> dict[str, object]:
    has_speech_flag = "is_speech" in frames.columns and frames.height > 0
    # Frames overlap (25 ms windows every 20 ms): speech time counts strides, not windows.
    speech_s = (
        int(frames["is_speech"].sum()) * FRAME_STRIDE / SAMPLE_RATE if has_speech_flag else None
    )
    numbers: dict[str, object] = {
        "duration": _clock(duration_s(frames)),
        "speech": "–"
        if speech_s is None
        else f"{speech_s:.1f} s ({100 * frames['is_speech'].mean():.0f} % of frames)",
        "frames": frames.height,
        "bursts": 0 if bursts is None else bursts.height,
        "highlights": 0 if highlights is None else highlights.height,
    }
    # Everything scalar the summary row carries, except what the headline and the numbers
    # above already show (duration and speech, formatted).
    skip = {
        "duration_s",
        "speech_s",
        "recording_id",
        "track",
        "dominant_emotion",
        "top_emotion",
        "confidence",
        "speaker",
        "model_id",
    }
    for key, value in (summary_row or {}).items():
        if key not in skip and (value is None or isinstance(value, str | int | float | bool)):
            numbers[key] = value
    return numbers


def interactive_figure(
    frames: pl.DataFrame,
    *,
    smoothed: pl.DataFrame | None = None,
    bursts: pl.DataFrame | None = None,
    highlights: pl.DataFrame | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    transcript: pl.DataFrame | None = None,
):
    """The plotly curves of one track (smoothed and raw, non-speech, bursts, highlights, and
    the transcript lane when there is one).

    The HTML report and the web page (emotion_assets/app) both show this figure.
    """
    return curves_figure(
        raw=downsample(frames, max_points),
        smoothed=None if smoothed is None else downsample(smoothed, max_points),
        nonspeech=nonspeech_spans(frames),
        bursts=bursts,
        highlights=highlights,
        total_s=duration_s(frames),
        transcript=transcript,
    )


def render_recording_report(
    *,
    layout: DataLayout,
    day: str,
    recording_id: str,
    track: int,
    frames: pl.DataFrame,
    smoothed: pl.DataFrame | None = None,
    bursts: pl.DataFrame | None = None,
    highlights: pl.DataFrame | None = None,
    summary_row: dict | None = None,
    title: str,
    model_id: str,
    max_points: int = DEFAULT_MAX_POINTS,
    transcript: pl.DataFrame | None = None,
) -> ReportFiles:
    """Write data/reports/<day>/<recording_id>_t<track>_{curves.png,heatmap.png,report.html}.

    Tables may hold other recordings/tracks (filtered here); smoothed, bursts, highlights,
    summary_row and transcript (sentences: t_start, t_end, text, speaker, top_emotion) are
    optional. With a transcript, the page plays the track's normalized audio from a sentence.
    """
    folder = reports_dir(layout, day)
    stem = report_stem(recording_id, track)
    frames = select_track(frames, recording_id, track)
    smoothed = select_track(smoothed, recording_id, track)
    bursts = select_track(bursts, recording_id, track)
    highlights = select_track(highlights, recording_id, track)
    transcript = select_track(transcript, recording_id, track)
    if highlights is not None and "rank" in highlights.columns:
        highlights = highlights.sort([c for c in ("rank_by", "rank") if c in highlights.columns])

    total = duration_s(frames)
    meaningless = is_meaningless_model(model_id)
    speaker = main_speaker(frames, summary_row)
    spans = nonspeech_spans(frames)
    means = emotion_means(frames)
    dominant, confidence = headline(means, summary_row)
    picture_title = pictures.title_for(
        title=title,
        recording_id=recording_id,
        track=track,
        speaker=speaker,
        model_id=model_id,
        meaningless=meaningless,
    )

    thin = min(max_points, pictures.PICTURE_MAX_POINTS)
    curves = pictures.curves_png(
        raw=downsample(frames, thin),
        smoothed=None if smoothed is None else downsample(smoothed, thin),
        nonspeech=spans,
        bursts=bursts,
        highlights=highlights,
        total_s=total,
        title=picture_title,
    )
    heat = pictures.heatmap_png(heatmap(frames), total_s=total, title=picture_title)
    curves_path = write_bytes_atomically(folder / f"{stem}_curves.png", curves)
    heatmap_path = write_bytes_atomically(folder / f"{stem}_heatmap.png", heat)

    figure = interactive_figure(
        frames,
        smoothed=smoothed,
        bursts=bursts,
        highlights=highlights,
        max_points=max_points,
        transcript=transcript,
    )
    page = report_html(
        page_title=title,
        meta_line=(
            f"{day} · recording {recording_id} · track {track} · speaker "
            f"{speaker or 'unknown'} · model {model_id}"
        ),
        meaningless=meaningless,
        dominant=dominant,
        confidence=confidence,
        numbers=_numbers(frames, bursts, highlights, summary_row),
        figure=figure,
        means=means,
        bursts=bursts,
        highlights=highlights,
        clips=_audio_clips(layout, folder, highlights),
        heatmap_src=heatmap_path.name,
        curves_src=curves_path.name,
        transcript=transcript,
        audio_src=_track_audio(layout, day, recording_id, track, folder)
        if transcript is not None and transcript.height
        else None,
    )
    ensure_plotly_js(folder)
    html_path = write_bytes_atomically(folder / f"{stem}_report.html", page)
    return ReportFiles(
        curves_png=curves_path,
        heatmap_png=heatmap_path,
        html=html_path,
        dominant_emotion=dominant,
        confidence=confidence,
    )
