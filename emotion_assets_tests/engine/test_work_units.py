"""Work units (issue 27): how a day's tracks and recordings are fingerprinted and packed.

Pure functions, no Dagster: engine/units.py, pipeline/ingest_units.py, foundation/work_units.py.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from emotion_assets.engine.units import (
    SCORED_TABLES,
    is_kept,
    model_key,
    pack_units,
    stale_keys,
    track_fingerprints,
)
from emotion_assets.foundation.work_units import pack, unit_name
from emotion_assets.pipeline import ingest_units
from emotion_assets.settings import AudioSettings, ModelSettings

DAY = "2024-08-05"
D = dt.date(2024, 8, 5)


def _normalized(*tracks: tuple[str, int, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "recording_date": D,
                "recording_id": rid,
                "track": track,
                "channel_mode": "mono",
                "speaker": None,
                "audio_path": f"processed/{DAY}/{rid}_t{track}.wav",
                "sample_rate": 16000,
                "n_samples": int(seconds * 16000),
                "duration_s": seconds,
                "peak": 0.5,
                "rms": 0.1,
            }
            for rid, track, seconds in tracks
        ]
    )


SEGMENTS = pl.DataFrame(
    {"recording_id": ["a" * 16], "track": [0], "segment_idx": [0], "t_start": [0.1], "t_end": [0.9]}
)
TURNS = pl.DataFrame(
    schema={
        "recording_id": pl.String,
        "track": pl.Int64,
        "turn_idx": pl.Int32,
        "speaker": pl.String,
        "t_start": pl.Float64,
        "t_end": pl.Float64,
    }
)


def _fingerprints(segments=SEGMENTS, settings=None, normalized=None):
    settings = settings or model_key(ModelSettings())
    normalized = normalized if normalized is not None else _normalized(("a" * 16, 0, 3.0))
    return track_fingerprints(DAY, normalized, segments, TURNS, settings)


def test_a_tracks_fingerprint_follows_what_its_scores_depend_on() -> None:
    (base,) = _fingerprints()
    (same,) = _fingerprints()
    assert base.fingerprint == same.fingerprint
    moved = SEGMENTS.with_columns(pl.col("t_end") + 0.5)
    assert _fingerprints(segments=moved)[0].fingerprint != base.fingerprint
    other_model = model_key(ModelSettings(window_pause_s=0.0))
    assert _fingerprints(settings=other_model)[0].fingerprint != base.fingerprint
    # Settings that do not change the scores do not change the fingerprint.
    assert _fingerprints(settings=model_key(ModelSettings(batch_size=8)))[0] == base
    louder = _normalized(("a" * 16, 0, 3.0)).with_columns(pl.lit(0.9).alias("peak"))
    assert _fingerprints(normalized=louder)[0].fingerprint != base.fingerprint


def test_a_track_is_kept_only_with_both_files_and_old_files_are_stale() -> None:
    (track,) = _fingerprints()
    both = [track.key(t) for t in SCORED_TABLES]
    assert is_kept(track, both) and not is_kept(track, both[:1])
    old = f"scored/{DAY}/{track.stem}.0000000000000000.frame_emotion_scores.parquet"
    other_day = f"scored/2024-08-06/{track.stem}.x.frame_emotion_scores.parquet"
    assert stale_keys(DAY, [track], [*both, old, other_day]) == [old]


def test_units_hold_at_most_their_audio_and_never_split_a_track() -> None:
    normalized = _normalized(*((f"{i:016x}", 0, s) for i, s in enumerate([4, 4, 3, 10, 1, 1])))
    tracks = track_fingerprints(DAY, normalized, SEGMENTS, TURNS, model_key(ModelSettings()))
    units = pack_units(DAY, tracks, unit_audio_s=8)
    assert [[t.audio_s for t in u.tracks] for u in units] == [[4, 4], [3], [10], [1, 1]]
    assert [t for u in units for t in u.tracks] == tracks  # every track once, in order
    assert [u.name for u in units] == [f"20240805_u{i:03d}" for i in range(4)]
    assert pack([], float, 1.0) == [] and unit_name(DAY, 12) == "20240805_u012"


def test_a_recordings_fingerprint_follows_its_bytes_channels_and_vad_settings() -> None:
    raw = pl.DataFrame(
        {
            "file_name": ["a.wav", "b.wav", "c.wav"],
            "recording_id": ["a" * 16, "b" * 16, "c" * 16],
            "sha256": ["a" * 64, "b" * 64, "c" * 64],
            "status": ["ok", "ok", "quarantined"],
            "channels": [1, 2, 1],
            "duration_s": [3.0, 5.0, None],
            "speaker": [None, None, None],
            "channel_map_json": [None, '{"0": "agent", "1": "caller"}', None],
            "source_path": [f"raw/{DAY}/{n}" for n in ("a.wav", "b.wav", "c.wav")],
        }
    )
    settings = ingest_units.decode_key(AudioSettings())
    keys = ingest_units.recording_keys(DAY, raw, settings)
    assert [k.recording_id for k in keys] == ["a" * 16, "b" * 16]  # usable recordings only
    remapped = raw.with_columns(pl.lit(None, pl.String).alias("channel_map_json"))
    again = ingest_units.recording_keys(DAY, remapped, settings)
    assert again[0] == keys[0] and again[1].fingerprint != keys[1].fingerprint
    stricter = ingest_units.decode_key(AudioSettings(vad_threshold=0.9))
    assert ingest_units.recording_keys(DAY, raw, stricter)[0].fingerprint != keys[0].fingerprint
    existing = [keys[0].key(p) for p in ingest_units.PARTS]
    assert not ingest_units.is_kept(keys[0], existing)  # its WAV is missing
    assert ingest_units.is_kept(keys[0], [*existing, keys[0].first_wav()])
    units = ingest_units.plan_units(DAY, raw, keys, unit_audio_s=4)
    assert [u.raw["file_name"].to_list() for u in units] == [["a.wav"], ["b.wav"]]
