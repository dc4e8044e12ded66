"""The Dagster code location: assets, checks, job, schedule, sensor and resources, wired together.

Every setting comes from the environment (README, "Settings"); nothing here does real work.
"""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from emotion_assets.defs.analytics.assets import ANALYTICS_ASSETS
from emotion_assets.defs.automation.jobs import emotion_pipeline
from emotion_assets.defs.automation.schedules import daily_emotion_schedule
from emotion_assets.defs.automation.sensors import raw_folder_sensor
from emotion_assets.defs.emotion.assets import emotion_model_outputs, utterance_emotion_scores
from emotion_assets.defs.ingest.assets import ingest_recordings
from emotion_assets.defs.io_manager import LakeIOManager
from emotion_assets.defs.quality.checks import ASSET_CHECKS
from emotion_assets.defs.resources import (
    AnalyticsResource,
    AudioResource,
    EmotionModelResource,
    StorageResource,
    env_flag,
    env_float_or,
    env_int_or,
    env_or,
)
from emotion_assets.settings import DEFAULT_MODEL, Settings


def build_resources() -> dict:
    settings = Settings.from_env()
    data_dir = str(settings.data_dir)
    return {
        "io_manager": LakeIOManager(data_dir=data_dir),
        "storage": StorageResource(data_dir=data_dir),
        "audio": AudioResource(
            ffmpeg_binary=env_or("FFMPEG_BINARY", ""),
            max_duration_s=env_float_or("EMOTION_MAX_DURATION_S", 4 * 3600.0),
            vad_threshold=env_float_or("EMOTION_VAD_THRESHOLD", 0.5),
            vad_min_speech_ms=env_int_or("EMOTION_VAD_MIN_SPEECH_MS", 250),
            vad_min_silence_ms=env_int_or("EMOTION_VAD_MIN_SILENCE_MS", 100),
        ),
        "emotion_model": EmotionModelResource(
            model=env_or("EMOTION_MODEL", DEFAULT_MODEL),
            hub=env_or("EMOTION_MODEL_HUB", "ms"),
            device=env_or("EMOTION_DEVICE", "auto"),
            window_s=env_float_or("EMOTION_WINDOW_S", 0.0),
            context_s=env_float_or("EMOTION_CONTEXT_S", -1.0),
            batch_size=env_int_or("EMOTION_BATCH_SIZE", 0),
            threads=env_int_or("EMOTION_THREADS", 0),
            quantize=env_or("EMOTION_QUANTIZE", "none"),
            save_frame_embeddings=env_flag("EMOTION_SAVE_FRAME_EMBEDDINGS"),
            allow_tiny_fallback=settings.model_is_default
            and env_flag("EMOTION_ALLOW_TINY_FALLBACK"),
        ),
        "analytics": AnalyticsResource.from_env(),
    }


def build_definitions() -> Definitions:
    return Definitions(
        assets=[
            ingest_recordings,
            emotion_model_outputs,
            utterance_emotion_scores,
            *ANALYTICS_ASSETS,
        ],
        asset_checks=ASSET_CHECKS,
        jobs=[emotion_pipeline],
        schedules=[daily_emotion_schedule],
        sensors=[raw_folder_sensor],
        resources=build_resources(),
        # Every job of the code location, including the implicit asset job behind the UI's
        # "Materialize" and backfills, runs its steps in one process: torch, funasr and GX are
        # imported and the model is loaded once per run, not once per step (a multiprocess run
        # of one day took 5 min, mostly imports; in-process ~1 min). Days run in parallel as
        # separate runs.
        executor=in_process_executor,
    )


defs = build_definitions()
