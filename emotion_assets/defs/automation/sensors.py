"""Watch data/raw/ and request a run for each day folder with new, changed or removed files."""

from __future__ import annotations

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from emotion_assets.defs.automation.jobs import emotion_pipeline
from emotion_assets.defs.partitions import daily_partitions
from emotion_assets.layout import DataLayout
from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.watch import WatchState, plan_runs, snapshot


@sensor(
    job=emotion_pipeline,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,
    description="Requests runs for days whose raw folder changed; waits while files still grow.",
)
def raw_folder_sensor(context: SensorEvaluationContext) -> SensorResult:
    layout = DataLayout(load_group(StorageSettings).data_dir)
    plan = plan_runs(WatchState.from_json(context.cursor), snapshot(layout.raw))
    valid = set(daily_partitions.get_partition_keys())
    requests = []
    for day, fp in plan.run_days:
        if day not in valid:
            context.log.warning(f"raw/{day} is outside the partitions (EMOTION_PARTITION_START)")
            continue
        requests.append(RunRequest(run_key=f"raw-{day}-{fp}", partition_key=day))
    if plan.waiting_days:
        context.log.info(f"waiting for files to settle in: {', '.join(plan.waiting_days)}")
    return SensorResult(run_requests=requests, cursor=plan.state.to_json())
