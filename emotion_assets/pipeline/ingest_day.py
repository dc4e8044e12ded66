"""The ingest of one recording date: scan → normalize → segment → turns → transcripts → quarantine.

One pass over a day's folder: each file is probed and decoded once, and every problem found on
the way lands in the quarantine table of the same day, so the day always completes. The Dagster
asset `ingest_recordings` calls `ingest_day` and only publishes its tables. It sits above the
audio and transcripts parts, which it joins, so neither of them imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from emotion_assets.audio import ingest
from emotion_assets.audio.vad import VadParams
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.pipeline.watch import day_snapshot, fingerprint
from emotion_assets.settings import AudioSettings
from emotion_assets.transcripts.day import transcripts_of_day

# The tables of a day's ingest, in the order ingest_day returns them, with what each holds.
INGEST_TABLES: dict[str, str] = {
    "raw_recordings": "Every file of the day probed: format, duration, sha256, status.",
    "normalized_audio": "16 kHz mono float32 WAV per track, with level statistics.",
    "speech_segments": "Speech regions per track from silero-vad.",
    "speaker_turns": "Who speaks when: RTTM sidecar, stereo channel map or sidecar speaker.",
    "quarantine": "Inputs that can't be used, each with a reason a person understands.",
    "transcript_segments": "Transcript sentences/cues per track (VTT, SRT, whisperX, funasr).",
    "transcript_words": "Transcript words with their own times (whisperX / faster-whisper).",
}


@dataclass(frozen=True)
class IngestedDay:
    tables: dict[str, pl.DataFrame]  # INGEST_TABLES' keys
    fingerprint: str  # of the day's folder before it was read (the sensor compares it)


def decode_and_segment(
    layout: DataLayout, day: str, raw: pl.DataFrame, audio: AudioSettings
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(normalized_audio, speech_segments, decode problems) of the usable recordings of `raw`:
    the costly part of a day's ingest, done per work unit (emotion_assets.pipeline.ingest_units)."""
    ffmpeg = audio.ffmpeg_binary or None
    normalized, problems = ingest.normalize_recordings(layout, day, raw, ffmpeg_binary=ffmpeg)
    segments = ingest.segment_tracks(layout, normalized, params=VadParams.from_settings(audio))
    return normalized, segments, problems


def finish_day(
    layout: DataLayout,
    day: str,
    raw: pl.DataFrame,
    normalized: pl.DataFrame,
    segments: pl.DataFrame,
    decode_problems: pl.DataFrame,
    warn: Callable[[str], None] = lambda text: None,
) -> dict[str, pl.DataFrame]:
    """The day's tables from its recordings: speaker turns, transcripts and quarantine (cheap:
    sidecars only), with WAVs of recordings the day no longer has removed."""
    ingest.remove_stale(layout.processed_day(day), {Path(p).name for p in normalized["audio_path"]})
    turns, sidecar_problems = ingest.turns_of_day(layout, day, raw, normalized, segments=segments)
    transcripts = transcripts_of_day(layout, day, raw, normalized, turns)
    quarantine = ingest.quarantine_table(
        raw, decode_problems, sidecar_problems, transcripts.problems
    )
    if quarantine.height:
        warn(
            f"ingest {day}: {quarantine.height} problem(s) noted: "
            + "; ".join(
                f"{r['file_name']}: {r['reason']}" for r in quarantine.iter_rows(named=True)
            )
        )
    tables = (raw, normalized, segments, turns, quarantine, transcripts.segments, transcripts.words)
    return dict(zip(INGEST_TABLES, tables, strict=True))


def scan_day(
    layout: DataLayout,
    day: str,
    audio: AudioSettings,
    log: Callable[[str], None] = lambda text: None,
) -> pl.DataFrame:
    """raw_recordings of `day`: every file probed and hashed (raw files are only read)."""
    log(f"ingest {day}: scanning {layout.raw_day(day)}")
    raw = ingest.probe_day(
        layout, day, ffmpeg_binary=audio.ffmpeg_binary or None, max_duration_s=audio.max_duration_s
    )
    usable = raw.filter(pl.col("status") == "ok").height if raw.height else 0
    log(f"ingest {day}: {raw.height} files, {usable} usable")
    return raw


def ingest_day(
    layout: DataLayout,
    day: str,
    audio: AudioSettings,
    log: Callable[[str], None] = lambda text: None,
    warn: Callable[[str], None] = lambda text: None,
) -> IngestedDay:
    """Every ingest table of `day` from data/raw/<day>/, in this process (raw files are only read)."""
    seen = fingerprint(day_snapshot(layout.raw_day(day)))
    raw = scan_day(layout, day, audio, log)
    normalized, segments, problems = decode_and_segment(layout, day, raw, audio)
    tables = finish_day(layout, day, raw, normalized, segments, problems, warn)
    return IngestedDay(tables, seen)
