"""Checks on utterance_emotion_scores: each row must be the softmax of the mean frame logits.

softmax(mean(logits)) == softmax(mean(log p)) because log p = logits − logsumexp(logits) and the
per-frame constant cancels in the softmax; so the frame probabilities suffice.
Which frames belong to a row: scope 'track' → every frame of the track; scope 'segment' → the
frames whose centre t_start + 0.0125 lies in [t_start, t_end) of the segment.
"""

from __future__ import annotations

import polars as pl

from emotion_assets.foundation.labels import FRAME_CENTRE_S, FRAME_HOP_S
from emotion_assets.quality.frame_checks import SCORES, top_label_score
from emotion_assets.quality.outcome import (
    CheckOutcome,
    Severity,
    missing_columns,
    outcome_from_offenders,
)

TABLE = "utterance_emotion_scores"
UTTERANCE_KEY = ["recording_id", "track", "scope", "segment_idx"]
SCORE_TOLERANCE = 1e-4
# float32 probabilities underflow to 0 where the logit gap exceeds ~87; clip before the log.
_TINY = 1.1754944e-38
# Snaps a boundary that sits exactly on a frame centre to the same side every time.
_EPS = 1e-9


def _frames_of_utterances(utterances: pl.DataFrame, frames: pl.DataFrame) -> pl.DataFrame:
    """(utterance row u, recording_id, track, frame_idx) for every frame an utterance covers."""
    u = utterances.with_row_index("u").with_columns(pl.col("track").cast(pl.Int64))
    f = frames.select("recording_id", pl.col("track").cast(pl.Int64), "frame_idx")
    whole = (
        u.filter(pl.col("scope") == "track")
        .select("u", "recording_id", "track")
        .join(f, on=["recording_id", "track"])
    )
    centre = FRAME_CENTRE_S
    # frame k's centre = FRAME_HOP_S·k + centre ∈ [t_start, t_end)  ⇔  lo ≤ k < hi
    segs = (
        u.filter(pl.col("scope") == "segment")
        .select(
            "u",
            "recording_id",
            "track",
            lo=((pl.col("t_start") - centre) / FRAME_HOP_S - _EPS).ceil().clip(lower_bound=0),
            hi=((pl.col("t_end") - centre) / FRAME_HOP_S - _EPS).ceil().clip(lower_bound=0),
        )
        .with_columns(
            frame_idx=pl.int_ranges(pl.col("lo").cast(pl.Int64), pl.col("hi").cast(pl.Int64))
        )
        .explode("frame_idx")
        .drop("lo", "hi")
        .drop_nulls("frame_idx")
        .join(
            f.with_columns(pl.col("frame_idx").cast(pl.Int64)),
            on=["recording_id", "track", "frame_idx"],
        )
    )
    return pl.concat([whole.with_columns(pl.col("frame_idx").cast(pl.Int64)), segs])


def expected_utterance_scores(utterances: pl.DataFrame, frames: pl.DataFrame) -> pl.DataFrame:
    """Per utterance row u: n_frames_found and the nine expected scores softmax(mean(log p)),
    over the scored frames (speech-only mode leaves the others NULL)."""
    frames = frames.drop_nulls(SCORES) if frames.height else frames
    members = _frames_of_utterances(utterances, frames)
    log_p = frames.select(
        "recording_id",
        pl.col("track").cast(pl.Int64),
        pl.col("frame_idx").cast(pl.Int64),
        *[pl.col(e).cast(pl.Float64).clip(lower_bound=_TINY).log().alias(e) for e in SCORES],
    )
    means = (
        members.join(log_p, on=["recording_id", "track", "frame_idx"])
        .group_by("u")
        .agg(pl.len().alias("n_frames_found"), *[pl.col(e).mean() for e in SCORES])
    )
    top = pl.max_horizontal(SCORES)
    shifted = means.with_columns([(pl.col(e) - top).exp() for e in SCORES])
    total = pl.sum_horizontal(SCORES)
    return shifted.select(
        "u", "n_frames_found", *[(pl.col(e) / total).alias(f"expected_{e}") for e in SCORES]
    )


def check_utterances_match_frames(
    utterances: pl.DataFrame,
    frames: pl.DataFrame,
    tolerance: float = SCORE_TOLERANCE,
    severity: Severity = "error",
) -> CheckOutcome:
    """Each utterance's nine scores == softmax(mean frame logits) within `tolerance`, and its
    n_frames == the frames it covers; an utterance covering no frame is an offender."""
    needed = ["recording_id", "track", "scope", "segment_idx", "t_start", "t_end", *SCORES]
    if (bad := missing_columns(utterances, needed, severity, TABLE)) is not None:
        return bad
    frame_cols = ["recording_id", "track", "frame_idx", *SCORES]
    if (bad := missing_columns(frames, frame_cols, severity, "frame_emotion_scores")) is not None:
        return bad
    expected = expected_utterance_scores(utterances, frames)
    compared = (
        utterances.with_row_index("u")
        .join(expected, on="u", how="left")
        .with_columns(
            max_abs_error=pl.max_horizontal(
                (pl.col(e).cast(pl.Float64) - pl.col(f"expected_{e}")).abs() for e in SCORES
            ),
            n_frames_found=pl.col("n_frames_found").fill_null(0),
        )
    )
    wrong_count = (
        pl.col("n_frames") != pl.col("n_frames_found")
        if "n_frames" in utterances.columns
        else pl.lit(False)
    )
    offenders = compared.filter(
        (pl.col("n_frames_found") == 0)
        | pl.col("max_abs_error").is_null()
        | pl.col("max_abs_error").is_nan()
        | (pl.col("max_abs_error") > tolerance)
        | wrong_count.fill_null(True)
    ).sort("max_abs_error", descending=True, nulls_last=False)
    worst = compared["max_abs_error"].fill_nan(None).max()
    cols = UTTERANCE_KEY + ["t_start", "t_end", "n_frames", "n_frames_found", "max_abs_error"]
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=utterances.height,
        severity=severity,
        ok=f"every utterance equals softmax(mean frame logits) within {tolerance:g}",
        bad="utterances that do not match their frames",
        columns=cols,
        extra={
            "max_abs_error": float(worst) if worst is not None else 0.0,
            "tolerance": tolerance,
            "utterances_without_frames": int((compared["n_frames_found"] == 0).sum()),
        },
    )


def check_utterance_scores(
    utterances: pl.DataFrame, tolerance: float = SCORE_TOLERANCE, severity: Severity = "error"
) -> CheckOutcome:
    """Scores finite, in [0, 1], summing to 1; confidence = max score; top_emotion = argmax;
    segment_idx null exactly when scope = 'track'; t_start < t_end."""
    needed = [*UTTERANCE_KEY, "t_start", "t_end", *SCORES, "top_emotion"]
    if (bad := missing_columns(utterances, needed, severity, TABLE)) is not None:
        return bad
    scores = [pl.col(e).cast(pl.Float64) for e in SCORES]
    top = pl.max_horizontal(scores)
    problems: dict[str, pl.Expr] = {
        "null_or_nan_score": pl.any_horizontal(s.is_null() | s.is_nan() for s in scores),
        "score_outside_unit": pl.any_horizontal((s < 0) | (s > 1) for s in scores),
        "sum_not_one": (pl.sum_horizontal(scores) - 1).abs() > tolerance,
        "top_emotion_not_argmax": top_label_score().is_null() | (top_label_score() < top),
        "segment_idx_vs_scope": (pl.col("scope") == "track") != pl.col("segment_idx").is_null(),
        "empty_interval": ~(pl.col("t_start") < pl.col("t_end")),
    }
    if "confidence" in utterances.columns:
        problems["confidence_not_max"] = (pl.col("confidence") - top).abs() > 1e-6
    flagged = utterances.with_columns(**{k: v.fill_null(True) for k, v in problems.items()})
    flagged = flagged.with_columns(
        problems=pl.concat_list([pl.when(pl.col(k)).then(pl.lit(k)) for k in problems])
        .list.drop_nulls()
        .list.join(",")
    )
    offenders = flagged.filter(pl.col("problems") != "")
    counts = {k: int(flagged[k].sum()) for k in problems}
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=utterances.height,
        severity=severity,
        ok="utterance scores are well-formed distributions matching top_emotion/confidence",
        bad="malformed utterance rows",
        columns=[*UTTERANCE_KEY, "problems"],
        extra=counts,
    )
