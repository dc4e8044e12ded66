"""Derived tables: smoothed curves, summaries, bursts, highlights, timeline, team health,
comparisons and clusters. Each is a thin call into emotion_assets.analytics."""

import polars as pl
from dagster import AssetExecutionContext, AssetsDefinition, PartitionsDefinition, asset

from emotion_assets.analytics.bursts import find_bursts
from emotion_assets.analytics.clusters import cluster_day
from emotion_assets.analytics.compare import compare_recordings
from emotion_assets.analytics.highlights import find_highlights
from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets.analytics.summary import recording_summary as summary_table
from emotion_assets.analytics.team_health import speaker_parts, team_health_from_parts
from emotion_assets.analytics.timeline import emotion_timeline as timeline_table
from emotion_assets.defs.analytics.reports import emotion_reports_asset
from emotion_assets.defs.analytics.transcripts import segment_emotions_asset
from emotion_assets.defs.common import collected, filter_day, per_day_groups
from emotion_assets.defs.resources import AnalyticsResource, StorageResource
from emotion_assets.settings import ExecutionSettings
from emotion_assets.storage import pull, push
from emotion_assets.storage.tracks import remove_other_tracks, track_stems
from emotion_assets.warehouse.lake import DayChunks


def _with_numbers(context: AssetExecutionContext, numbers: dict[str, float | None]) -> None:
    """Numeric metadata, so the UI plots it across partitions. A number that does not exist
    (the entropy of a day with no speech) is left out rather than failing the step."""
    context.add_output_metadata({k: float(v) for k, v in numbers.items() if v is not None})


def _stems(highlights: pl.DataFrame, day: str) -> set[str]:
    """The tracks of `day` that have a clip now."""
    return track_stems(filter_day(highlights, day).filter(pl.col("clip_path").is_not_null()))


def analytics_assets(
    partitions: PartitionsDefinition, execution: ExecutionSettings
) -> list[AssetsDefinition]:
    """The derived tables' assets, partitioned like the rest."""
    _COMMON = {
        "partitions_def": partitions,
        "group_name": "analytics",
        "kinds": {"polars", "parquet"},
    }

    # Per-recording tables are computed a group of recordings at a time: a work unit's audio.
    limit_s = execution.unit_audio_s

    def _of_frames(context: AssetExecutionContext, frames: pl.LazyFrame, compute):
        return per_day_groups(context, frames, {"frames": frames}, compute, limit_s)

    def _by_groups(context: AssetExecutionContext, frames: pl.LazyFrame, inputs, compute):
        """A small per-recording table (rows per track, segment, bucket), group by group."""
        return collected(per_day_groups(context, frames, inputs, compute, limit_s))

    @asset(**_COMMON, code_version="smoothing-v1")
    def smoothed_emotion_curves(
        context: AssetExecutionContext,
        frame_emotion_scores: pl.LazyFrame,
        analytics: AnalyticsResource,
    ) -> DayChunks:
        """Centred rolling mean of each score over speech frames; the smoothed top emotion."""
        window = analytics.settings().smoothing_window
        return DayChunks(
            _of_frames(
                context, frame_emotion_scores, lambda frames: smooth_frames(frames, window=window)
            )
        )

    @asset(**_COMMON, code_version="summary-v1")
    def recording_summary(
        context: AssetExecutionContext,
        frame_emotion_scores: pl.LazyFrame,
        smoothed_emotion_curves: pl.LazyFrame,
        analytics: AnalyticsResource,
    ) -> pl.DataFrame:
        """Per track and per speaker: means, dominant emotion, entropy, neutral share, volatility."""
        window = analytics.settings().smoothing_window
        summary = _by_groups(
            context,
            frame_emotion_scores,
            {"frames": frame_emotion_scores, "smoothed": smoothed_emotion_curves},
            lambda frames, smoothed: summary_table(frames, smoothed, window=window),
        )
        tracks = summary.filter(pl.col("scope") == "track")
        if tracks.height:
            _with_numbers(
                context,
                {
                    "speech_seconds": tracks["speech_s"].sum(),
                    "mean_entropy_bits": tracks["emotion_entropy"].mean(),
                    "mean_neutral_share": tracks["neutral_share"].mean(),
                },
            )
        return summary

    @asset(**_COMMON, code_version="bursts-v2")
    def emotion_bursts(
        context: AssetExecutionContext,
        smoothed_emotion_curves: pl.LazyFrame,
        transcript_segments: pl.DataFrame,
        analytics: AnalyticsResource,
    ) -> pl.DataFrame:
        """Intervals where an emotion stays above its threshold for at least its minimum duration,
        with what the transcript says during them."""
        rules = analytics.settings().burst_rules
        bursts = _by_groups(
            context,
            smoothed_emotion_curves,
            {"smoothed": smoothed_emotion_curves, "transcript": transcript_segments},
            lambda smoothed, transcript: find_bursts(smoothed, rules, transcript),
        )
        _with_numbers(context, {"bursts": bursts.height})
        return bursts

    @asset(**_COMMON, code_version="highlights-v2")
    def emotion_highlights(
        context: AssetExecutionContext,
        smoothed_emotion_curves: pl.LazyFrame,
        normalized_audio: pl.DataFrame,
        transcript_segments: pl.DataFrame,
        storage: StorageResource,
        analytics: AnalyticsResource,
    ) -> pl.DataFrame:
        """Top-N emotional moments per recording, with a WAV clip each under data/clips/<date>/
        and what the transcript says during them."""
        root, layout = storage.storage(), storage.layout
        for day in context.partition_keys:  # clips are cut from the normalized audio
            pull(root, f"processed/{day}", layout.root)
        settings = analytics.settings()
        highlights = _by_groups(
            context,
            smoothed_emotion_curves,
            {
                "smoothed": smoothed_emotion_curves,
                "audio": normalized_audio,
                "transcript": transcript_segments,
            },
            lambda smoothed, audio, transcript: find_highlights(
                smoothed, audio, layout, settings, transcript=transcript
            ),
        )
        for day in context.partition_keys:
            # Clips of tracks with none now (a deleted or replaced recording) go, then the root
            # holds exactly the clips picked now.
            remove_other_tracks(root, f"clips/{day}", layout.root, _stems(highlights, day))
            push(root, f"clips/{day}", layout.root)
        return highlights

    @asset(**_COMMON, code_version="timeline-v1")
    def emotion_timeline(
        context: AssetExecutionContext,
        frame_emotion_scores: pl.LazyFrame,
        analytics: AnalyticsResource,
    ) -> pl.DataFrame:
        """Mean scores and dominant emotion per time bucket (the lesson heat map as a table)."""
        bucket_s = analytics.settings().timeline_bucket_s
        return _by_groups(
            context,
            frame_emotion_scores,
            {"frames": frame_emotion_scores},
            lambda frames: timeline_table(frames, bucket_s=bucket_s),
        )

    @asset(**_COMMON, code_version="team-health-v1")
    def team_health(
        context: AssetExecutionContext,
        frame_emotion_scores: pl.LazyFrame,
        smoothed_emotion_curves: pl.LazyFrame,
        emotion_bursts: pl.DataFrame,
        raw_recordings: pl.DataFrame,
        speaker_turns: pl.DataFrame,
        analytics: AnalyticsResource,
    ) -> pl.DataFrame:
        """Per speaker per day: speech time, neutral share, happy volatility, anger bursts, health."""
        settings = analytics.settings()
        parts = _by_groups(  # a row per speaker and recording, a group of recordings at a time
            context,
            frame_emotion_scores,
            {
                "frames": frame_emotion_scores,
                "smoothed": smoothed_emotion_curves,
                "turns": speaker_turns,
            },
            lambda frames, smoothed, turns: speaker_parts(
                frames, smoothed, turns, settings.smoothing_window
            ),
        )
        return team_health_from_parts(parts, emotion_bursts, raw_recordings, settings)

    @asset(**_COMMON, code_version="comparisons-v1")
    def emotion_comparisons(
        smoothed_emotion_curves: pl.LazyFrame,
        raw_recordings: pl.DataFrame,
        analytics: AnalyticsResource,
    ) -> pl.DataFrame:
        """Declared pairs (sidecar `compare_with`): correlation per emotion and the best lag.
        Each pair's two recordings are read in turn (memory: two recordings, not the day)."""
        settings = analytics.settings()
        return compare_recordings(
            smoothed_emotion_curves,
            raw_recordings,
            max_lag_s=settings.compare_max_lag_s,
            min_frames=settings.compare_min_frames,
        )

    @asset(**_COMMON, code_version="clusters-v1")
    def emotion_clusters(
        emotion_embeddings: pl.LazyFrame, analytics: AnalyticsResource
    ) -> pl.DataFrame:
        """k-means over the day's speech-segment embeddings (a large day: fitted on a sample,
        assigned a group of recordings at a time)."""
        settings = analytics.settings()
        return cluster_day(
            emotion_embeddings,
            k=settings.cluster_k,
            random_state=settings.cluster_random_state,
            normalize=settings.cluster_normalize,
            fit_segments=settings.cluster_fit_segments,
            limit_s=limit_s,
        )

    return [
        smoothed_emotion_curves,
        recording_summary,
        emotion_bursts,
        emotion_highlights,
        emotion_timeline,
        team_health,
        emotion_comparisons,
        emotion_clusters,
        segment_emotions_asset(partitions, limit_s),
        emotion_reports_asset(partitions, execution),
    ]


__all__ = ["analytics_assets"]
