"""frame_emotion_scores checks: each passes the synthetic table and fails one broken in one way."""

from __future__ import annotations

import json

import polars as pl

from emotion_assets.foundation.labels import EMOTIONS, n_frames
from emotion_assets.quality import (
    check_frame_counts,
    check_frame_timeline,
    check_overlap_has_no_speaker,
    check_scores_in_range,
    check_scores_not_null,
    check_scores_sum_to_one,
    check_top_emotion,
    check_unique_keys,
)
from emotion_assets_tests.quality.synthetic import set_value

FRAMES = "frame_emotion_scores"


def _row_of(frames: pl.DataFrame, frame_idx: int, recording: int = 0) -> int:
    """Row number of a frame of the n-th recording."""
    rid = frames["recording_id"].unique(maintain_order=True)[recording]
    mask = (frames["recording_id"] == rid) & (frames["frame_idx"] == frame_idx)
    return int(mask.arg_true()[0])


def test_good_frames_pass_every_check(lake):
    frames, norm = lake[FRAMES], lake["normalized_audio"]
    outcomes = [
        check_scores_in_range(frames),
        check_scores_sum_to_one(frames),
        check_scores_not_null(frames),
        check_frame_counts(frames, norm),
        check_frame_timeline(frames),
        check_top_emotion(frames),
        check_unique_keys(frames, FRAMES),
        check_overlap_has_no_speaker(frames),
    ]
    for outcome in outcomes:
        assert outcome.passed, outcome
        assert outcome.metadata["rows_checked"] > 0 or "tracks_checked" in outcome.metadata
        json.dumps(outcome.metadata)  # Dagster metadata must be plain JSON values


def test_score_above_one_fails_range(lake):
    row = _row_of(lake[FRAMES], 10)
    broken = set_value(lake[FRAMES], row, "happy", 1.2)
    outcome = check_scores_in_range(broken)
    assert not outcome.passed
    assert outcome.severity == "error"
    assert outcome.metadata["offenders"] == 1
    assert "frame_idx=10" in outcome.metadata["first_offenders"]
    assert "happy=1.2" in outcome.metadata["first_offenders"]
    assert abs(outcome.metadata["max_score"] - 1.2) < 1e-6


def test_negative_score_fails_range(lake):
    broken = set_value(lake[FRAMES], 3, "sad", -0.01)
    outcome = check_scores_in_range(broken)
    assert not outcome.passed
    assert outcome.metadata["min_score"] < 0


def test_row_summing_to_point_nine_fails_sum(lake):
    frames = lake[FRAMES]
    row = _row_of(frames, 42, recording=1)
    scaled = frames.with_columns(
        [
            pl.when(pl.int_range(pl.len()) == row).then(pl.col(e) * 0.9).otherwise(pl.col(e))
            for e in EMOTIONS
        ]
    )
    assert check_scores_in_range(scaled).passed  # broken only in its sum
    outcome = check_scores_sum_to_one(scaled)
    assert not outcome.passed
    assert outcome.metadata["offenders"] == 1
    assert "frame_idx=42" in outcome.metadata["first_offenders"]
    assert abs(outcome.metadata["max_sum_error"] - 0.1) < 1e-5


def test_nan_score_fails_not_null(lake):
    broken = set_value(lake[FRAMES], 5, "neutral", float("nan"))
    outcome = check_scores_not_null(broken)
    assert not outcome.passed
    assert outcome.metadata["missing_neutral"] == 1
    assert "neutral=nan" in outcome.metadata["first_offenders"]
    assert check_scores_in_range(broken).passed  # range leaves NaN to the not-null check


def test_null_score_fails_not_null(lake):
    broken = set_value(lake[FRAMES], 0, "angry", None)
    outcome = check_scores_not_null(broken)
    assert not outcome.passed
    assert outcome.metadata["missing_angry"] == 1


def test_missing_middle_frame_breaks_timeline_and_count(lake):
    frames = lake[FRAMES]
    broken = frames.filter(pl.int_range(pl.len()) != _row_of(frames, 20))
    timeline = check_frame_timeline(broken)
    assert not timeline.passed
    assert timeline.metadata["tracks_not_contiguous"] == 1
    assert "missing_idx=1" in timeline.metadata["first_offenders"]
    count = check_frame_counts(broken, lake["normalized_audio"])
    assert not count.passed
    assert "difference=-1" in count.metadata["first_offenders"]


def test_wrong_frame_count_with_contiguous_frames(lake):
    """Dropping the last frame keeps the timeline intact; only the count catches it."""
    frames, norm = lake[FRAMES], lake["normalized_audio"]
    first = norm.row(0, named=True)
    last_idx = n_frames(first["n_samples"]) - 1
    broken = frames.filter(
        ~((pl.col("recording_id") == first["recording_id"]) & (pl.col("frame_idx") == last_idx))
    )
    assert check_frame_timeline(broken).passed
    outcome = check_frame_counts(broken, norm)
    assert not outcome.passed
    assert outcome.metadata["offenders"] == 1
    assert f"expected_frames={last_idx + 1}" in outcome.metadata["first_offenders"]
    assert f"frames={last_idx}" in outcome.metadata["first_offenders"]


def test_frames_for_a_track_without_audio_fail_count(lake):
    norm = lake["normalized_audio"].head(1)
    outcome = check_frame_counts(lake[FRAMES], norm)
    assert not outcome.passed
    assert outcome.metadata["tracks_without_audio"] == 1


def test_frame_count_formula_against_n_samples(lake):
    """Add 320 samples to a track's N: one frame should now be missing."""
    norm = lake["normalized_audio"]
    longer = norm.with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.col("n_samples") + 320)
        .otherwise(pl.col("n_samples"))
        .alias("n_samples")
    )
    outcome = check_frame_counts(lake[FRAMES], longer)
    assert not outcome.passed
    assert "difference=-1" in outcome.metadata["first_offenders"]


def test_duplicate_frame_fails_unique_keys_and_timeline(lake):
    frames = lake[FRAMES]
    broken = pl.concat([frames, frames.slice(_row_of(frames, 7), 1)])
    keys = check_unique_keys(broken, FRAMES)
    assert not keys.passed
    assert keys.metadata["duplicated_rows"] == 2
    assert "frame_idx=7" in keys.metadata["first_offenders"]
    assert not check_frame_timeline(broken).passed


def test_frame_off_the_20ms_grid_fails_timeline(lake):
    frames = lake[FRAMES]
    row = _row_of(frames, 30)
    broken = set_value(frames, row, "t_start", 0.6 + 1e-3)
    outcome = check_frame_timeline(broken)
    assert not outcome.passed
    assert outcome.metadata["frames_mistimed"] == 1
    assert outcome.metadata["tracks_not_contiguous"] == 0


def test_timeline_not_starting_at_zero_fails(lake):
    frames = lake[FRAMES]
    shifted = frames.with_columns(
        frame_idx=pl.col("frame_idx") + 1,
        t_start=pl.col("t_start") + 0.02,
        t_end=pl.col("t_end") + 0.02,
    )
    outcome = check_frame_timeline(shifted)
    assert not outcome.passed
    assert outcome.metadata["tracks_not_contiguous"] == 2


def test_wrong_top_emotion_fails(lake):
    frames = lake[FRAMES]
    row = 12
    values = frames.row(row, named=True)
    weakest = min(EMOTIONS, key=lambda e: values[e])
    broken = set_value(frames, row, "top_emotion", weakest)
    outcome = check_top_emotion(broken)
    assert not outcome.passed
    assert outcome.metadata["offenders"] == 1
    assert f"top_emotion={weakest}" in outcome.metadata["first_offenders"]
    assert f"argmax={values['top_emotion']}" in outcome.metadata["first_offenders"]


def test_unknown_label_fails_top_emotion(lake):
    outcome = check_top_emotion(set_value(lake[FRAMES], 0, "top_emotion", "joyful"))
    assert not outcome.passed


def test_overlap_with_speaker_warns(lake):
    broken = set_value(lake[FRAMES], 4, "is_overlap", True)
    outcome = check_overlap_has_no_speaker(broken)
    assert not outcome.passed
    assert outcome.severity == "warn"


def test_missing_column_fails_instead_of_raising(lake):
    outcome = check_scores_sum_to_one(lake[FRAMES].drop("surprised"))
    assert not outcome.passed
    assert outcome.metadata["missing_columns"] == "surprised"


def _unscore(frames: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
    """Speech-only mode's output: the given rows keep their place but lose every score."""
    nulls = [pl.when(rows).then(None).otherwise(pl.col(c)).alias(c) for c in EMOTIONS]
    top = pl.when(rows).then(None).otherwise(pl.col("top_emotion")).alias("top_emotion")
    return frames.with_columns(*nulls, top)


def test_speech_only_null_scores_pass_only_on_non_speech_frames(lake):
    # every third frame is a pause (the synthetic day is all speech)
    frames = lake[FRAMES].with_columns(is_speech=pl.col("frame_idx") % 3 != 0)
    silent = ~frames["is_speech"]
    speech_only = _unscore(frames, silent)
    for check in (check_scores_not_null, check_scores_sum_to_one, check_top_emotion):
        assert check(speech_only).passed, check.__name__
    outcome = check_scores_not_null(speech_only)
    assert outcome.metadata["unscored_non_speech"] == int(silent.sum())
    # a speech frame without scores is still an error
    first_speech = int(frames["is_speech"].arg_true()[0])
    broken = _unscore(frames, silent | (pl.int_range(frames.height, eager=True) == first_speech))
    assert not check_scores_not_null(broken).passed
    # so is a non-speech frame with some scores missing but not all
    half = set_value(speech_only, int(silent.arg_true()[0]), "angry", 0.5)
    assert not check_scores_not_null(half).passed
