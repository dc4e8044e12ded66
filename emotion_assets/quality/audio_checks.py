"""Checks on the ingest tables: raw_recordings, normalized_audio, speech_segments, speaker_turns,
quarantine."""

from __future__ import annotations

import polars as pl

from emotion_assets.foundation.labels import SAMPLE_RATE
from emotion_assets.quality.outcome import (
    CheckOutcome,
    Severity,
    missing_columns,
    outcome_from_offenders,
)

DURATION_TOLERANCE_S = 0.020  # decoded vs probed length (codec padding, resampler edges)
SAMPLES_TOLERANCE_S = 0.001  # n_samples / 16000 vs duration_s: the same number, two spellings
BOUNDARY_TOLERANCE_S = 0.001  # a segment/turn may end this far past the track's end
TIME_TOLERANCE = 1e-6
TRACK = ["recording_id", "track"]


def _problems(flags: dict[str, pl.Expr]) -> pl.Expr:
    """A comma-separated list of the flag names that are true (null counts as true)."""
    return (
        pl.concat_list([pl.when(e.fill_null(True)).then(pl.lit(k)) for k, e in flags.items()])
        .list.drop_nulls()
        .list.join(",")
    )


def _flag_outcome(
    df: pl.DataFrame,
    flags: dict[str, pl.Expr],
    key: list[str],
    shown: list[str],
    severity: Severity,
    ok: str,
    bad: str,
) -> CheckOutcome:
    """Rows with any true flag are offenders; metadata counts each flag."""
    flagged = df.with_columns(problems=_problems(flags))
    counts = (
        df.select([e.fill_null(True).sum().alias(k) for k, e in flags.items()]).row(0, named=True)
        if df.height
        else dict.fromkeys(flags, 0)
    )
    counts = {k: int(v) for k, v in counts.items()}
    return outcome_from_offenders(
        offenders=flagged.filter(pl.col("problems") != ""),
        n_checked=df.height,
        severity=severity,
        ok=ok,
        bad=bad + ": " + ", ".join(k for k, v in counts.items() if v),
        columns=[*key, *shown, "problems"],
        extra=counts,
    )


def check_unique_ok_recordings(raw: pl.DataFrame, severity: Severity = "error") -> CheckOutcome:
    """Among status 'ok' rows each recording_id appears once (copies must be 'duplicate')."""
    cols = ["recording_id", "status", "file_name"]
    if (bad := missing_columns(raw, cols, severity, "raw_recordings")) is not None:
        return bad
    ok = raw.filter(pl.col("status") == "ok")
    dupes = (
        ok.group_by("recording_id")
        .agg(copies=pl.len(), files=pl.col("file_name").sort().str.join(","))
        .filter(pl.col("copies") > 1)
    )
    return outcome_from_offenders(
        offenders=dupes,
        n_checked=ok.height,
        severity=severity,
        ok="each recording_id is 'ok' at most once",
        bad="recording_ids with several 'ok' rows",
    )


def check_raw_status(raw: pl.DataFrame, severity: Severity = "warn") -> CheckOutcome:
    """'duplicate' rows name duplicate_of, 'quarantined' rows give a reason, 'ok' rows have a
    positive duration."""
    cols = ["recording_id", "file_name", "status", "duplicate_of", "reason", "duration_s"]
    if (bad := missing_columns(raw, cols, severity, "raw_recordings")) is not None:
        return bad
    status = pl.col("status")
    flags = {
        "duplicate_without_duplicate_of": (status == "duplicate")
        & pl.col("duplicate_of").is_null(),
        "quarantined_without_reason": (status == "quarantined")
        & (pl.col("reason").is_null() | (pl.col("reason").str.strip_chars() == "")),
        "ok_without_duration": (status == "ok") & ~(pl.col("duration_s") > 0),
    }
    return _flag_outcome(
        raw,
        flags,
        ["file_name", "status"],
        [],
        severity,
        "raw_recordings statuses are consistent",
        "inconsistent raw_recordings rows",
    )


def check_audio_durations(
    normalized: pl.DataFrame,
    raw: pl.DataFrame | None = None,
    tolerance_s: float = DURATION_TOLERANCE_S,
    samples_tolerance_s: float = SAMPLES_TOLERANCE_S,
    severity: Severity = "warn",
) -> CheckOutcome:
    """|duration_s − source_duration_s| ≤ 20 ms, n_samples/16000 ≈ duration_s, and (given raw)
    source_duration_s ≈ the raw row's duration_s within the same 20 ms."""
    cols = [*TRACK, "n_samples", "duration_s", "source_duration_s"]
    if (bad := missing_columns(normalized, cols, severity, "normalized_audio")) is not None:
        return bad
    df = normalized
    flags: dict[str, pl.Expr] = {
        "decoded_vs_source": (pl.col("duration_s") - pl.col("source_duration_s")).abs()
        > tolerance_s,
        "samples_vs_duration": (pl.col("n_samples") / SAMPLE_RATE - pl.col("duration_s")).abs()
        > samples_tolerance_s,
    }
    shown = ["duration_s", "source_duration_s", "n_samples"]
    if raw is not None:
        if (
            bad := missing_columns(raw, ["recording_id", "duration_s"], severity, "raw")
        ) is not None:
            return bad
        raw_ok = raw.filter(pl.col("status") == "ok") if "status" in raw.columns else raw
        raw_durations = raw_ok.group_by("recording_id").agg(
            raw_duration_s=pl.col("duration_s").first()
        )
        df = normalized.join(raw_durations, on="recording_id", how="left")
        flags["source_vs_raw"] = (
            pl.col("source_duration_s") - pl.col("raw_duration_s")
        ).abs() > tolerance_s
        shown.append("raw_duration_s")
    return _flag_outcome(
        df,
        flags,
        TRACK,
        shown,
        severity,
        f"durations agree within {tolerance_s * 1000:g} ms",
        "duration mismatches",
    )


def check_audio_levels(normalized: pl.DataFrame, severity: Severity = "error") -> CheckOutcome:
    """sample_rate == 16000, n_samples > 0, peak/rms/clipped_fraction in [0, 1], rms ≤ peak."""
    cols = [*TRACK, "sample_rate", "n_samples", "peak", "rms", "clipped_fraction"]
    if (bad := missing_columns(normalized, cols, severity, "normalized_audio")) is not None:
        return bad

    def unit(c: str) -> pl.Expr:
        return ~pl.col(c).is_between(0.0, 1.0) | pl.col(c).is_nan()

    flags = {
        "sample_rate_not_16k": pl.col("sample_rate") != SAMPLE_RATE,
        "no_samples": ~(pl.col("n_samples") > 0),
        "peak_outside_unit": unit("peak"),
        "rms_outside_unit": unit("rms"),
        "clipped_fraction_outside_unit": unit("clipped_fraction"),
        "rms_above_peak": pl.col("rms") > pl.col("peak") + 1e-9,
    }
    return _flag_outcome(
        normalized,
        flags,
        TRACK,
        ["sample_rate", "n_samples", "peak", "rms", "clipped_fraction"],
        severity,
        "normalized audio levels and rate are sane",
        "implausible audio levels",
    )


def check_intervals(
    df: pl.DataFrame,
    table: str,
    idx_col: str,
    normalized: pl.DataFrame | None = None,
    overlap_by: tuple[str, ...] = (),
    tolerance_s: float = BOUNDARY_TOLERANCE_S,
    severity: Severity = "error",
) -> CheckOutcome:
    """Intervals of a track: 0 ≤ t_start < t_end, duration_s = t_end − t_start, within the
    track's duration (given normalized_audio), sorted (t_start non-decreasing in `idx_col`
    order) and not overlapping the previous interval of the same track (+ `overlap_by` columns,
    e.g. speaker for turns, since two speakers may talk at once)."""
    cols = [*TRACK, idx_col, "t_start", "t_end", *overlap_by]
    if (bad := missing_columns(df, cols, severity, table)) is not None:
        return bad
    ordered = df.with_columns(pl.col("track").cast(pl.Int64)).sort([*TRACK, idx_col])
    ordered = ordered.with_columns(
        prev_start=pl.col("t_start").shift(1).over(TRACK),
        prev_end=pl.col("t_end").shift(1).over([*TRACK, *overlap_by], order_by=idx_col),
    )
    flags: dict[str, pl.Expr] = {
        "start_not_before_end": ~(pl.col("t_start") < pl.col("t_end")),
        "negative_start": pl.col("t_start") < 0,
        "unsorted": pl.col("prev_start").is_not_null() & (pl.col("t_start") < pl.col("prev_start")),
        "overlaps_previous": pl.col("prev_end").is_not_null()
        & (pl.col("t_start") < pl.col("prev_end") - TIME_TOLERANCE),
    }
    if "duration_s" in df.columns:
        flags["duration_mismatch"] = (
            pl.col("duration_s") - (pl.col("t_end") - pl.col("t_start"))
        ).abs() > TIME_TOLERANCE
    shown = [idx_col, *overlap_by, "t_start", "t_end"]
    if normalized is not None:
        if (
            bad := missing_columns(normalized, [*TRACK, "duration_s"], severity, table)
        ) is not None:
            return bad
        lengths = normalized.select(
            "recording_id", pl.col("track").cast(pl.Int64), track_duration_s=pl.col("duration_s")
        )
        ordered = ordered.join(lengths, on=TRACK, how="left")
        flags["beyond_track_end"] = pl.col("track_duration_s").is_null() | (
            pl.col("t_end") > pl.col("track_duration_s") + tolerance_s
        )
        shown.append("track_duration_s")
    return _flag_outcome(
        ordered,
        flags,
        TRACK,
        shown,
        severity,
        f"{table}: intervals ordered, non-overlapping, inside their tracks",
        f"{table}: bad intervals",
    )


def check_speech_segments(
    segments: pl.DataFrame, normalized: pl.DataFrame | None = None, severity: Severity = "error"
) -> CheckOutcome:
    return check_intervals(
        segments, "speech_segments", "segment_idx", normalized, (), severity=severity
    )


def check_speaker_turns(
    turns: pl.DataFrame, normalized: pl.DataFrame | None = None, severity: Severity = "warn"
) -> CheckOutcome:
    """Turns may overlap across speakers (that is what is_overlap marks), not within one."""
    return check_intervals(
        turns, "speaker_turns", "turn_idx", normalized, ("speaker",), severity=severity
    )


def check_quarantine_reasons(
    quarantine: pl.DataFrame, severity: Severity = "error"
) -> CheckOutcome:
    """Every quarantined file says why, in words (reason not null, not blank)."""
    if bad := missing_columns(quarantine, ["file_name", "reason"], severity, "quarantine"):
        return bad
    offenders = quarantine.filter(
        pl.col("reason").is_null() | (pl.col("reason").str.strip_chars() == "")
    )
    shown = [
        c for c in ("recording_date", "file_name", "stage", "detail") if c in quarantine.columns
    ]
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=quarantine.height,
        severity=severity,
        ok="every quarantined file has a reason",
        bad="quarantine rows without a reason",
        columns=shown,
    )
