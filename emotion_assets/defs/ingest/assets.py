"""raw_recordings → normalized_audio → speech_segments / speaker_turns, and the quarantine.

One step for the whole ingest of a day: each file is probed and decoded once, and every problem
found on the way lands in `quarantine` in the same run, so the partition always completes.
"""

import polars as pl
from dagster import AssetExecutionContext, AssetOut, Output, multi_asset

from emotion_assets.audio import ingest
from emotion_assets.defs.common import filter_day, retry_policy, run_days
from emotion_assets.defs.partitions import daily_partitions
from emotion_assets.defs.resources import AudioResource, StorageResource

INGEST_TABLES = {
    "raw_recordings": "Every file of the day probed: format, duration, sha256, status.",
    "normalized_audio": "16 kHz mono float32 WAV per track, with level statistics.",
    "speech_segments": "Speech regions per track from silero-vad.",
    "speaker_turns": "Who speaks when: RTTM sidecar, stereo channel map or sidecar speaker.",
    "quarantine": "Inputs that can't be used, each with a reason a person understands.",
}


@multi_asset(
    outs={
        name: AssetOut(description=text, kinds={"python", "ffmpeg", "parquet"}, group_name="ingest")
        for name, text in INGEST_TABLES.items()
    },
    partitions_def=daily_partitions,
    retry_policy=retry_policy,
    code_version="ingest-v1",
)
def ingest_recordings(
    context: AssetExecutionContext, storage: StorageResource, audio: AudioResource
):
    layout = storage.layout
    tables: dict[str, list[pl.DataFrame]] = {name: [] for name in INGEST_TABLES}
    for day in run_days(context):
        context.log.info(f"ingest {day}: scanning {layout.raw_day(day)}")
        raw = ingest.scan_partition(
            layout,
            day,
            ffmpeg_binary=audio.ffmpeg_binary or None,
            max_duration_s=audio.max_duration_s,
        )
        context.log.info(
            f"ingest {day}: {raw.height} files, "
            f"{raw.filter(pl.col('status') == 'ok').height} usable"
        )
        normalized, decode_problems = ingest.normalize_partition(
            layout, day, raw, ffmpeg_binary=audio.ffmpeg_binary or None
        )
        segments = ingest.segment_partition(
            layout,
            normalized,
            threshold=audio.vad_threshold,
            min_speech_ms=audio.vad_min_speech_ms,
            min_silence_ms=audio.vad_min_silence_ms,
        )
        turns, sidecar_problems = ingest.turns_partition(
            layout, day, raw, normalized, segments=segments
        )
        quarantine = ingest.quarantine_table(raw, decode_problems, sidecar_problems)
        for name, df in zip(
            INGEST_TABLES, (raw, normalized, segments, turns, quarantine), strict=True
        ):
            tables[name].append(filter_day(df, day) if df.height else df)
        if quarantine.height:
            context.log.warning(
                f"ingest {day}: {quarantine.height} input(s) quarantined: "
                + "; ".join(
                    f"{r['file_name']}: {r['reason']}" for r in quarantine.iter_rows(named=True)
                )
            )
    for name, frames in tables.items():
        df = pl.concat(frames, how="diagonal_relaxed")
        metadata = {"rows": df.height}
        if name == "normalized_audio" and df.height:
            metadata["audio_seconds"] = float(df["duration_s"].sum())
        if name == "speech_segments" and df.height:
            metadata["speech_seconds"] = float(df["duration_s"].sum())
        if name == "quarantine":
            metadata["quarantined"] = df.height
        yield Output(df, output_name=name, metadata=metadata)


__all__ = ["ingest_recordings"]
