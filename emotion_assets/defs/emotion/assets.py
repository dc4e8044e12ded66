"""frame_emotion_scores and emotion_embeddings (the model step), then utterance scores.

The model step is a graph of three ops per run (docs/scale.md): `plan_model_units` fingerprints
every track of the run's days and packs those without kept scores into work units of at most
EMOTION_UNIT_AUDIO_HOURS; each unit is one `score_model_unit` step (on the GPU queue: several
GPU workers share a day); `publish_model_scores` gathers the day's tracks, scored now or kept,
into the two tables. A run tagged `emotion/recompute=full` scores every track again.
"""

import os
import socket
import time
from collections import Counter

import polars as pl
from dagster import (
    AssetExecutionContext,
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
    asset,
    graph_multi_asset,
    op,
)

from emotion_assets.defs.common import (
    RECOMPUTE_TAG,
    filter_day,
    not_retried,
    per_day_groups,
    retry_policy,
    run_days,
)
from emotion_assets.defs.handoff import HANDOFF
from emotion_assets.defs.resources import EmotionModelResource, StorageResource
from emotion_assets.deployment.celery_workers import QUEUE_TAG
from emotion_assets.deployment.k8s_pods import model_step_tags
from emotion_assets.engine import tables
from emotion_assets.engine.loading import ModelUnavailableError
from emotion_assets.engine.units import (
    SCORED_TABLES,
    TrackKey,
    WorkUnit,
    is_kept,
    model_key,
    pack_units,
    scored_key,
    track_fingerprints,
)
from emotion_assets.foundation.atomic_files import write_atomically
from emotion_assets.foundation.labels import FRAME_HOP_S
from emotion_assets.pipeline.publish_scores import publish_scored_days
from emotion_assets.settings import ExecutionSettings, KubernetesSettings, ModelSettings
from emotion_assets.storage import push
from emotion_assets.storage.store import StorageConfigError
from emotion_assets.warehouse import delta
from emotion_assets.warehouse.lake import DayChunks

# The model step's engine seconds in its metadata (the benchmark reads them: defs/in_process.py).
LOAD_SECONDS = "model_load_seconds"
SCORING_SECONDS = "scoring_seconds"


def _of_tracks(df: pl.DataFrame, tracks: tuple[TrackKey, ...]) -> pl.DataFrame:
    wanted = pl.DataFrame(
        {"recording_id": [t.recording_id for t in tracks], "track": [t.track for t in tracks]},
        schema={"recording_id": pl.String, "track": df.schema.get("track", pl.Int32)},
    )
    return df.join(wanted, on=["recording_id", "track"], how="semi")


def _frame_stats(where: delta.DeltaLocation, days: list[str]) -> dict:
    """Frames, speech frames and models of the days, from three columns read lazily."""
    frame = delta.scan_days(where, "frame_emotion_scores", days)
    if frame is None:
        return {"frames": 0, "speech_frames": 0, "models": []}
    row = frame.select(
        pl.len().alias("frames"),
        pl.col("is_speech").sum().alias("speech_frames"),
        pl.col("model_id").drop_nulls().unique().sort().implode().alias("models"),
    ).collect()
    return {
        "frames": int(row["frames"][0]),
        "speech_frames": int(row["speech_frames"][0] or 0),
        "models": row["models"][0].to_list(),
    }


def _embedding_stats(where: delta.DeltaLocation, days: list[str]) -> dict:
    frame = delta.scan_days(where, "emotion_embeddings", days)
    if frame is None:
        return {"segments": 0, "embedding_dim": None}
    row = frame.select(
        pl.len().alias("segments"), pl.col("embedding").list.len().max().alias("dim")
    ).collect()
    dim = row["dim"][0]
    return {"segments": int(row["segments"][0]), "embedding_dim": int(dim) if dim else None}


def emotion_model_assets(
    partitions: PartitionsDefinition,
    model: ModelSettings,
    execution: ExecutionSettings,
    kubernetes: KubernetesSettings,
) -> list[AssetsDefinition]:
    """The model step (frames and embeddings) and the utterance table."""
    # Changing the model marks every partition stale in the UI: the model is part of the code.
    model_version = f"emotion-v1|{model.model}"
    unit_audio_s = execution.unit_audio_s

    @op(
        out=DynamicOut(WorkUnit, io_manager_key=HANDOFF),
        ins={"normalized_audio": In(), "speech_segments": In(), "speaker_turns": In()},
        retry_policy=retry_policy,
    )
    def plan_model_units(
        context: OpExecutionContext,
        storage: StorageResource,
        emotion_model: EmotionModelResource,
        normalized_audio: pl.DataFrame,
        speech_segments: pl.DataFrame,
        speaker_turns: pl.DataFrame,
    ):
        """The tracks of the run's days whose scores are not kept, in work units."""
        full = context.run.tags.get(RECOMPUTE_TAG) == "full"
        settings = model_key(emotion_model.settings())
        with not_retried(StorageConfigError):
            root = storage.storage()
            for day in run_days(context):
                tracks = track_fingerprints(
                    day,
                    filter_day(normalized_audio, day),
                    filter_day(speech_segments, day),
                    filter_day(speaker_turns, day),
                    settings,
                )
                existing = set() if full else set(root.list(scored_key(day)))
                todo = [t for t in tracks if not is_kept(t, existing)]
                units = pack_units(day, todo, unit_audio_s)
                context.log.info(
                    f"{day}: {len(tracks)} track(s), {len(tracks) - len(todo)} kept, "
                    f"{len(todo)} to score in {len(units)} unit(s) of at most "
                    f"{execution.unit_audio_hours:g} audio h"
                    + (" (full recompute: emotion/recompute=full)" if full else "")
                )
                for unit in units:
                    yield DynamicOutput(unit, mapping_key=unit.name)

    @op(
        ins={
            "unit": In(WorkUnit),
            "normalized_audio": In(),
            "speech_segments": In(),
            "speaker_turns": In(),
        },
        out=Out(dict, io_manager_key=HANDOFF),
        retry_policy=retry_policy,
        pool="emotion_model",  # model steps at once: the pool's limit (dagster.yaml)
        # With the Celery executor a unit runs only on workers of the GPU queue; on Kubernetes
        # its pod also asks for a GPU on a GPU node (emotion_assets/deployment/k8s_pods.py).
        tags={QUEUE_TAG: execution.celery_gpu_queue, **model_step_tags(kubernetes)},
    )
    def score_model_unit(
        context: OpExecutionContext,
        storage: StorageResource,
        emotion_model: EmotionModelResource,
        unit: WorkUnit,
        normalized_audio: pl.DataFrame,
        speech_segments: pl.DataFrame,
        speaker_turns: pl.DataFrame,
    ) -> dict:
        """Score one unit's tracks and keep each track's rows as its own files."""
        # Imported here: torch loads in the model step only, not wherever the code location does.
        from emotion_assets.engine.core import engines_loaded
        from emotion_assets.engine.day import iter_scored_tracks

        layout = storage.layout
        # No model, or settings the engine refuses (ValueError): a retry gives the same answer.
        loaded_before = engines_loaded()
        started = time.perf_counter()
        with not_retried(ModelUnavailableError, ValueError):
            engine, warning = emotion_model.load(layout)
        load_s = time.perf_counter() - started
        context.log.info(
            f"unit {unit.name}: {len(unit.tracks)} track(s), {unit.audio_s / 3600:.2f} audio h; "
            f"emotion model {engine.model_id} ({engine.model_source})"
        )
        if warning:
            context.log.warning(warning)
        day = unit.day
        keys = {(t.recording_id, t.track): t for t in unit.tracks}
        audio = _of_tracks(filter_day(normalized_audio, day), unit.tracks)
        started = time.perf_counter()
        with not_retried(StorageConfigError):  # no bucket, bad credentials: a retry can't help
            root = storage.storage()
            # This worker may not be the one that ingested: fetch the unit's audio, only that.
            for path in audio["audio_path"]:
                root.local_copy(path, layout.root)
            scored = iter_scored_tracks(
                engine,
                layout,
                day,
                audio,
                _of_tracks(filter_day(speech_segments, day), unit.tracks),
                _of_tracks(filter_day(speaker_turns, day), unit.tracks),
                save_frame_embeddings=emotion_model.save_frame_embeddings,
                log=context.log.info,
            )
            for done in scored:
                track = keys[(done.recording_id, done.track)]
                for table, df in zip(SCORED_TABLES, (done.frames, done.embeddings), strict=True):
                    # Whole files only: a killed unit leaves no half-written track behind.
                    local = write_atomically(layout.root / track.key(table), df.write_parquet)
                    if not root.shares(layout.root):
                        root.put_file(track.key(table), local)
            if emotion_model.save_frame_embeddings:
                push(root, f"embeddings/{day}", layout.root, exact=False)
        return {
            "unit": unit.name,
            "tracks": len(unit.tracks),
            "track_ids": [(t.recording_id, t.track) for t in unit.tracks],
            "audio_s": round(unit.audio_s, 3),
            "model_id": engine.model_id,
            "model_source": engine.model_source,
            "device": str(engine.device),
            "loaded_here": engines_loaded() > loaded_before,
            "load_s": round(load_s, 3),
            "score_s": round(time.perf_counter() - started, 3),
            "process": f"{socket.gethostname()}:{os.getpid()}",
            "warning": warning,
        }

    @op(
        ins={
            "units": In(list[dict]),
            "normalized_audio": In(),
            "speech_segments": In(),
            "speaker_turns": In(),
        },
        out={"frame_emotion_scores": Out(), "emotion_embeddings": Out()},
        retry_policy=retry_policy,
    )
    def publish_model_scores(
        context: OpExecutionContext,
        storage: StorageResource,
        emotion_model: EmotionModelResource,
        units: list[dict],
        normalized_audio: pl.DataFrame,
        speech_segments: pl.DataFrame,
        speaker_turns: pl.DataFrame,
    ):
        """The run's days' tables: one Delta commit per table and day adds the tracks scored
        now and removes the tracks the day no longer has (pipeline/publish_scores.py)."""
        rescored = {(rid, int(track)) for u in units for rid, track in u["track_ids"]}
        days = run_days(context)
        with not_retried(StorageConfigError):
            published = publish_scored_days(
                storage.storage(),
                storage.layout.root,
                days,
                normalized_audio,
                speech_segments,
                speaker_turns,
                model_key(emotion_model.settings()),
                rescored,
            )
            where, versions, n_tracks = published.where, published.versions, published.tracks
            # What the day's frames hold, read lazily (a few columns), never the day in memory.
            stats = _frame_stats(where["frame_emotion_scores"], days)
        scored = sum(u["tracks"] for u in units)
        models = stats["models"]
        if len(models) > 1:
            context.log.warning(
                f"the day's scores come from {len(models)} models ({', '.join(models)}): run it "
                f"again with the tag {RECOMPUTE_TAG}=full to score every track with one"
            )
        warnings = sorted({u["warning"] for u in units if u["warning"]})
        score_s = sum(u["score_s"] for u in units)
        model_meta = {
            "model_id": MetadataValue.text(", ".join(models) or "none"),
            # Which folder, and how it was found: a local folder, the hub cache or a download.
            "model_source": MetadataValue.text(
                ", ".join(sorted({u["model_source"] for u in units})) or "no unit ran"
            ),
            "device": MetadataValue.text(", ".join(sorted({u["device"] for u in units})) or "-"),
            # Incremental days: tracks scored in this run, and tracks whose rows were kept.
            "tracks_scored": scored,
            "tracks_kept": n_tracks - scored,
            "work_units": len(units),
            "model_loaded_in_this_step": any(u["loaded_here"] for u in units),
            # The engine's own seconds: what the steps spent beyond them is the pipeline's.
            LOAD_SECONDS: round(sum(u["load_s"] for u in units), 3),
            SCORING_SECONDS: round(score_s, 3),
            # Which worker process scored which unit (several GPU workers share a day).
            "unit_processes": MetadataValue.json({u["unit"]: u["process"] for u in units}),
            "process": MetadataValue.text(
                ", ".join(f"{p} ({n})" for p, n in Counter(u["process"] for u in units).items())
                or "-"
            ),
        }
        for warning in warnings:
            context.log.warning(warning)
        if warnings:
            model_meta["WARNING"] = MetadataValue.md("\n\n".join(f"**{w}**" for w in warnings))
        speech_frames = stats["speech_frames"]
        audio_s = float(normalized_audio["duration_s"].sum() or 0.0)  # the run's days, all tracks
        scored_audio_s = sum(u["audio_s"] for u in units)
        yield Output(
            delta.Published(
                "frame_emotion_scores", tuple(days), versions.get("frame_emotion_scores")
            ),
            output_name="frame_emotion_scores",
            metadata={
                **model_meta,
                "frames": stats["frames"],
                "speech_seconds": speech_frames * FRAME_HOP_S,
                "audio_seconds": round(audio_s, 3),
                "x_real_time": round(scored_audio_s / score_s, 2) if score_s > 0 else None,
            },
        )
        yield Output(
            delta.Published("emotion_embeddings", tuple(days), versions.get("emotion_embeddings")),
            output_name="emotion_embeddings",
            metadata={**model_meta, **_embedding_stats(where["emotion_embeddings"], days)},
        )

    @graph_multi_asset(
        outs={
            "frame_emotion_scores": AssetOut(
                description="One row per 20 ms frame per track: nine emotion scores (sum to 1).",
                kinds={"pytorch", "parquet"},
                group_name="emotion",
                code_version=model_version,
            ),
            "emotion_embeddings": AssetOut(
                description="Mean emotion2vec embedding per speech segment (FLOAT[D] in DuckDB).",
                kinds={"pytorch", "parquet"},
                group_name="emotion",
                code_version=model_version,
            ),
        },
        partitions_def=partitions,
        # graph_multi_asset ignores AssetOut's group_name: without it both land in "default".
        group_name="emotion",
    )
    def emotion_model_outputs(normalized_audio, speech_segments, speaker_turns):
        units = plan_model_units(normalized_audio, speech_segments, speaker_turns)
        summaries = units.map(
            lambda unit: score_model_unit(unit, normalized_audio, speech_segments, speaker_turns)
        ).collect()
        frames, embeddings = publish_model_scores(
            summaries, normalized_audio, speech_segments, speaker_turns
        )
        return {"frame_emotion_scores": frames, "emotion_embeddings": embeddings}

    @asset(
        partitions_def=partitions,
        group_name="emotion",
        kinds={"polars", "parquet"},
        code_version="utterance-v1",
    )
    def utterance_emotion_scores(
        context: AssetExecutionContext,
        frame_emotion_scores: pl.LazyFrame,
        speech_segments: pl.DataFrame,
    ) -> DayChunks:
        """Per track and per speech segment: softmax of the mean frame logits, top emotion,
        confidence. A group of recordings at a time, each group's rows streamed to the lake."""
        return DayChunks(
            per_day_groups(
                context,
                frame_emotion_scores,
                {"frames": frame_emotion_scores, "segments": speech_segments},
                tables.utterance_table,
                unit_audio_s,
            )
        )

    return [emotion_model_outputs, utterance_emotion_scores]
