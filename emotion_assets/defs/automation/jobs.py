"""The one job: every asset (and its checks) for a day partition."""

from dagster import AssetSelection, define_asset_job

from emotion_assets.defs.partitions import daily_partitions

# The executor is the code location's default (in-process, see definitions.py).
emotion_pipeline = define_asset_job(
    name="emotion_pipeline",
    selection=AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Raw audio → normalized audio → emotion scores → analytics, for one recording date.",
)
