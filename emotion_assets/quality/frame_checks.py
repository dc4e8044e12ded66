"""Checks on frame_emotion_scores: the per-frame probabilities everything downstream reads.

These are the blocking ones: a failure here means the scores (or their timeline) are wrong.
"""

from __future__ import annotations

import polars as pl

from emotion_assets.contracts import UNSCORED_ROWS
from emotion_assets.foundation.labels import (
    EMOTIONS,
    FRAME_HOP_S,
    FRAME_LENGTH_S,
    FRAME_STRIDE,
    RECEPTIVE_FIELD,
)
from emotion_assets.quality.outcome import (
    MAX_TEXT,
    CheckOutcome,
    Severity,
    describe_rows,
    missing_columns,
    outcome_from_offenders,
)

TABLE = "frame_emotion_scores"
SCORES = list(EMOTIONS)
FRAME_KEY = ["recording_id", "track", "frame_idx"]
SUM_TOLERANCE = 1e-4
TIME_TOLERANCE = 1e-6


def _finite(column: str) -> pl.Expr:
    return pl.col(column).is_not_null() & pl.col(column).is_not_nan()


def unscored(frames: pl.DataFrame, table: str = TABLE) -> pl.Expr:
    """Rows the contract lets go unscored: every value column NULL and the flag false
    (speech-only mode's non-speech frames; contracts.UNSCORED_ROWS). False for other tables."""
    flag, columns = UNSCORED_ROWS.get(table, ("", ()))
    if not flag or not frames.height or not {flag, *columns} <= set(frames.columns):
        return pl.lit(False)
    return pl.all_horizontal(pl.col(c).is_null() for c in columns) & ~pl.col(flag).fill_null(True)


def scored_frames(frames: pl.DataFrame) -> pl.DataFrame:
    """The frames that carry scores (all of them unless scored in speech-only mode)."""
    return frames.drop_nulls(SCORES) if frames.height else frames


def check_scores_in_range(frames: pl.DataFrame, severity: Severity = "error") -> CheckOutcome:
    """Every score in [0, 1] (null/NaN are reported by check_scores_not_null)."""
    if (bad := missing_columns(frames, FRAME_KEY + SCORES, severity, TABLE)) is not None:
        return bad
    outside = pl.any_horizontal(_finite(c) & ((pl.col(c) < 0) | (pl.col(c) > 1)) for c in SCORES)
    offenders = frames.filter(outside)
    lo = frames.select(pl.min_horizontal(pl.col(SCORES).min())).item()
    hi = frames.select(pl.max_horizontal(pl.col(SCORES).max())).item()
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=frames.height,
        severity=severity,
        ok="every frame score within [0, 1]",
        bad="frame scores outside [0, 1]",
        columns=FRAME_KEY + SCORES,
        extra={
            "min_score": float(lo) if lo is not None else 0.0,
            "max_score": float(hi) if hi is not None else 0.0,
        },
    )


def check_scores_sum_to_one(
    frames: pl.DataFrame, tolerance: float = SUM_TOLERANCE, severity: Severity = "error"
) -> CheckOutcome:
    """Each scored frame's nine scores sum to 1 within `tolerance` (they are a softmax);
    unscored frames are check_scores_not_null's business."""
    if (bad := missing_columns(frames, FRAME_KEY + SCORES, severity, TABLE)) is not None:
        return bad
    with_sum = (
        scored_frames(frames)
        .with_columns(score_sum=pl.sum_horizontal(pl.col(SCORES).cast(pl.Float64)))
        .with_columns(sum_error=(pl.col("score_sum") - 1).abs())
    )
    offenders = with_sum.filter(
        (pl.col("sum_error") > tolerance) | pl.col("sum_error").is_nan()
    ).sort("sum_error", descending=True, nulls_last=True)
    worst = with_sum["sum_error"].fill_nan(None).max()
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=frames.height,
        severity=severity,
        ok=f"every frame's scores sum to 1 ± {tolerance:g}",
        bad=f"frames whose scores do not sum to 1 ± {tolerance:g}",
        columns=FRAME_KEY + ["score_sum"],
        extra={"max_sum_error": float(worst) if worst is not None else 0.0, "tolerance": tolerance},
    )


def check_scores_not_null(
    frames: pl.DataFrame,
    columns: list[str] | None = None,
    severity: Severity = "error",
    table: str = TABLE,
    key: list[str] | None = None,
) -> CheckOutcome:
    """No null or NaN among the nine scores, except in the rows the contract lets go unscored
    (contracts.UNSCORED_ROWS: non-speech frames of speech-only scoring, all scores NULL)."""
    columns = columns or SCORES
    key = key or FRAME_KEY
    if (bad := missing_columns(frames, key + columns, severity, table)) is not None:
        return bad
    allowed = unscored(frames, table)
    offenders = frames.filter(pl.any_horizontal(~_finite(c) for c in columns) & ~allowed)
    counts = offenders.select([(~_finite(c)).sum().alias(f"missing_{c}") for c in columns]).row(
        0, named=True
    )
    if table in UNSCORED_ROWS and frames.height:
        counts["unscored_non_speech"] = frames.select(allowed.cast(pl.Int64).sum()).item()
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=frames.height,
        severity=severity,
        ok=f"{table}: no null/NaN scores",
        bad=f"{table}: null or NaN scores",
        columns=key + columns,
        extra={k: int(v) for k, v in counts.items() if v},
    )


def expected_frame_counts(normalized_audio: pl.DataFrame) -> pl.DataFrame:
    """recording_id, track, expected_frames = floor((N - 400) / 320) + 1 (0 below 400 samples)."""
    n = pl.col("n_samples")
    return normalized_audio.select(
        pl.col("recording_id"),
        pl.col("track").cast(pl.Int64),
        pl.col("n_samples"),
        expected_frames=pl.when(n >= RECEPTIVE_FIELD)
        .then((n - RECEPTIVE_FIELD) // FRAME_STRIDE + 1)
        .otherwise(0),
    )


def check_frame_counts(
    frames: pl.DataFrame, normalized_audio: pl.DataFrame, severity: Severity = "error"
) -> CheckOutcome:
    """Frames per (recording, track) == floor((N − 400)/320) + 1 for the track's N samples; a
    track with frames but no normalized audio (or the reverse) is an offender too."""
    if (bad := missing_columns(frames, ["recording_id", "track"], severity, TABLE)) is not None:
        return bad
    needed = ["recording_id", "track", "n_samples"]
    if (bad := missing_columns(normalized_audio, needed, severity, "normalized_audio")) is not None:
        return bad
    actual = frames.group_by("recording_id", pl.col("track").cast(pl.Int64)).agg(
        frames=pl.len().cast(pl.Int64)
    )
    joined = expected_frame_counts(normalized_audio).join(
        actual, on=["recording_id", "track"], how="full", coalesce=True
    )
    offenders = joined.filter(
        pl.col("expected_frames").is_null()
        | (pl.col("frames").fill_null(0) != pl.col("expected_frames"))
    ).with_columns(difference=pl.col("frames").fill_null(0) - pl.col("expected_frames"))
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=joined.height,
        severity=severity,
        ok=f"frame count matches floor((N-{RECEPTIVE_FIELD})/{FRAME_STRIDE})+1 on every track",
        bad="tracks with the wrong number of frames",
        columns=["recording_id", "track", "n_samples", "expected_frames", "frames", "difference"],
        extra={
            "tracks_checked": joined.height,
            "tracks_without_audio": int(joined["expected_frames"].null_count()),
        },
    )


def check_frame_timeline(
    frames: pl.DataFrame, tolerance: float = TIME_TOLERANCE, severity: Severity = "error"
) -> CheckOutcome:
    """frame_idx contiguous from 0 per track (no gaps, no repeats), t_start = 0.02·frame_idx and
    t_end = t_start + 0.025 within `tolerance` — so frame times strictly increase without gaps."""
    needed = FRAME_KEY + ["t_start", "t_end"]
    if (bad := missing_columns(frames, needed, severity, TABLE)) is not None:
        return bad
    per_track = frames.group_by("recording_id", "track").agg(
        frames=pl.len(),
        first_idx=pl.col("frame_idx").min(),
        last_idx=pl.col("frame_idx").max(),
        distinct_idx=pl.col("frame_idx").n_unique(),
    )
    gappy = per_track.filter(
        (pl.col("first_idx") != 0)
        | (pl.col("last_idx") != pl.col("frames") - 1)
        | (pl.col("distinct_idx") != pl.col("frames"))
    ).with_columns(missing_idx=pl.col("last_idx") + 1 - pl.col("distinct_idx"))
    mistimed = frames.filter(
        ((pl.col("t_start") - FRAME_HOP_S * pl.col("frame_idx")).abs() > tolerance)
        | ((pl.col("t_end") - pl.col("t_start") - FRAME_LENGTH_S).abs() > tolerance)
        | pl.col("t_start").is_null()
        | pl.col("t_end").is_null()
    )
    parts = []
    if gappy.height:
        cols = ["recording_id", "track", "frames", "first_idx", "last_idx", "missing_idx"]
        parts.append(f"tracks: {describe_rows(gappy, cols)}")
    if mistimed.height:
        parts.append(f"frames: {describe_rows(mistimed, FRAME_KEY + ['t_start', 't_end'])}")
    passed = not parts
    metadata: dict[str, str | int | float | bool] = {
        "rows_checked": frames.height,
        "tracks_checked": per_track.height,
        "tracks_not_contiguous": gappy.height,
        "frames_mistimed": mistimed.height,
    }
    if parts:
        metadata["first_offenders"] = " | ".join(parts)[:MAX_TEXT]
    template = (
        "frame timeline broken ({tracks_not_contiguous} tracks with gaps/repeats, "
        "{frames_mistimed} frames off the 20 ms grid)"
    )
    description = (
        "frame_idx contiguous from 0 and times on the 20 ms grid on every track"
        if passed
        else template.format_map(metadata)
    )
    return CheckOutcome(passed, severity, description, metadata, template)


def top_label_score() -> pl.Expr:
    """The score of the label named in top_emotion (null when it names no label)."""
    return pl.coalesce(
        [pl.when(pl.col("top_emotion") == e).then(pl.col(e).cast(pl.Float64)) for e in SCORES]
    )


def check_top_emotion(
    frames: pl.DataFrame,
    severity: Severity = "error",
    table: str = TABLE,
    key: list[str] | None = None,
) -> CheckOutcome:
    """top_emotion names a label whose score is the row's maximum (ties: any of them)."""
    key = key or FRAME_KEY
    if (
        bad := missing_columns(frames, key + SCORES + ["top_emotion"], severity, table)
    ) is not None:
        return bad
    # unscored rows (speech-only mode) have no top emotion: check_scores_not_null's business
    allowed = unscored(frames, table)
    labelled = frames.filter(~allowed).with_columns(
        top_score=top_label_score(),
        max_score=pl.max_horizontal(pl.col(SCORES).cast(pl.Float64)),
    )
    offenders = labelled.filter(
        pl.col("top_score").is_null() | (pl.col("top_score") < pl.col("max_score"))
    ).with_columns(  # the label that should have been there (offenders only: cheaper)
        argmax=pl.concat_list(pl.col(SCORES).cast(pl.Float64))
        .list.arg_max()
        .replace_strict(list(range(len(SCORES))), SCORES, default=None)
    )
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=frames.height,
        severity=severity,
        ok=f"{table}: top_emotion is the argmax label on every row",
        bad=f"{table}: top_emotion is not the argmax label",
        columns=key + ["top_emotion", "argmax", "top_score", "max_score"],
    )


def check_overlap_has_no_speaker(frames: pl.DataFrame, severity: Severity = "warn") -> CheckOutcome:
    """Contract: speaker is null when two people speak (is_overlap)."""
    if bad := missing_columns(frames, FRAME_KEY + ["speaker", "is_overlap"], severity, TABLE):
        return bad
    offenders = frames.filter(pl.col("is_overlap") & pl.col("speaker").is_not_null())
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=frames.height,
        severity=severity,
        ok="overlapping frames carry no single speaker",
        bad="overlapping frames attributed to one speaker",
        columns=FRAME_KEY + ["speaker", "is_overlap"],
    )
