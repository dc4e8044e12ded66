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
)
from emotion_assets.settings import Settings, load_settings


def build_resources(settings: Settings) -> dict:
    return {
        "io_manager": LakeIOManager(data_dir=str(settings.storage.data_dir)),
        "storage": StorageResource.from_settings(settings.storage),
        "audio": AudioResource.from_settings(settings.audio),
        "emotion_model": EmotionModelResource.from_settings(settings.model),
        "analytics": AnalyticsResource.from_settings(settings.analytics),
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
        resources=build_resources(load_settings()),
        # Every job of the code location, including the implicit asset job behind the UI's
        # "Materialize" and backfills, runs its steps in one process: torch, funasr and GX are
        # imported and the model is loaded once per run, not once per step (a multiprocess run
        # of one day took 5 min, mostly imports; in-process ~1 min). Days run in parallel as
        # separate runs.
        executor=in_process_executor,
    )


defs = build_definitions()
