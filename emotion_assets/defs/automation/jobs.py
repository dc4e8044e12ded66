"""The one job: every asset (and its checks) for a day partition."""

from dagster import AssetSelection, define_asset_job, in_process_executor

from emotion_assets.defs.partitions import daily_partitions

# In-process: a run's ~20 steps share one Python process, so torch, funasr and GX are imported
# and the model is loaded once per run instead of once per step (a multiprocess run of one day
# took 5 min, mostly imports; in-process ~1 min). Days run in parallel as separate runs.
emotion_pipeline = define_asset_job(
    name="emotion_pipeline",
    selection=AssetSelection.all(),
    partitions_def=daily_partitions,
    executor_def=in_process_executor,
    description="Raw audio → normalized audio → emotion scores → analytics, for one recording date.",
)
