"""Every night, process yesterday's recordings."""

from __future__ import annotations

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from emotion_assets.defs.automation.jobs import emotion_pipeline
from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.watch import previous_day

_settings = load_group(StorageSettings)


@schedule(
    job=emotion_pipeline,
    cron_schedule="30 1 * * *",  # 01:30: late uploads of the previous day have landed
    execution_timezone=_settings.timezone,
    description="Materializes the previous day's partition (time zone: EMOTION_TIMEZONE).",
)
def daily_emotion_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    day = previous_day(context.scheduled_execution_time)
    return RunRequest(run_key=f"daily-{day}", partition_key=day)
