"""The code location's contents built from the settings: assets, checks, job, schedule, sensor,
resources and executor, wired together. Nothing here does real work; `definitions.py` (what
Dagster loads) and the in-process runner (`in_process.py`) both call `build_definitions`.
"""

from __future__ import annotations

from dagster import Definitions, ExecutorDefinition

from emotion_assets.defs.analytics.assets import analytics_assets
from emotion_assets.defs.automation.jobs import emotion_pipeline
from emotion_assets.defs.automation.schedules import daily_emotion_schedule
from emotion_assets.defs.automation.sensors import raw_folder_sensor
from emotion_assets.defs.emotion.assets import emotion_model_assets
from emotion_assets.defs.executor import build_executor
from emotion_assets.defs.handoff import HANDOFF, HandoffIOManager
from emotion_assets.defs.ingest.assets import ingest_assets
from emotion_assets.defs.io_manager import SCANS, LakeIOManager, LakeScansIOManager
from emotion_assets.defs.partitions import daily_partitions
from emotion_assets.defs.quality.checks import build_asset_checks
from emotion_assets.defs.resources import (
    AnalyticsResource,
    AudioResource,
    EmotionModelResource,
    StorageResource,
)
from emotion_assets.settings import Settings, load_settings


def build_resources(settings: Settings) -> dict:
    """One resource per settings group; both IO managers write to the `storage` resource's root
    (tables into the lake, the model step's plan and unit summaries under handoff/)."""
    storage = StorageResource.from_settings(settings.storage)
    return {
        "io_manager": LakeIOManager(storage=storage),
        SCANS: LakeScansIOManager(storage=storage),
        HANDOFF: HandoffIOManager(storage=storage),
        "storage": storage,
        "audio": AudioResource.from_settings(settings.audio),
        "emotion_model": EmotionModelResource.from_settings(settings.model),
        "analytics": AnalyticsResource.from_settings(settings.analytics),
    }


def code_location_executor(settings: Settings) -> ExecutorDefinition:
    if settings.kubernetes.k8s:
        # On Kubernetes (CeleryK8sRunLauncher, deploy/k8s/values.yaml): the same Celery queues
        # as the one-machine stack, each step in its own pod, the model step's pod on a GPU node
        # (docs/deploy.md, "Kubernetes"). The executor takes its Celery settings from the run
        # launcher (the chart's `configSource`, the same as distributed.celery_config: tested),
        # since the launcher refuses a `configured` celery-k8s executor.
        from dagster_celery_k8s import celery_k8s_job_executor

        return celery_k8s_job_executor
    return build_executor(settings.execution)


def build_definitions(settings: Settings | None = None) -> Definitions:
    settings = settings or load_settings()
    partitions = daily_partitions(settings.storage)
    job = emotion_pipeline(partitions)
    return Definitions(
        assets=[
            *ingest_assets(partitions, settings.execution),
            *emotion_model_assets(
                partitions, settings.model, settings.execution, settings.kubernetes
            ),
            *analytics_assets(partitions, settings.execution),
        ],
        asset_checks=build_asset_checks(partitions, settings.execution),
        jobs=[job],
        schedules=[daily_emotion_schedule(job, partitions)],
        sensors=[raw_folder_sensor(job, partitions)],
        resources=build_resources(settings),
        # Every job of the code location, including the implicit asset job behind the UI's
        # "Materialize" and backfills: in-process by default, Celery workers with
        # EMOTION_EXECUTOR=celery (defs/executor.py, docs/deploy.md), celery-k8s on Kubernetes.
        executor=code_location_executor(settings),
    )
