"""Every night, process yesterday's recordings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what define_asset_job returns (not exported by dagster's top level)
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

from dagster import (
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    TimeWindowPartitionsDefinition,
    schedule,
)

from emotion_assets.pipeline.watch import previous_day


def daily_emotion_schedule(
    job: UnresolvedAssetJobDefinition, partitions: TimeWindowPartitionsDefinition
) -> ScheduleDefinition:
    @schedule(
        job=job,
        cron_schedule="30 1 * * *",  # 01:30: late uploads of the previous day have landed
        execution_timezone=partitions.timezone,  # EMOTION_TIMEZONE, as the partitions
        description="Materializes the previous day's partition (time zone: EMOTION_TIMEZONE).",
    )
    def daily_emotion_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        day = previous_day(context.scheduled_execution_time)
        return RunRequest(run_key=f"daily-{day}", partition_key=day)

    return daily_emotion_schedule
