"""raw_recordings → normalized_audio → speech_segments / speaker_turns / transcripts, quarantine.

One step for the whole ingest of a day (emotion_assets.pipeline.ingest_day.ingest_day): each file is
probed and decoded once, and every problem found on the way lands in `quarantine` in the same
run, so the partition always completes. This module only publishes the tables.
"""

import dataclasses

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetOut,
    AssetsDefinition,
    MetadataValue,
    Output,
    PartitionsDefinition,
    multi_asset,
)

from emotion_assets.defs.common import not_retried, retry_policy, run_days
from emotion_assets.defs.resources import AudioResource, StorageResource
from emotion_assets.pipeline.ingest_day import INGEST_TABLES, ingest_day
from emotion_assets.pipeline.watch import FINGERPRINTS_METADATA_KEY, storage_day_fingerprint
from emotion_assets.storage import pull, push
from emotion_assets.storage.store import StorageConfigError
from emotion_assets.storage.tracks import remove_other_tracks, track_stems


def _metadata(name: str, df: pl.DataFrame) -> dict:
    metadata: dict = {"rows": df.height}
    if not df.height:
        return metadata
    if name == "normalized_audio":
        metadata["audio_seconds"] = float(df["duration_s"].sum())
    elif name == "speech_segments":
        metadata["speech_seconds"] = float(df["duration_s"].sum())
    elif name == "quarantine":
        metadata["quarantined"] = df.height
    elif name == "transcript_segments":
        metadata["transcribed_recordings"] = df["recording_id"].n_unique()
        metadata["clipped_cues"] = int(df["clipped"].sum())
    return metadata


def ingest_assets(partitions: PartitionsDefinition) -> list[AssetsDefinition]:
    """The one ingest step of a day and its seven tables."""

    @multi_asset(
        outs={
            name: AssetOut(
                description=text, kinds={"python", "ffmpeg", "parquet"}, group_name="ingest"
            )
            for name, text in INGEST_TABLES.items()
        },
        partitions_def=partitions,
        retry_policy=retry_policy,
        code_version="ingest-v2",
    )
    def ingest_recordings(
        context: AssetExecutionContext, storage: StorageResource, audio: AudioResource
    ):
        days = {}
        with not_retried(StorageConfigError):  # no bucket, bad credentials: a retry can't help
            root, layout = storage.storage(), storage.layout
            for day in run_days(context):
                # The fingerprint of raw/<day>/ on the root, before it is read (the sensor's view).
                seen = storage_day_fingerprint(root, day)
                pull(root, f"raw/{day}", layout.root)  # a no-op when the root is data_dir itself
                done = ingest_day(
                    layout, day, audio.settings(), context.log.info, context.log.warning
                )
                days[day] = dataclasses.replace(done, fingerprint=seen)
                push(root, f"processed/{day}", layout.root, exact=False)
                # ingest_day removed stale WAVs from scratch; the root loses them too.
                stems = track_stems(done.tables["normalized_audio"])
                remove_other_tracks(root, f"processed/{day}", layout.root, stems)
        # What was ingested, per day: the sensor's first tick skips days whose files are unchanged.
        fingerprints = {day: done.fingerprint for day, done in days.items()}
        for name in INGEST_TABLES:
            df = pl.concat([done.tables[name] for done in days.values()], how="diagonal_relaxed")
            metadata = _metadata(name, df)
            if name == "raw_recordings":
                metadata[FINGERPRINTS_METADATA_KEY] = MetadataValue.json(fingerprints)
            yield Output(df, output_name=name, metadata=metadata)

    return [ingest_recordings]


__all__ = ["INGEST_TABLES", "ingest_assets"]
