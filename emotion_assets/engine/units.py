"""Work units of the model step: which tracks of a day need scoring, in groups of bounded audio.

Pure (no Dagster). A track's scores depend only on its normalized audio, its speech segments and
speaker turns (the frame table carries both) and on the model and the settings that shape the
windows. Their hash, the track's fingerprint, names the file its scored rows are kept in
(`scored/<day>/<recording>_t<track>.<fingerprint>.<table>.parquet` on the storage root), so:

- a track whose file exists is kept, not scored again (a new recording costs only itself);
- a track whose audio, segments, turns, model or window settings changed gets a new name and is
  scored again; a track no longer in the day keeps no file after the day is published;
- the tracks to score are packed, in a fixed order, into units of at most `unit_audio_s` of
  audio (a track is never split): each unit is one step, on any worker of the model's queue.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from emotion_assets.foundation.work_units import pack, unit_name

# Bump when the frame or embedding rows of a track change for the same inputs (a code change):
# every track is then scored again.
SCORING_VERSION = "frames-v1"
SCORED_TABLES = ("frame_emotion_scores", "emotion_embeddings")
FINGERPRINT_CHARS = 16

# The model settings that change a track's scores (device, threads, batch size do not: batched
# and one-at-a-time scores agree within 1e-5, engine/test_engine_cross_track.py).
SCORE_SETTINGS = (
    "model",
    "model_hub",
    "window_s",
    "context_s",
    "window_pause_s",
    "window_pack_s",
    "score_speech_only",
    "speech_margin_s",
    "quantize",
    "engine_backend",
    "allow_tiny_fallback",
)


@dataclass(frozen=True)
class TrackKey:
    """One track of one day, and the fingerprint of what its scores depend on."""

    day: str
    recording_id: str
    track: int
    fingerprint: str
    audio_s: float

    @property
    def stem(self) -> str:
        return f"{self.recording_id}_t{self.track}"

    def key(self, table: str) -> str:
        """Where the track's rows of `table` are kept, relative to the storage root."""
        return scored_key(self.day, f"{self.stem}.{self.fingerprint}.{table}.parquet")


@dataclass(frozen=True)
class WorkUnit:
    """Tracks of one day scored together in one step."""

    day: str
    index: int
    tracks: tuple[TrackKey, ...]

    @property
    def name(self) -> str:
        """The step's mapping key."""
        return unit_name(self.day, self.index)

    @property
    def audio_s(self) -> float:
        return sum(t.audio_s for t in self.tracks)


def scored_key(day: str, name: str = "") -> str:
    return f"scored/{day}/{name}" if name else f"scored/{day}"


def model_key(settings: Any) -> dict[str, Any]:
    """The part of the model settings (a ModelSettings) that the scores depend on."""
    return {name: getattr(settings, name) for name in SCORE_SETTINGS}


def _rows(df: pl.DataFrame, columns: Sequence[str]) -> list[list[Any]]:
    return [list(row) for row in df.select(columns).rows()]


def track_fingerprints(
    day: str,
    normalized: pl.DataFrame,
    segments: pl.DataFrame,
    turns: pl.DataFrame,
    model: dict[str, Any],
) -> list[TrackKey]:
    """Every track of the day with its fingerprint, sorted by recording and track."""
    keys = []
    for row in normalized.sort("recording_id", "track").iter_rows(named=True):
        rid, track = row["recording_id"], int(row["track"])

        def of_track(df: pl.DataFrame, rid: str = rid, track: int = track) -> pl.DataFrame:
            return df.filter((pl.col("recording_id") == rid) & (pl.col("track") == track))

        what = {
            "version": SCORING_VERSION,
            "model": model,
            # The recording id is the raw file's sha256 prefix; the rest says how it was made
            # into this track (channel, length, level): a change of ingest shows here.
            "audio": [
                rid,
                track,
                row["channel_mode"],
                row["n_samples"],
                row["sample_rate"],
                row["peak"],
                row["rms"],
            ],
            "speaker": row["speaker"],
            "segments": _rows(of_track(segments).sort("segment_idx"), ("t_start", "t_end")),
            "turns": _rows(of_track(turns).sort("turn_idx"), ("speaker", "t_start", "t_end")),
        }
        digest = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode())
        keys.append(
            TrackKey(
                day,
                rid,
                track,
                digest.hexdigest()[:FINGERPRINT_CHARS],
                float(row["duration_s"] or 0.0),
            )
        )
    return keys


def is_kept(track: TrackKey, existing: Iterable[str]) -> bool:
    """Whether both of the track's files exist (`existing`: keys under scored/<day>/)."""
    have = set(existing)
    return all(track.key(table) in have for table in SCORED_TABLES)


def pack_units(day: str, tracks: Sequence[TrackKey], unit_audio_s: float) -> list[WorkUnit]:
    """Consecutive tracks, at most `unit_audio_s` of audio a unit (a longer track alone)."""
    groups = pack(tracks, lambda t: t.audio_s, unit_audio_s)
    return [WorkUnit(day, i, tuple(group)) for i, group in enumerate(groups)]


def stale_keys(day: str, tracks: Sequence[TrackKey], existing: Iterable[str]) -> list[str]:
    """Files under scored/<day>/ that no current track uses (deleted or changed tracks)."""
    wanted = {t.key(table) for t in tracks for table in SCORED_TABLES}
    prefix = scored_key(day) + "/"
    return sorted(k for k in existing if k.startswith(prefix) and k not in wanted)
