"""Checks on raw_recordings, normalized_audio, speech_segments, speaker_turns, quarantine."""

from __future__ import annotations

import polars as pl

from emotion_assets.quality import (
    check_audio_durations,
    check_audio_levels,
    check_quarantine_reasons,
    check_raw_status,
    check_speaker_turns,
    check_speech_segments,
    check_unique_ok_recordings,
)
from emotion_assets_tests.quality.synthetic import set_value


def test_good_ingest_tables_pass(lake):
    raw, norm = lake["raw_recordings"], lake["normalized_audio"]
    outcomes = [
        check_unique_ok_recordings(raw),
        check_raw_status(raw),
        check_audio_durations(norm, raw),
        check_audio_levels(norm),
        check_speech_segments(lake["speech_segments"], norm),
        check_speaker_turns(lake["speaker_turns"], norm),
        check_quarantine_reasons(lake["quarantine"]),
    ]
    for outcome in outcomes:
        assert outcome.passed, outcome


def test_two_ok_rows_with_one_recording_id_fail(lake):
    raw = lake["raw_recordings"]
    copy = raw.head(1).with_columns(file_name=pl.lit("copy_of_call_0.wav"))
    outcome = check_unique_ok_recordings(pl.concat([raw, copy]))
    assert not outcome.passed
    assert "copy_of_call_0.wav" in outcome.metadata["first_offenders"]
    # Marked as a duplicate (as ingest should), it is fine.
    marked = copy.with_columns(status=pl.lit("duplicate"), duplicate_of=pl.lit("call_0.wav"))
    assert check_unique_ok_recordings(pl.concat([raw, marked])).passed
    assert check_raw_status(pl.concat([raw, marked])).passed


def test_duplicate_without_duplicate_of_warns(lake):
    broken = set_value(lake["raw_recordings"], 0, "status", "duplicate")
    outcome = check_raw_status(broken)
    assert not outcome.passed
    assert outcome.metadata["duplicate_without_duplicate_of"] == 1


def test_decoded_duration_off_by_50ms_fails(lake):
    norm = lake["normalized_audio"]
    broken = set_value(norm, 0, "source_duration_s", norm["duration_s"][0] + 0.05)
    outcome = check_audio_durations(broken)
    assert not outcome.passed
    assert outcome.metadata["decoded_vs_source"] == 1
    assert outcome.metadata["samples_vs_duration"] == 0


def test_source_duration_disagreeing_with_raw_fails(lake):
    raw = lake["raw_recordings"]
    broken_raw = set_value(raw, 1, "duration_s", raw["duration_s"][1] + 0.5)
    assert check_audio_durations(lake["normalized_audio"]).passed
    outcome = check_audio_durations(lake["normalized_audio"], broken_raw)
    assert not outcome.passed
    assert outcome.metadata["source_vs_raw"] == 1


def test_n_samples_disagreeing_with_duration_fails(lake):
    norm = lake["normalized_audio"]
    broken = set_value(norm, 0, "n_samples", norm["n_samples"][0] + 1600)  # +100 ms
    outcome = check_audio_durations(broken)
    assert not outcome.passed
    assert outcome.metadata["samples_vs_duration"] == 1


def test_rms_above_peak_and_wrong_rate_fail(lake):
    norm = lake["normalized_audio"]
    louder = set_value(norm, 0, "rms", norm["peak"][0] + 0.05)
    outcome = check_audio_levels(louder)
    assert not outcome.passed
    assert outcome.metadata["rms_above_peak"] == 1
    resampled = set_value(norm, 1, "sample_rate", 44_100)
    outcome = check_audio_levels(resampled)
    assert not outcome.passed
    assert outcome.metadata["sample_rate_not_16k"] == 1
    clipped = set_value(norm, 1, "clipped_fraction", 1.3)
    assert check_audio_levels(clipped).metadata["clipped_fraction_outside_unit"] == 1


def test_segment_with_start_after_end_fails(lake):
    segs = lake["speech_segments"]
    row = 1
    broken = set_value(
        set_value(segs, row, "t_start", segs["t_end"][row]), row, "t_end", segs["t_start"][row]
    )
    outcome = check_speech_segments(broken, lake["normalized_audio"])
    assert not outcome.passed
    assert outcome.metadata["start_not_before_end"] == 1
    assert "segment_idx=1" in outcome.metadata["first_offenders"]


def test_overlapping_segments_fail(lake):
    segs = lake["speech_segments"]
    broken = set_value(segs, 1, "t_start", segs["t_end"][0] - 0.05)
    outcome = check_speech_segments(broken)
    assert not outcome.passed
    assert outcome.metadata["overlaps_previous"] == 1


def test_unsorted_segments_fail(lake):
    segs = lake["speech_segments"]
    first = segs.filter(pl.col("recording_id") == segs["recording_id"][0])
    swapped = first.with_columns(segment_idx=pl.col("segment_idx").reverse())
    outcome = check_speech_segments(swapped)
    assert not outcome.passed
    assert outcome.metadata["unsorted"] > 0


def test_segment_past_track_end_fails(lake):
    segs, norm = lake["speech_segments"], lake["normalized_audio"]
    last = segs.height - 1
    rid = segs["recording_id"][last]
    end = norm.filter(pl.col("recording_id") == rid)["duration_s"][0]
    broken = set_value(segs, last, "t_end", end + 0.5)
    broken = broken.with_columns(duration_s=pl.col("t_end") - pl.col("t_start"))
    assert check_speech_segments(broken).passed  # only the track length shows it
    outcome = check_speech_segments(broken, norm)
    assert not outcome.passed
    assert outcome.metadata["beyond_track_end"] == 1


def test_turns_of_two_speakers_may_overlap_but_not_of_one(lake):
    turns = lake["speaker_turns"]
    overlapping = set_value(turns, 1, "t_start", turns["t_end"][0] - 0.1).with_columns(
        duration_s=pl.col("t_end") - pl.col("t_start")
    )
    same = check_speaker_turns(overlapping)
    assert not same.passed
    assert same.metadata["overlaps_previous"] == 1
    other = set_value(overlapping, 1, "speaker", "customer")
    assert check_speaker_turns(other).passed


def test_empty_reason_fails_quarantine(lake):
    q = lake["quarantine"]
    for reason in ("", "   ", None):
        outcome = check_quarantine_reasons(set_value(q, 0, "reason", reason))
        assert not outcome.passed, reason
        assert "file_name=broken.mp3" in outcome.metadata["first_offenders"]
