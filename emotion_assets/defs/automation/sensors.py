"""Watch data/raw/ and request a run for each day folder with new, changed or removed files."""

from __future__ import annotations

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from emotion_assets.defs.automation.jobs import emotion_pipeline
from emotion_assets.defs.partitions import not_a_partition, partition_bounds
from emotion_assets.layout import DataLayout
from emotion_assets.settings import Settings
from emotion_assets.watch import WatchState, plan_runs, snapshot


@sensor(
    job=emotion_pipeline,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,
    description="Requests runs for days whose raw folder changed; waits while files still grow.",
)
def raw_folder_sensor(context: SensorEvaluationContext) -> SensorResult:
    layout = DataLayout(Settings.from_env().data_dir)
    plan = plan_runs(WatchState.from_json(context.cursor), snapshot(layout.raw))
    requests, outside = [], []
    for day, fp in plan.run_days:
        problem = not_a_partition(day)
        if problem:  # a run for it could only fail: say so once, in the log and the tick
            context.log.warning(problem)
            outside.append(problem)
            if day > partition_bounds()[1]:
                plan.state.requested.pop(day, None)  # requested for real once its date comes
            continue
        requests.append(RunRequest(run_key=f"raw-{day}-{fp}", partition_key=day))
    if plan.waiting_days:
        context.log.info(f"waiting for files to settle in: {', '.join(plan.waiting_days)}")
    return SensorResult(
        run_requests=requests,
        # The tick shows why nothing ran (a skip reason cannot accompany run requests).
        skip_reason=" ".join(outside) if outside and not requests else None,
        cursor=plan.state.to_json(),
    )
