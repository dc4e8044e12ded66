"""Every asset is partitioned by recording date: the name of the folder under data/raw/."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition

from emotion_assets.partition_range import outside_partitions
from emotion_assets.settings import StorageSettings, load_group

_settings = load_group(StorageSettings)

# No BackfillPolicy on purpose: without one, a backfill (UI or `dagster job backfill`) launches
# one run per day tagged `dagster/partition`, which is what the checks need to report each result
# against its day; with one, runs carry partition-range tags instead (and the UI's launch dialog
# calls identical policies "varying"). Days run in parallel up to the run queue's limit.
daily_partitions = DailyPartitionsDefinition(
    start_date=_settings.partition_start.isoformat(),
    timezone=_settings.timezone,
    end_offset=1,  # today's folder can be processed today, not only tomorrow
)


def partition_bounds() -> tuple[str, str]:
    """The first and the last partition key (the last is today, in EMOTION_TIMEZONE)."""
    first = daily_partitions.get_first_partition_key() or _settings.partition_start.isoformat()
    return first, daily_partitions.get_last_partition_key() or first


def not_a_partition(day: str) -> str | None:
    """None for a partition key; otherwise one sentence naming the day and the partition range."""
    return outside_partitions(day, *partition_bounds())
