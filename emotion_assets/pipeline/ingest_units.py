"""Work units of the ingest: which recordings of a day need decoding and VAD, in groups.

Pure (no Dagster). Decoding to 16 kHz and finding speech is the costly part of a day's ingest;
its result depends only on the file's bytes (sha256), how it is split into tracks (channel map,
speaker) and the VAD settings. Their hash, the recording's fingerprint, names the files its rows
are kept in (`ingested/<day>/<recording>.<fingerprint>.<part>.parquet` on the storage root), so a
recording already decoded with the same settings is not decoded again, and the recordings that
are go in units of bounded audio (foundation/work_units.py), one step each.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from emotion_assets.foundation.work_units import pack, unit_name

# Bump when decoding or the VAD gives other rows for the same inputs: every recording is then
# decoded again.
INGEST_VERSION = "ingest-v2"
PARTS = ("normalized", "segments", "problems")
FINGERPRINT_CHARS = 16
# The audio settings that change a recording's tracks or segments.
DECODE_SETTINGS = (
    "vad_threshold",
    "vad_min_speech_ms",
    "vad_min_silence_ms",
    "vad_speech_pad_ms",
    "vad_backend",
)
RAW_FIELDS = ("file_name", "sha256", "channels", "duration_s", "speaker", "channel_map_json")


@dataclass(frozen=True)
class RecordingKey:
    day: str
    recording_id: str
    fingerprint: str
    audio_s: float

    def key(self, part: str) -> str:
        return ingested_key(self.day, f"{self.recording_id}.{self.fingerprint}.{part}.parquet")

    def first_wav(self) -> str:
        return f"processed/{self.day}/{self.recording_id}_t0.wav"


@dataclass(frozen=True)
class IngestUnit:
    """Recordings of one day decoded together in one step (their raw_recordings rows)."""

    day: str
    index: int
    raw: pl.DataFrame
    recordings: tuple[RecordingKey, ...]

    @property
    def name(self) -> str:
        return unit_name(self.day, self.index)

    @property
    def audio_s(self) -> float:
        return sum(r.audio_s for r in self.recordings)


def ingested_key(day: str, name: str = "") -> str:
    return f"ingested/{day}/{name}" if name else f"ingested/{day}"


def decode_key(audio: Any) -> dict[str, Any]:
    """The part of the audio settings (an AudioSettings) that decoding and the VAD depend on."""
    return {name: getattr(audio, name) for name in DECODE_SETTINGS}


def usable(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.filter(pl.col("status") == "ok").sort("file_name") if raw.height else raw


def recording_keys(day: str, raw: pl.DataFrame, settings: dict[str, Any]) -> list[RecordingKey]:
    """Every usable recording of the day with its fingerprint, in file-name order."""
    keys = []
    for row in usable(raw).iter_rows(named=True):
        what = {
            "version": INGEST_VERSION,
            "settings": settings,
            "raw": {name: row[name] for name in RAW_FIELDS},
        }
        digest = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode())
        keys.append(
            RecordingKey(
                day,
                row["recording_id"],
                digest.hexdigest()[:FINGERPRINT_CHARS],
                float(row["duration_s"] or 0.0),
            )
        )
    return keys


def is_kept(recording: RecordingKey, existing: Iterable[str]) -> bool:
    """Whether the recording's rows and its first WAV are on the root (`existing`: keys)."""
    have = set(existing)
    return recording.first_wav() in have and all(recording.key(p) in have for p in PARTS)


def plan_units(
    day: str, raw: pl.DataFrame, todo: Sequence[RecordingKey], unit_audio_s: float
) -> list[IngestUnit]:
    """The recordings to decode, in units of at most `unit_audio_s` of audio."""
    rows = usable(raw)
    units = []
    for i, group in enumerate(pack(todo, lambda r: r.audio_s, unit_audio_s)):
        ids = [r.recording_id for r in group]
        units.append(
            IngestUnit(day, i, rows.filter(pl.col("recording_id").is_in(ids)), tuple(group))
        )
    return units


def stale_keys(day: str, recordings: Sequence[RecordingKey], existing: Iterable[str]) -> list[str]:
    """Files under ingested/<day>/ that no current recording uses."""
    wanted = {r.key(part) for r in recordings for part in PARTS}
    prefix = ingested_key(day) + "/"
    return sorted(k for k in existing if k.startswith(prefix) and k not in wanted)
