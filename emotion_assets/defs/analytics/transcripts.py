"""segment_emotions: emotion per transcript sentence and word (emotion_assets.analytics)."""

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from emotion_assets.analytics.segment_emotions import most_emotional_markdown
from emotion_assets.analytics.segment_emotions import segment_emotions as segment_table
from emotion_assets.defs.common import collected, per_day_groups

# The UI shows this many sentences per recording.
TOP_SENTENCES = 3


def segment_emotions_asset(
    partitions: PartitionsDefinition, unit_audio_s: float
) -> AssetsDefinition:
    @asset(
        partitions_def=partitions,
        group_name="analytics",
        kinds={"polars", "parquet"},
        code_version="segment-emotions-v1",
    )
    def segment_emotions(
        context: AssetExecutionContext,
        frame_emotion_scores: pl.LazyFrame,
        smoothed_emotion_curves: pl.LazyFrame,
        transcript_segments: pl.DataFrame,
        transcript_words: pl.DataFrame,
        raw_recordings: pl.DataFrame,
    ) -> pl.DataFrame:
        """Per transcript sentence and word: softmax of the mean frame logits, top emotion, peak
        smoothed score, speech share; the UI shows each recording's most emotional sentences.
        Computed a group of recordings at a time (a work unit's audio), never the day's frames."""
        table = collected(
            per_day_groups(
                context,
                frame_emotion_scores,
                {
                    "frames": frame_emotion_scores,
                    "smoothed": smoothed_emotion_curves,
                    "segments": transcript_segments,
                    "words": transcript_words,
                },
                segment_table,
                unit_audio_s,
            )
        )
        names = dict(zip(raw_recordings["recording_id"], raw_recordings["file_name"], strict=False))
        sentences = table.filter(pl.col("scope") == "segment")
        context.add_output_metadata(
            {
                "most_emotional_sentences": MetadataValue.md(
                    most_emotional_markdown(table, names, TOP_SENTENCES)
                ),
                "sentences": float(sentences.height),
                "words": float(table.height - sentences.height),
            }
        )
        return table

    return segment_emotions
