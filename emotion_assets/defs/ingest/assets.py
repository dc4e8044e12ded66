"""raw_recordings → normalized_audio → speech_segments / speaker_turns / transcripts, quarantine.

The ingest of a run's days is a graph of three ops (docs/scale.md): `scan_recordings` probes and
hashes every file of the day and packs the recordings not decoded yet (with these settings) into
work units of at most EMOTION_UNIT_AUDIO_HOURS; each `ingest_unit` step decodes its recordings to
16 kHz and finds their speech (the costly part), on any CPU worker; `publish_ingest` gathers every
recording's rows, decoded now or kept, adds speaker turns, transcripts and the quarantine, and
publishes the seven tables. Every problem lands in `quarantine`, so the day always completes. A
run tagged `emotion/recompute=full` decodes every recording again.
"""

import polars as pl
from dagster import (
    AssetOut,
    AssetsDefinition,
    DynamicOut,
    DynamicOutput,
    In,
    MetadataValue,
    OpExecutionContext,
    Out,
    Output,
    PartitionsDefinition,
    graph_multi_asset,
    op,
)

from emotion_assets.audio.ingest import NORMALIZED_SCHEMA, PROBLEM_SCHEMA, SEGMENTS_SCHEMA
from emotion_assets.defs.common import RECOMPUTE_TAG, not_retried, retry_policy, run_days
from emotion_assets.defs.handoff import HANDOFF
from emotion_assets.defs.resources import AudioResource, StorageResource
from emotion_assets.foundation.atomic_files import write_atomically
from emotion_assets.pipeline.ingest_day import (
    INGEST_TABLES,
    decode_and_segment,
    finish_day,
    scan_day,
)
from emotion_assets.pipeline.ingest_units import (
    PARTS,
    IngestUnit,
    decode_key,
    ingested_key,
    is_kept,
    plan_units,
    recording_keys,
    stale_keys,
)
from emotion_assets.pipeline.watch import FINGERPRINTS_METADATA_KEY, storage_day_fingerprint
from emotion_assets.settings import ExecutionSettings
from emotion_assets.storage import pull
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


def _concat(parts: list[pl.DataFrame], schema: dict) -> pl.DataFrame:
    return pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame(schema=schema)


def ingest_assets(
    partitions: PartitionsDefinition, execution: ExecutionSettings
) -> list[AssetsDefinition]:
    """The ingest graph of a day and its seven tables."""
    unit_audio_s = execution.unit_audio_s

    @op(
        out={
            "units": DynamicOut(IngestUnit, io_manager_key=HANDOFF),
            "scanned": Out(dict, io_manager_key=HANDOFF),
        },
        retry_policy=retry_policy,
    )
    def scan_recordings(
        context: OpExecutionContext, storage: StorageResource, audio: AudioResource
    ):
        """Every file of the run's days probed; the recordings not decoded yet, in units."""
        full = context.run.tags.get(RECOMPUTE_TAG) == "full"
        settings = audio.settings()
        scanned = {}
        with not_retried(StorageConfigError):  # no bucket, bad credentials: a retry can't help
            root, layout = storage.storage(), storage.layout
            for day in run_days(context):
                # The fingerprint of raw/<day>/ on the root, before it is read (the sensor's view).
                seen = storage_day_fingerprint(root, day)
                pull(root, f"raw/{day}", layout.root)  # a no-op when the root is data_dir itself
                raw = scan_day(layout, day, settings, context.log.info)
                recordings = recording_keys(day, raw, decode_key(settings))
                existing = set()
                if not full:
                    existing = set(root.list(ingested_key(day))) | set(
                        root.list(f"processed/{day}")
                    )
                todo = [r for r in recordings if not is_kept(r, existing)]
                units = plan_units(day, raw, todo, unit_audio_s)
                context.log.info(
                    f"{day}: {len(recordings)} usable recording(s), "
                    f"{len(recordings) - len(todo)} kept, {len(todo)} to decode in "
                    f"{len(units)} unit(s)" + (" (full recompute)" if full else "")
                )
                scanned[day] = {"raw": raw, "fingerprint": seen, "decoded": len(todo)}
                for unit in units:
                    yield DynamicOutput(unit, output_name="units", mapping_key=unit.name)
        yield Output(scanned, output_name="scanned")

    @op(
        ins={"unit": In(IngestUnit)},
        out=Out(dict, io_manager_key=HANDOFF),
        retry_policy=retry_policy,
    )
    def ingest_unit(
        context: OpExecutionContext,
        storage: StorageResource,
        audio: AudioResource,
        unit: IngestUnit,
    ) -> dict:
        """Decode one unit's recordings to 16 kHz and find their speech; keep their rows."""
        day = unit.day
        context.log.info(
            f"unit {unit.name}: {len(unit.recordings)} recording(s), {unit.audio_s / 3600:.2f} audio h"
        )
        with not_retried(StorageConfigError):
            root, layout = storage.storage(), storage.layout
            # This worker may not be the one that scanned: fetch the unit's files, only those.
            for path in unit.raw["source_path"]:
                root.local_copy(path, layout.root)
            normalized, segments, problems = decode_and_segment(
                layout, day, unit.raw, audio.settings()
            )
            for recording in unit.recordings:
                rid = recording.recording_id
                for part, df in zip(PARTS, (normalized, segments, problems), strict=True):
                    rows = df.filter(pl.col("recording_id") == rid)
                    local = write_atomically(layout.root / recording.key(part), rows.write_parquet)
                    if not root.shares(layout.root):
                        root.put_file(recording.key(part), local)
                if not root.shares(layout.root):
                    for path in normalized.filter(pl.col("recording_id") == rid)["audio_path"]:
                        root.put_file(path, layout.root / path)
        return {"unit": unit.name, "recordings": len(unit.recordings)}

    @op(
        ins={"units": In(list[dict]), "scanned": In(dict)},
        out={name: Out() for name in INGEST_TABLES},
        retry_policy=retry_policy,
    )
    def publish_ingest(
        context: OpExecutionContext,
        storage: StorageResource,
        audio: AudioResource,
        units: list[dict],
        scanned: dict,
    ):
        """The seven tables of the run's days from every recording's kept rows."""
        days = {}
        settings = audio.settings()
        with not_retried(StorageConfigError):
            root, layout = storage.storage(), storage.layout
            for day in run_days(context):
                raw = scanned[day]["raw"]
                # Sidecars (RTTM, JSON, transcripts) are read here: this may be another worker.
                pull(root, f"raw/{day}", layout.root)
                recordings = recording_keys(day, raw, decode_key(settings))
                parts: dict[str, list[pl.DataFrame]] = {part: [] for part in PARTS}
                for recording in recordings:
                    for part in PARTS:
                        path = root.local_copy(recording.key(part), layout.root)
                        parts[part].append(pl.read_parquet(path))
                tables = finish_day(
                    layout,
                    day,
                    raw,
                    _concat(parts["normalized"], NORMALIZED_SCHEMA),
                    _concat(parts["segments"], SEGMENTS_SCHEMA),
                    _concat(parts["problems"], PROBLEM_SCHEMA),
                    context.log.warning,
                )
                days[day] = tables
                # WAVs and kept rows of recordings the day no longer has go, on the root too.
                stems = track_stems(tables["normalized_audio"])
                remove_other_tracks(root, f"processed/{day}", layout.root, stems)
                for key in stale_keys(day, recordings, root.list(ingested_key(day))):
                    root.delete(key)
                    (layout.root / key).unlink(missing_ok=True)
        # What was ingested, per day: the sensor's first tick skips days whose files are unchanged.
        fingerprints = {day: scanned[day]["fingerprint"] for day in days}
        decoded = sum(scanned[day]["decoded"] for day in days)
        usable_recordings = sum(
            t["normalized_audio"]["recording_id"].n_unique() for t in days.values()
        )
        for name in INGEST_TABLES:
            df = pl.concat([t[name] for t in days.values()], how="diagonal_relaxed")
            metadata = _metadata(name, df)
            if name == "raw_recordings":
                metadata[FINGERPRINTS_METADATA_KEY] = MetadataValue.json(fingerprints)
                # Incremental days: recordings decoded in this run, and those whose rows were kept.
                metadata["recordings_decoded"] = decoded
                metadata["recordings_kept"] = usable_recordings - decoded
                metadata["work_units"] = len(units)
            yield Output(df, output_name=name, metadata=metadata)

    @graph_multi_asset(
        outs={
            name: AssetOut(
                description=text,
                kinds={"python", "ffmpeg", "parquet"},
                code_version="ingest-v2",
            )
            for name, text in INGEST_TABLES.items()
        },
        # graph_multi_asset ignores AssetOut's group_name: the group is given here.
        group_name="ingest",
        partitions_def=partitions,
    )
    def ingest_recordings():
        units, scanned = scan_recordings()
        tables = publish_ingest(units.map(ingest_unit).collect(), scanned)
        return {name: getattr(tables, name) for name in INGEST_TABLES}

    return [ingest_recordings]


__all__ = ["INGEST_TABLES", "ingest_assets"]
