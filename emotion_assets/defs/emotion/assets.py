"""frame_emotion_scores and emotion_embeddings (the model step), then utterance scores."""

import os
import socket
import time

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetOut,
    AssetsDefinition,
    MetadataValue,
    Output,
    PartitionsDefinition,
    asset,
    multi_asset,
)

from emotion_assets.defs.common import filter_day, not_retried, retry_policy
from emotion_assets.defs.resources import EmotionModelResource, StorageResource
from emotion_assets.deployment.celery_workers import QUEUE_TAG
from emotion_assets.deployment.k8s_pods import model_step_tags
from emotion_assets.engine import tables
from emotion_assets.engine.loading import ModelUnavailableError
from emotion_assets.foundation.labels import FRAME_HOP_S
from emotion_assets.settings import ExecutionSettings, KubernetesSettings, ModelSettings
from emotion_assets.storage import pull, push
from emotion_assets.storage.store import StorageConfigError
from emotion_assets.storage.tracks import remove_other_tracks, track_stems

# The model step's engine seconds in its metadata (the benchmark reads them: pipeline_runner).
LOAD_SECONDS = "model_load_seconds"
SCORING_SECONDS = "scoring_seconds"


def emotion_model_assets(
    partitions: PartitionsDefinition,
    model: ModelSettings,
    execution: ExecutionSettings,
    kubernetes: KubernetesSettings,
) -> list[AssetsDefinition]:
    """The model step (frames and embeddings) and the utterance table."""
    # Changing the model marks every partition stale in the UI: the model is part of the code.
    model_version = f"emotion-v1|{model.model}"

    @multi_asset(
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
        ins={
            "normalized_audio": AssetIn(),
            "speech_segments": AssetIn(),
            "speaker_turns": AssetIn(),
        },
        partitions_def=partitions,
        retry_policy=retry_policy,
        pool="emotion_model",  # model steps at once: the pool's limit (dagster.yaml)
        # With the Celery executor the model step runs only on workers of the GPU queue; on
        # Kubernetes its pod also asks for a GPU on a GPU node (emotion_assets/deployment/k8s_pods.py).
        op_tags={QUEUE_TAG: execution.celery_gpu_queue, **model_step_tags(kubernetes)},
    )
    def emotion_model_outputs(
        context: AssetExecutionContext,
        storage: StorageResource,
        emotion_model: EmotionModelResource,
        normalized_audio: pl.DataFrame,
        speech_segments: pl.DataFrame,
        speaker_turns: pl.DataFrame,
    ):
        # Imported here: torch loads in the model step only, not wherever the code location does.
        from emotion_assets.engine.core import engines_loaded
        from emotion_assets.engine.day import score_day

        layout = storage.layout
        # No model, or settings the engine refuses (ValueError): a retry gives the same answer.
        loaded_before = engines_loaded()
        started = time.perf_counter()
        with not_retried(ModelUnavailableError, ValueError):
            engine, warning = emotion_model.load(layout)
        load_s = time.perf_counter() - started
        # A worker process keeps its engine between steps and runs (load_engine's cache): the
        # metadata says whether this step paid for loading it, and in which process.
        loaded_here = engines_loaded() > loaded_before
        context.log.info(f"emotion model {engine.model_id} ({engine.model_source})")
        if warning:
            context.log.warning(warning)
        frames_all, embeddings_all = [], []
        score_s = 0.0
        with not_retried(StorageConfigError):  # no bucket, bad credentials: a retry can't help
            root = storage.storage()
            for day in context.partition_keys:
                # This worker may not be the one that ingested: fetch the day's normalized audio.
                pull(root, f"processed/{day}", layout.root)
                started = time.perf_counter()
                day_audio = filter_day(normalized_audio, day)
                frames, embeddings = score_day(
                    engine,
                    layout,
                    day,
                    day_audio,
                    filter_day(speech_segments, day),
                    filter_day(speaker_turns, day),
                    save_frame_embeddings=emotion_model.save_frame_embeddings,
                    log=context.log.info,
                )
                score_s += time.perf_counter() - started
                frames_all.append(frames)
                embeddings_all.append(embeddings)
                push(root, f"embeddings/{day}", layout.root, exact=False)
                # Frame embeddings of tracks the day no longer has (deleted or replaced) go.
                remove_other_tracks(root, f"embeddings/{day}", layout.root, track_stems(day_audio))
        frames = pl.concat(frames_all, how="diagonal_relaxed")
        embeddings = pl.concat(embeddings_all, how="diagonal_relaxed")
        model_meta = {
            "model_id": MetadataValue.text(engine.model_id),
            # Which folder, and how it was found: a local folder, the hub cache or a download.
            "model_source": MetadataValue.text(engine.model_source),
            "device": MetadataValue.text(str(engine.device)),
            "model_loaded_in_this_step": loaded_here,
            # The engine's own seconds: what the step spent beyond them is the pipeline's.
            LOAD_SECONDS: round(load_s, 3),
            SCORING_SECONDS: round(score_s, 3),
            "process": MetadataValue.text(f"{socket.gethostname()}:{os.getpid()}"),
        }
        if warning:
            model_meta["WARNING"] = MetadataValue.md(f"**{warning}**")
        speech_frames = int(frames["is_speech"].sum()) if frames.height else 0
        audio_s = float(normalized_audio["duration_s"].sum() or 0.0)  # the run's days, all tracks
        yield Output(
            frames,
            output_name="frame_emotion_scores",
            metadata={
                **model_meta,
                "frames": frames.height,
                "speech_seconds": speech_frames * FRAME_HOP_S,
                "audio_seconds": round(audio_s, 3),
                "x_real_time": round(audio_s / score_s, 2) if score_s > 0 else None,
            },
        )
        yield Output(
            embeddings,
            output_name="emotion_embeddings",
            metadata={
                **model_meta,
                "segments": embeddings.height,
                "embedding_dim": engine.embed_dim,
            },
        )

    @asset(
        partitions_def=partitions,
        group_name="emotion",
        kinds={"polars", "parquet"},
        code_version="utterance-v1",
    )
    def utterance_emotion_scores(
        frame_emotion_scores: pl.DataFrame, speech_segments: pl.DataFrame
    ) -> pl.DataFrame:
        """Per track and per speech segment: softmax of the mean frame logits, top emotion, confidence."""
        return tables.utterance_table(frame_emotion_scores, speech_segments)

    return [emotion_model_outputs, utterance_emotion_scores]
