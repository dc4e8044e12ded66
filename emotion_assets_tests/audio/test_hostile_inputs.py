"""Issue 11, items 1-6: hostile inputs get a reason (or are repaired and say so), never a crash,
never a NaN, never a failed day; raw files stay byte-identical."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf

from emotion_assets.audio import ingest
from emotion_assets.audio.ffmpeg_tools import ffmpeg_binary
from emotion_assets.audio.sidecars import MAX_NAME_CHARS, MAX_SPEAKERS
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.quality.table_checks import check_unique_keys
from emotion_assets_tests.audio.helpers import DAY, fingerprint, make_day, shared

FF = ffmpeg_binary()
RATE = 16_000


def _voice(seconds: float, seed: int = 0) -> np.ndarray:
    """Noisy harmonics at speech level: enough for the ingest (the content is not judged)."""
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    return (x + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def _float_wav(path: Path, x: np.ndarray, rate: int = RATE) -> None:
    sf.write(path, x, rate, subtype="FLOAT", format="WAV")


def _ingest(root: Path) -> dict[str, pl.DataFrame]:
    layout = DataLayout(root)
    raw = ingest.probe_day(layout, DAY, ffmpeg_binary=FF)
    normalized, decode_problems = ingest.normalize_day(layout, DAY, raw, ffmpeg_binary=FF)
    segments = ingest.segment_tracks(layout, normalized)
    turns, sidecar_problems = ingest.turns_of_day(layout, DAY, raw, normalized, segments=segments)
    quarantine = ingest.quarantine_table(raw, decode_problems, sidecar_problems)
    return {"raw": raw, "normalized": normalized, "turns": turns, "quarantine": quarantine}


def _reasons(quarantine: pl.DataFrame, name: str) -> list[str]:
    return quarantine.filter(pl.col("file_name") == name)["reason"].to_list()


def _no_nan(df: pl.DataFrame) -> bool:
    floats = [c for c, t in df.schema.items() if t.is_float()]
    return all(df[c].is_finite().all() for c in floats if df[c].drop_nulls().len())


@pytest.fixture(scope="module")
def hostile_day(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One day folder holding every hostile input of items 1-6 beside a good recording."""
    root = tmp_path_factory.mktemp("hostile") / "data"
    day_dir = make_day(root, {"good.ogg": shared("speech/librispeech_198-209-0000.ogg")})
    voice = _voice(3.0)
    with_nan = voice.copy()
    with_nan[RATE] = np.nan  # one NaN sample is enough
    with_nan[RATE + 7] = np.inf
    with_nan[RATE + 9] = -np.inf
    _float_wav(day_dir / "nan.wav", with_nan)
    huge = voice.copy()
    huge[RATE : RATE + 100] = 1e30
    _float_wav(day_dir / "huge.wav", huge)
    sf.write(day_dir / "one_hz.wav", np.zeros(9000, np.int16), 1, subtype="PCM_16")
    # item 2: a 1,000-level JSON sidecar
    (day_dir / "deep.json").write_text("[" * 1000 + "]" * 1000)
    _float_wav(day_dir / "deep.wav", _voice(3.0, seed=1))  # distinct bytes: no duplicates
    # item 5 and 6: several RTTM problems, "1_0", a name with spaces, NaN in the JSON
    _float_wav(day_dir / "rttm.wav", _voice(3.0, seed=2))
    (day_dir / "rttm.rttm").write_text(
        "SPEAKER rttm 1 0.2 1.0 <NA> <NA> alice <NA> <NA>\n"
        "SPEAKER rttm 1 1_0 0.5 <NA> <NA> bob <NA> <NA>\n"
        "SPEAKER rttm 1 1.5 x <NA> <NA> bob <NA> <NA>\n"
        "SPEAKER rttm 1 1.6 0.9 <NA> <NA> Mary Ann Smith <NA> <NA>\n"
    )
    (day_dir / "rttm.json").write_text(
        '{"ticket": NaN, "score": Infinity, "compare_with": "rttm.wav"}'
    )
    # item 4: a 2 MB speaker name, an RTTM with more speakers than allowed
    _float_wav(day_dir / "long_name.wav", _voice(3.0, seed=3))
    (day_dir / "long_name.json").write_text(json.dumps({"speaker": "x" * 2_000_000}))
    _float_wav(day_dir / "crowd.wav", _voice(3.0, seed=4))
    (day_dir / "crowd.rttm").write_text(
        "".join(
            f"SPEAKER crowd 1 {i * 0.001:.3f} 0.5 <NA> <NA> s{i} <NA> <NA>\n"
            for i in range(MAX_SPEAKERS + 1)
        )
    )
    # item 6: first audio stream silent, the second one speech
    silent, speech = root / "silent.wav", root / "speech.wav"
    _float_wav(silent, np.zeros(3 * RATE, np.float32))
    _float_wav(speech, voice)
    subprocess.run(
        [FF, "-v", "error", "-i", str(silent), "-i", str(speech), "-map", "0:a", "-map", "1:a"]
        + ["-c:a", "flac", str(day_dir / "two_streams.mka")],
        check=True,
    )
    before = fingerprint(root / "raw")
    tables = _ingest(root)
    return {"root": root, "before": before, "after": fingerprint(root / "raw"), **tables}


def _row(df: pl.DataFrame, name: str) -> dict:
    (row,) = df.filter(pl.col("file_name") == name).to_dicts()
    return row


def _tracks(day: dict, name: str) -> pl.DataFrame:
    rid = _row(day["raw"], name)["recording_id"]
    return day["normalized"].filter(pl.col("recording_id") == rid)


def test_raw_files_are_byte_identical(hostile_day: dict) -> None:
    assert hostile_day["after"] == hostile_day["before"]


def test_nan_and_inf_samples_are_replaced_counted_and_reported(hostile_day: dict) -> None:
    (track,) = _tracks(hostile_day, "nan.wav").to_dicts()
    assert np.isfinite([track["peak"], track["rms"]]).all() and 0 < track["peak"] <= 1.0
    wave, _ = sf.read(hostile_day["root"] / track["audio_path"], dtype="float32")
    assert np.isfinite(wave).all() and len(wave) == 3 * RATE
    (reason,) = _reasons(hostile_day["quarantine"], "nan.wav")
    assert "not numbers (NaN or infinite)" in reason and "replaced by silence" in reason
    assert _row(hostile_day["raw"], "nan.wav")["status"] == "ok"  # the recording is still used


def test_huge_values_are_clipped_and_reported(hostile_day: dict) -> None:
    (track,) = _tracks(hostile_day, "huge.wav").to_dicts()
    assert track["peak"] <= 1.0 and np.isfinite(track["rms"])
    (reason,) = _reasons(hostile_day["quarantine"], "huge.wav")
    assert "1e+30" in reason and "clipped" in reason


def test_an_implausible_sample_rate_is_quarantined_naming_the_rate(hostile_day: dict) -> None:
    row = _row(hostile_day["raw"], "one_hz.wav")
    assert row["status"] == "quarantined" and "1 Hz" in row["reason"]
    assert not (hostile_day["root"] / "processed" / DAY / f"{row['recording_id']}_t0.wav").exists()


def test_a_deeply_nested_sidecar_is_ignored_with_a_reason(hostile_day: dict) -> None:
    (reason,) = _reasons(hostile_day["quarantine"], "deep.json")
    assert "nested 1000 levels deep" in reason
    assert _row(hostile_day["raw"], "deep.wav")["status"] == "ok"


def test_several_problems_of_one_rttm_have_distinct_keys(hostile_day: dict) -> None:
    quarantine = hostile_day["quarantine"]
    reasons = _reasons(quarantine, "rttm.rttm")
    assert len(reasons) == 3
    assert any("'1_0'" in r for r in reasons)  # not read as 10 s
    assert any("'Mary Ann Smith'" in r for r in reasons)  # the spaced name is said, not cut
    outcome = check_unique_keys(quarantine, "quarantine")
    assert outcome.passed, outcome.description
    turns = hostile_day["turns"].filter(
        pl.col("recording_id") == _row(hostile_day["raw"], "rttm.wav")["recording_id"]
    )
    assert sorted(turns["speaker"]) == ["Mary Ann Smith", "alice"]


def test_metadata_json_is_valid_json_and_self_comparison_is_refused(hostile_day: dict) -> None:
    row = _row(hostile_day["raw"], "rttm.wav")

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    stored = json.loads(row["metadata_json"], parse_constant=refuse)  # strict: no NaN/Infinity
    assert stored == {"ticket": None, "score": None, "compare_with": "rttm.wav"}  # as written
    assert row["compare_with"] is None
    reasons = _reasons(hostile_day["quarantine"], "rttm.json")
    assert any("not a JSON number" in r for r in reasons)
    assert any("names the recording itself" in r for r in reasons)


def test_long_names_and_crowds_of_speakers_are_refused_with_reasons(hostile_day: dict) -> None:
    (reason,) = _reasons(hostile_day["quarantine"], "long_name.json")
    assert "2000000 characters long" in reason and str(MAX_NAME_CHARS) in reason
    assert _row(hostile_day["raw"], "long_name.wav")["speaker"] is None
    (reason,) = _reasons(hostile_day["quarantine"], "crowd.rttm")
    assert f"{MAX_SPEAKERS + 1} different speakers" in reason
    rid = _row(hostile_day["raw"], "crowd.wav")["recording_id"]
    assert hostile_day["turns"].filter(pl.col("recording_id") == rid).is_empty()


def test_a_silent_first_stream_gives_way_to_the_one_with_sound(hostile_day: dict) -> None:
    (track,) = _tracks(hostile_day, "two_streams.mka").to_dicts()
    assert track["peak"] > 0.2  # the speech stream, not the silent one
    (reason,) = _reasons(hostile_day["quarantine"], "two_streams.mka")
    assert "2 audio streams" in reason and "stream 1 was used" in reason


def test_the_good_recording_and_every_table_are_clean(hostile_day: dict) -> None:
    raw = hostile_day["raw"]
    assert set(raw.filter(pl.col("status") == "ok")["file_name"]) == {
        "good.ogg",
        "nan.wav",
        "huge.wav",
        "deep.wav",
        "rttm.wav",
        "long_name.wav",
        "crowd.wav",
        "two_streams.mka",
    }
    for name in ("raw", "normalized", "turns", "quarantine"):
        assert _no_nan(hostile_day[name]), name
