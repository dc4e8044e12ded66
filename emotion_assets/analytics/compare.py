"""Comparisons of a take with the recording its sidecar names (`compare_with`), e.g. dubbing.

Per emotion and track (tracks are matched by index): the Pearson correlation of the smoothed
curves aligned on frame_idx, and the lag within ±max_lag_s that maximises it. Positive lag =
the take is late: best_lag_s = +0.3 means take(t + 0.3 s) matches original(t). Only frame pairs
where both sides are speech count (non-speech smoothed scores are null); r is null with fewer
than min_frames valid pairs or a flat curve. Ties between lags go to the earliest (most
negative) lag.
"""

from __future__ import annotations

import posixpath

import numpy as np
import polars as pl

from emotion_assets.analytics.common import empty
from emotion_assets.contracts import COMPARISON_SCHEMA, conform
from emotion_assets.foundation.labels import EMOTIONS, FRAME_HOP_S


def comparison_pairs(recordings: pl.DataFrame) -> pl.DataFrame:
    """(recording_date, recording_id, other_recording_id) for every sidecar `compare_with`.

    compare_with is a file name in the take's own folder under raw/<date>/.
    """
    schema = {"recording_date": pl.Date, "recording_id": pl.String, "other_recording_id": pl.String}
    if recordings.is_empty():
        return pl.DataFrame(schema=schema)
    usable = recordings.filter(
        pl.col("recording_id").is_not_null() & (pl.col("status") != "quarantined")
    )
    takes = usable.filter(pl.col("compare_with").is_not_null()).with_columns(
        pl.struct("file_name", "compare_with")
        .map_elements(
            lambda r: posixpath.normpath(
                posixpath.join(posixpath.dirname(r["file_name"]), r["compare_with"])
            ),
            return_dtype=pl.String,
        )
        .alias("_target")
    )  # map_elements runs once per recording with a sidecar, not per frame
    others = usable.select(
        "recording_date",
        pl.col("file_name").alias("_target"),
        pl.col("recording_id").alias("other_recording_id"),
    )
    return (
        takes.join(others, on=["recording_date", "_target"], how="inner")
        .filter(pl.col("recording_id") != pl.col("other_recording_id"))
        .select(list(schema))
        .unique()
        .sort("recording_id", "other_recording_id")
    )


def lagged_pearson(
    x: np.ndarray, y: np.ndarray, max_lag: int, min_frames: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pearson r of (x[i + lag], y[i]) over pairs where both are finite, for lag in ±max_lag.

    Returns (lags, r, n_pairs); r is NaN where fewer than min_frames pairs or a flat side.
    """
    from scipy import signal  # here: SciPy takes a second to import

    mx, my = np.isfinite(x), np.isfinite(y)
    # Centring first keeps the sums small, so the FFT's rounding does not swamp the variance.
    xc = np.where(mx, x - (x[mx].mean() if mx.any() else 0.0), 0.0)
    yc = np.where(my, y - (y[my].mean() if my.any() else 0.0), 0.0)
    fx, fy = mx.astype(np.float64), my.astype(np.float64)

    def corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return signal.correlate(a, b, mode="full", method="fft")

    all_lags = signal.correlation_lags(len(x), len(y), mode="full")
    n, sx, sy = corr(fx, fy), corr(xc, fy), corr(fx, yc)
    sxx, syy, sxy = corr(xc * xc, fy), corr(fx, yc * yc), corr(xc, yc)
    keep = np.abs(all_lags) <= max_lag
    lags, n, sx, sy, sxx, syy, sxy = (a[keep] for a in (all_lags, n, sx, sy, sxx, syy, sxy))
    n = np.rint(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_x, var_y = n * sxx - sx * sx, n * syy - sy * sy
        r = (n * sxy - sx * sy) / np.sqrt(var_x * var_y)
    flat = (var_x <= 1e-12 * np.maximum(n, 1) ** 2) | (var_y <= 1e-12 * np.maximum(n, 1) ** 2)
    r = np.where((n >= max(min_frames, 2)) & ~flat, np.clip(r, -1.0, 1.0), np.nan)
    return lags, r, n.astype(np.int64)


def _dense(curves: pl.DataFrame, emotion: str) -> np.ndarray:
    """Scores by frame_idx (0..max), NaN where missing or non-speech."""
    out = np.full(int(curves["frame_idx"].max()) + 1, np.nan)
    values = curves[emotion].cast(pl.Float64).fill_null(np.nan).to_numpy()
    out[curves["frame_idx"].to_numpy()] = values
    return out


def _pair_tracks(
    smoothed: pl.LazyFrame, day: object, ids: list[str]
) -> dict[tuple[str, int], pl.DataFrame]:
    """{(recording_id, track): curves} of the pair's two recordings on `day`: a comparison
    reads two recordings, never the day."""
    rows = (
        smoothed.filter((pl.col("recording_date") == day) & pl.col("recording_id").is_in(ids))
        .select("recording_id", "track", "frame_idx", *EMOTIONS)
        .collect()
    )
    return rows.partition_by(["recording_id", "track"], as_dict=True)


def compare_recordings(
    smoothed: pl.DataFrame | pl.LazyFrame,
    recordings: pl.DataFrame,
    *,
    max_lag_s: float = 2.0,
    min_frames: int = 25,
) -> pl.DataFrame:
    """Table `emotion_comparisons` from smoothed_emotion_curves (a frame or a lazy scan: each
    pair's two recordings are read in turn) and raw_recordings."""
    pairs = comparison_pairs(recordings)
    if pairs.is_empty():
        return empty(COMPARISON_SCHEMA)
    max_lag = round(max_lag_s / FRAME_HOP_S)
    rows: list[dict] = []
    for day, take_id, other_id in pairs.iter_rows():  # one per declared pair
        tracks = _pair_tracks(smoothed.lazy(), day, [take_id, other_id])
        for (rid, track), take in tracks.items():
            original = tracks.get((other_id, track))
            if rid != take_id or original is None:
                continue
            for emotion in EMOTIONS:
                lags, r, n = lagged_pearson(
                    _dense(take, emotion), _dense(original, emotion), max_lag, min_frames
                )
                zero = int(np.flatnonzero(lags == 0)[0])
                best = int(np.nanargmax(r)) if np.isfinite(r).any() else None
                rows.append(
                    {
                        "recording_date": day,
                        "recording_id": take_id,
                        "other_recording_id": other_id,
                        "track": track,
                        "emotion": emotion,
                        "pearson_r": float(r[zero]) if np.isfinite(r[zero]) else None,
                        "best_lag_s": None
                        if best is None
                        else round(float(lags[best]) * FRAME_HOP_S, 6),
                        "best_lag_r": None if best is None else float(r[best]),
                        "n_frames": int(n[zero]),
                    }
                )
    if not rows:
        return empty(COMPARISON_SCHEMA)
    return conform(pl.DataFrame(rows, schema=COMPARISON_SCHEMA), COMPARISON_SCHEMA).sort(
        "recording_date", "recording_id", "other_recording_id", "track", "emotion"
    )
