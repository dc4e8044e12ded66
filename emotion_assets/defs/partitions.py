"""Every asset is partitioned by recording date: the name of the folder under data/raw/."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition, PartitionsDefinition

from emotion_assets.foundation.day_range import outside_partitions
from emotion_assets.settings import StorageSettings


def daily_partitions(storage: StorageSettings) -> DailyPartitionsDefinition:
    """The recording dates from EMOTION_PARTITION_START to today (EMOTION_TIMEZONE).

    No BackfillPolicy on purpose: without one, a backfill (UI or `dagster job backfill`)
    launches one run per day tagged `dagster/partition`, which is what the checks need to report
    each result against its day; with one, runs carry partition-range tags instead (and the UI's
    launch dialog calls identical policies "varying"). Days run in parallel up to the run
    queue's limit.
    """
    return DailyPartitionsDefinition(
        start_date=storage.partition_start.isoformat(),
        timezone=storage.timezone,
        end_offset=1,  # today's folder can be processed today, not only tomorrow
    )


def partition_bounds(partitions: PartitionsDefinition) -> tuple[str, str]:
    """The first and the last partition key (the last is today, in EMOTION_TIMEZONE)."""
    first = partitions.get_first_partition_key()
    return first, partitions.get_last_partition_key() or first


def not_a_partition(day: str, partitions: PartitionsDefinition) -> str | None:
    """None for a partition key; otherwise one sentence naming the day and the partition range."""
    return outside_partitions(day, *partition_bounds(partitions))
