"""Team communication health: one row per speaker per recording date.

Speakers come from the frame table (RTTM turns, a stereo channel map or the sidecar's single
speaker). Frames of nobody and frames where two people speak at once (speaker null,
is_overlap) are attributed to no speaker's emotions; overlap_s gives each speaker the
overlap frames whose centre falls inside one of their turns (time spoken over / talked over).
The recording-level overlap total is recording_summary.overlap_s.

The table is a per-day aggregate: recording_id is the sentinel 'ALL' (never a real 16-hex id,
so warehouse keys stay non-null and unique) and recording_ids lists the recordings it covers.

Teams: a speaker's team in a recording is the sidecar `teams` map entry for that speaker, else
the sidecar `team` when the sidecar names this speaker or names no speaker; over a day the most
frequent team wins (alphabetical on ties).
"""

from __future__ import annotations

import json

import duckdb
import polars as pl

from emotion_assets.analytics.common import empty
from emotion_assets.analytics.summary import with_smoothed_top
from emotion_assets.contracts import TEAM_HEALTH_SCHEMA, conform
from emotion_assets.foundation.labels import FRAME_CENTRE_S, FRAME_HOP_S
from emotion_assets.settings import AnalyticsSettings

ALL_RECORDINGS = "ALL"


_TURN_SCHEMA = {
    "recording_id": pl.String,
    "track": pl.Int32,
    "speaker": pl.String,
    "t_start": pl.Float64,
    "t_end": pl.Float64,
}


def speaker_teams(recordings: pl.DataFrame | None) -> pl.DataFrame:
    """(recording_id, speaker, team, default_team) from raw_recordings' sidecar fields.

    One row per teams-map entry, plus one row with speaker null carrying the sidecar `team`
    as default_team for the recording (used when the map has no entry for a speaker).
    """
    schema = {
        "recording_id": pl.String,
        "speaker": pl.String,
        "team": pl.String,
        "sidecar_speaker": pl.String,
    }
    if recordings is None or recordings.is_empty():
        return pl.DataFrame(schema=schema)
    rows: list[dict] = []
    cols = ["recording_id", "speaker", "team", "metadata_json"]
    for rid, speaker, team, meta in recordings.select(cols).iter_rows():  # one per recording
        try:
            teams = (json.loads(meta) or {}).get("teams") if meta else None
        except (json.JSONDecodeError, AttributeError):
            teams = None
        for who, their_team in (teams or {}).items() if isinstance(teams, dict) else []:
            rows.append(
                {
                    "recording_id": rid,
                    "speaker": str(who),
                    "team": str(their_team),
                    "sidecar_speaker": None,
                }
            )
        rows.append(
            {"recording_id": rid, "speaker": None, "team": team, "sidecar_speaker": speaker}
        )
    return pl.DataFrame(rows, schema=schema)


def _overlap_by_speaker(frames: pl.DataFrame, turns: pl.DataFrame | None) -> pl.DataFrame:
    """(recording_date, speaker, recording_id, overlap_s): overlap frames whose centre lies in
    the speaker's turns."""
    overlap = frames.filter(pl.col("is_overlap")).select(
        "recording_date",
        "recording_id",
        "track",
        (pl.col("t_start") + FRAME_CENTRE_S).alias("centre"),
    )
    if turns is None or turns.is_empty() or overlap.is_empty():
        return pl.DataFrame(
            schema={
                "recording_date": pl.Date,
                "speaker": pl.String,
                "recording_id": pl.String,
                "overlap_s": pl.Float64,
            }
        )
    turns = conform(turns, _TURN_SCHEMA)
    con = duckdb.connect()
    try:
        con.register("overlap_frames", overlap)
        con.register("turns", turns)
        return con.sql(
            """
            WITH hits AS (  -- DISTINCT: a frame in two turns of one speaker counts once
                SELECT DISTINCT o.recording_date, o.recording_id, o.track, o.centre, t.speaker
                FROM overlap_frames o JOIN turns t
                  ON o.recording_id = t.recording_id AND o.track = t.track
                 AND o.centre >= t.t_start AND o.centre < t.t_end
            )
            SELECT recording_date, speaker, recording_id, count(*) * ? AS overlap_s
            FROM hits GROUP BY ALL
            """,
            params=[FRAME_HOP_S],
        ).pl()
    finally:
        con.close()


def health_score_expr(s: AnalyticsSettings) -> pl.Expr:
    """100 − anger − neutral − happy-volatility penalties, clipped to [0, 100] (docs/analytics.md)."""
    anger = pl.min_horizontal(
        pl.lit(s.health_anger_max_penalty),
        s.health_anger_points_per_burst_hour * pl.col("anger_bursts_per_hour"),
    )
    ns = pl.col("neutral_share")
    neutral = s.health_neutral_points * (
        (s.health_neutral_low - ns).clip(lower_bound=0)
        + (ns - s.health_neutral_high).clip(lower_bound=0)
    )
    happy = s.health_happy_points * (
        pl.col("happy_volatility") - s.health_happy_volatility_max
    ).clip(lower_bound=0)
    score = (100.0 - anger - neutral - happy).clip(0.0, 100.0)
    return pl.when(pl.col("speech_s") > 0).then(score).otherwise(None)


def team_health(
    frames: pl.DataFrame,
    smoothed: pl.DataFrame | None,
    bursts: pl.DataFrame | None,
    recordings: pl.DataFrame | None,
    turns: pl.DataFrame | None = None,
    settings: AnalyticsSettings | None = None,
) -> pl.DataFrame:
    """Table `team_health` (see module doc)."""
    settings = settings or AnalyticsSettings()
    parts = speaker_parts(frames, smoothed, turns, settings.smoothing_window)
    return team_health_from_parts(parts, bursts, recordings, settings)


# One row per day, speaker and recording: what team_health needs of the frames, so a day's
# table can be built from groups of recordings computed one at a time (by_recording.py).
PARTS_SCHEMA = {
    "recording_date": pl.Date,
    "speaker": pl.String,
    "recording_id": pl.String,
    "speech_frames": pl.Int64,
    "neutral_frames": pl.Int64,
    "happy_n": pl.Int64,
    "happy_mean": pl.Float64,
    "happy_m2": pl.Float64,  # sum of squared deviations from happy_mean
    "overlap_s": pl.Float64,
}


def speaker_parts(
    frames: pl.DataFrame,
    smoothed: pl.DataFrame | None,
    turns: pl.DataFrame | None,
    window: int,
) -> pl.DataFrame:
    """Per day, speaker and recording: speech and neutral frames, the happy score's count, mean
    and squared deviations over speech frames, and the overlap attributed to the speaker."""
    if frames.is_empty():
        return pl.DataFrame(schema=PARTS_SCHEMA)
    table = with_smoothed_top(frames, smoothed, window)
    speech = pl.col("is_speech")
    happy = pl.col("happy").filter(speech).cast(pl.Float64)
    keys = ["recording_date", "speaker", "recording_id"]
    parts = (
        table.filter(pl.col("speaker").is_not_null())
        .group_by(keys)
        .agg(
            speech.sum().cast(pl.Int64).alias("speech_frames"),
            (pl.col("smoothed_top_emotion").filter(speech) == "neutral")
            .sum()
            .cast(pl.Int64)
            .alias("neutral_frames"),
            happy.count().cast(pl.Int64).alias("happy_n"),
            happy.mean().alias("happy_mean"),
            (happy.var(ddof=0) * happy.count()).alias("happy_m2"),
        )
    )
    overlap = _overlap_by_speaker(table, turns)
    return conform(parts.join(overlap, on=keys, how="left"), PARTS_SCHEMA)


def _happy_volatility() -> pl.Expr:
    """The population std of happy over every speech frame, from the parts' counts, means and
    squared deviations (Chan et al.'s pairwise rule); one part's own when there is one."""
    n, mean = pl.col("happy_n"), pl.col("happy_mean")
    total = n.sum()
    day_mean = (n * mean).sum() / total
    m2 = pl.col("happy_m2").sum() + (n * (mean - day_mean) ** 2).sum()
    combined = (m2 / total).sqrt()
    one = (pl.col("happy_m2") / n).sqrt().first()
    return pl.when(total == 0).then(None).when(pl.len() == 1).then(one).otherwise(combined)


def team_health_from_parts(
    parts: pl.DataFrame,
    bursts: pl.DataFrame | None,
    recordings: pl.DataFrame | None,
    settings: AnalyticsSettings | None = None,
) -> pl.DataFrame:
    """Table `team_health` from speaker_parts of the day's recordings (in any grouping)."""
    settings = settings or AnalyticsSettings()
    if parts.is_empty():
        return empty(TEAM_HEALTH_SCHEMA)
    speech_frames = pl.col("speech_frames").sum()
    per_speaker = parts.group_by("recording_date", "speaker").agg(
        pl.col("recording_id").unique().sort().alias("recording_ids"),
        pl.col("recording_id").n_unique().cast(pl.Int64).alias("n_recordings"),
        (speech_frames * FRAME_HOP_S).alias("speech_s"),
        pl.when(speech_frames > 0)
        .then(pl.col("neutral_frames").sum() / speech_frames)
        .otherwise(None)
        .alias("neutral_share"),
        _happy_volatility().alias("happy_volatility"),
        pl.col("overlap_s").sum().alias("overlap_s"),
    )
    anger = (
        bursts.filter(pl.col("emotion") == "angry")
        .group_by("recording_date", "speaker")
        .agg(pl.len().cast(pl.Int64).alias("anger_burst_count"))
        if bursts is not None and not bursts.is_empty()
        else pl.DataFrame(
            schema={"recording_date": pl.Date, "speaker": pl.String, "anger_burst_count": pl.Int64}
        )
    )
    out = (
        per_speaker.join(anger, on=["recording_date", "speaker"], how="left")
        .join(_day_teams(parts, recordings), on=["recording_date", "speaker"], how="left")
        .with_columns(
            pl.lit(ALL_RECORDINGS).alias("recording_id"),
            pl.col("anger_burst_count").fill_null(0),
            pl.col("overlap_s").fill_null(0.0),
        )
        .with_columns(
            pl.when(pl.col("speech_s") > 0)
            .then(pl.col("anger_burst_count") / (pl.col("speech_s") / 3600.0))
            .otherwise(None)
            .alias("anger_bursts_per_hour")
        )
        .with_columns(health_score_expr(settings).alias("health_score"))
        .sort("recording_date", "speaker")
    )
    return conform(out, TEAM_HEALTH_SCHEMA)


def _day_teams(table: pl.DataFrame, recordings: pl.DataFrame | None) -> pl.DataFrame:
    """(recording_date, speaker, team): each speaker's team per recording, most frequent per day."""
    present = table.select("recording_date", "recording_id", "speaker").unique()
    teams = speaker_teams(recordings)
    mapped = teams.filter(pl.col("speaker").is_not_null()).select(
        "recording_id", "speaker", pl.col("team").alias("mapped_team")
    )
    defaults = teams.filter(pl.col("speaker").is_null()).select(
        "recording_id", pl.col("team").alias("default_team"), "sidecar_speaker"
    )
    resolved = (
        present.join(mapped, on=["recording_id", "speaker"], how="left")
        .join(defaults, on="recording_id", how="left")
        .with_columns(
            pl.coalesce(
                "mapped_team",
                pl.when(
                    pl.col("sidecar_speaker").is_null()
                    | (pl.col("sidecar_speaker") == pl.col("speaker"))
                ).then(pl.col("default_team")),
            ).alias("team")
        )
    )
    return resolved.group_by("recording_date", "speaker").agg(
        pl.col("team").drop_nulls().mode().sort().first().alias("team")
    )
