"""Every asset is partitioned by recording date: the name of the folder under data/raw/."""

from __future__ import annotations

from dagster import BackfillPolicy, DailyPartitionsDefinition

from emotion_assets.settings import StorageSettings, load_group

_settings = load_group(StorageSettings)

daily_partitions = DailyPartitionsDefinition(
    start_date=_settings.partition_start.isoformat(),
    timezone=_settings.timezone,
    end_offset=1,  # today's folder can be processed today, not only tomorrow
)

# A backfill launches one run per partition: runs go in parallel (the run queue's limit), the
# model step is serialised by its pool, and a failure costs one day, not the whole range.
backfill_policy = BackfillPolicy.multi_run(max_partitions_per_run=1)
