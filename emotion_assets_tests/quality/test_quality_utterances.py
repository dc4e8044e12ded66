"""utterance_emotion_scores checks against the frames they summarise."""

from __future__ import annotations

import numpy as np
import polars as pl

from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets.quality import (
    check_unique_keys,
    check_utterance_scores,
    check_utterances_match_frames,
)
from emotion_assets_tests.quality.synthetic import set_value

UTTS = "utterance_emotion_scores"
FRAMES = "frame_emotion_scores"


def _segment_row(utts: pl.DataFrame, segment_idx: int) -> int:
    mask = (utts["scope"] == "segment") & (utts["segment_idx"] == segment_idx)
    return int(mask.arg_true()[0])


def test_good_utterances_pass(lake):
    utts, frames = lake[UTTS], lake[FRAMES]
    match = check_utterances_match_frames(utts, frames)
    assert match.passed, match
    assert match.metadata["max_abs_error"] < 1e-5
    assert check_utterance_scores(utts).passed
    assert check_unique_keys(utts, UTTS).passed


def test_swapped_scores_do_not_match_frames(lake):
    """Swap two non-top scores: still a valid distribution, but not its frames' summary."""
    utts = lake[UTTS]
    row = _segment_row(utts, 1)
    values = utts.row(row, named=True)
    a, b = sorted(EMOTIONS, key=lambda e: values[e])[:2]
    broken = set_value(set_value(utts, row, a, values[b]), row, b, values[a])
    assert check_utterance_scores(broken).passed
    outcome = check_utterances_match_frames(broken, lake[FRAMES])
    assert not outcome.passed
    assert outcome.metadata["offenders"] == 1
    assert "segment_idx=1" in outcome.metadata["first_offenders"]
    assert outcome.metadata["max_abs_error"] > 1e-4


def test_plain_average_of_probabilities_is_not_accepted(lake):
    """The contract is softmax(mean logits), not mean(probabilities)."""
    utts, frames = lake[UTTS], lake[FRAMES]
    track0 = utts.filter(pl.col("scope") == "track").head(1)
    rid = track0["recording_id"][0]
    means = frames.filter(pl.col("recording_id") == rid).select(pl.col(EMOTIONS).mean())
    averaged = track0.with_columns([means[e].cast(pl.Float64).alias(e) for e in EMOTIONS])
    outcome = check_utterances_match_frames(averaged, frames)
    assert not outcome.passed


def test_wrong_n_frames_fails(lake):
    utts = lake[UTTS]
    row = _segment_row(utts, 0)
    broken = set_value(utts, row, "n_frames", utts["n_frames"][row] + 1)
    outcome = check_utterances_match_frames(broken, lake[FRAMES])
    assert not outcome.passed
    assert "n_frames_found" in outcome.metadata["first_offenders"]


def test_utterance_without_frames_fails(lake):
    utts = lake[UTTS]
    row = _segment_row(utts, 2)
    outside = set_value(set_value(utts, row, "t_start", 500.0), row, "t_end", 501.0)
    outcome = check_utterances_match_frames(outside, lake[FRAMES])
    assert not outcome.passed
    assert outcome.metadata["utterances_without_frames"] == 1


def test_segment_membership_by_frame_centre(lake):
    """A segment starting exactly on frame 10's centre includes it; ending on frame 20's
    centre excludes it: 10 frames, summarised as softmax(mean log p)."""
    frames = lake[FRAMES]
    rid = frames["recording_id"][0]
    own = frames.filter(pl.col("recording_id") == rid).sort("frame_idx")
    log_p = np.log(own.select(EMOTIONS).to_numpy().astype(np.float64)[10:20])
    mean = log_p.mean(axis=0)
    scores = np.exp(mean - mean.max())
    scores /= scores.sum()
    row = {
        "recording_id": rid,
        "track": 0,
        "scope": "segment",
        "segment_idx": 99,
        "t_start": 10 * 0.02 + 0.0125,
        "t_end": 20 * 0.02 + 0.0125,
        "n_frames": 10,
        **dict(zip(EMOTIONS, scores.tolist(), strict=True)),
    }
    utt = pl.DataFrame([row]).with_columns(pl.col("track").cast(pl.Int32))
    assert check_utterances_match_frames(utt, frames).passed
    assert not check_utterances_match_frames(utt.with_columns(n_frames=pl.lit(11)), frames).passed


def test_utterance_not_summing_to_one_fails(lake):
    utts = lake[UTTS]
    broken = set_value(utts, 0, "unknown", utts["unknown"][0] + 0.2)
    outcome = check_utterance_scores(broken)
    assert not outcome.passed
    assert outcome.metadata["sum_not_one"] == 1
    assert "sum_not_one" in outcome.metadata["first_offenders"]


def test_confidence_not_max_fails(lake):
    outcome = check_utterance_scores(set_value(lake[UTTS], 1, "confidence", 0.01))
    assert not outcome.passed
    assert outcome.metadata["confidence_not_max"] == 1


def test_track_scope_with_segment_idx_fails(lake):
    utts = lake[UTTS]
    row = int((utts["scope"] == "track").arg_true()[0])
    outcome = check_utterance_scores(set_value(utts, row, "segment_idx", 0))
    assert not outcome.passed
    assert outcome.metadata["segment_idx_vs_scope"] == 1


def test_two_track_rows_for_one_track_are_duplicates(lake):
    """The key includes a null segment_idx: two track-scope rows still collide."""
    utts = lake[UTTS]
    track_row = utts.filter(pl.col("scope") == "track").head(1)
    outcome = check_unique_keys(pl.concat([utts, track_row]), UTTS)
    assert not outcome.passed
    assert outcome.metadata["offenders"] == 1
    assert "scope=track" in outcome.metadata["first_offenders"]
