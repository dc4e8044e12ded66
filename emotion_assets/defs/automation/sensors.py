"""Watch raw/ on the storage root (a folder or an S3 prefix) and request a run for each day folder with new, changed or removed files; say once which entries under raw/ are not day folders."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what define_asset_job returns (not exported by dagster's top level)
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DefaultSensorStatus,
    PartitionsDefinition,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from emotion_assets.defs.partitions import not_a_partition, partition_bounds
from emotion_assets.defs.resources import StorageResource
from emotion_assets.pipeline.watch import (
    FINGERPRINTS_METADATA_KEY,
    WatchState,
    ignored_entry_message,
    plan_runs,
    raw_listing,
)

RAW_RECORDINGS = AssetKey("raw_recordings")


def ingested_fingerprints(instance: DagsterInstance, days: list[str]) -> dict[str, str]:
    """day -> fingerprint of the files that the day's latest raw_recordings materialization read."""
    if not days:
        return {}
    latest = instance.get_latest_storage_id_by_partition(
        RAW_RECORDINGS, DagsterEventType.ASSET_MATERIALIZATION, set(days)
    )
    if not latest:
        return {}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=RAW_RECORDINGS, storage_ids=list(latest.values())),
        limit=len(latest),
    ).records
    found = {}
    for record in records:
        entry = record.asset_materialization.metadata.get(FINGERPRINTS_METADATA_KEY)
        day = record.partition_key
        if entry is not None and day in entry.value:  # older runs did not record it
            found[day] = entry.value[day]
    return found


def raw_folder_sensor(
    job: UnresolvedAssetJobDefinition, partitions: PartitionsDefinition
) -> SensorDefinition:
    """The sensor on raw/ of the storage root (from the `storage` resource)."""

    @sensor(
        job=job,
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.STOPPED,
        description="Requests runs for days whose raw folder changed; waits while files still grow.",
    )
    def raw_folder_sensor(
        context: SensorEvaluationContext, storage: StorageResource
    ) -> SensorResult:
        # raw/ on the storage root: a folder's stat, or one listing of the S3 prefix.
        current, not_days = raw_listing(storage.storage())
        if context.cursor:
            state = WatchState.from_json(context.cursor)
        else:  # first tick: days already processed from the same files are not run again
            state = WatchState.from_materialized(
                ingested_fingerprints(context.instance, [*current])
            )
        plan = plan_runs(state, current, not_days)
        requests, notes = [], []
        for entry in plan.newly_ignored:  # once per entry (the cursor remembers), not per tick
            notes.append(ignored_entry_message(entry))
            context.log.warning(notes[-1])
        for day, fp in plan.run_days:
            problem = not_a_partition(day, partitions)
            if problem:  # a run for it could only fail: say so once, in the log and the tick
                context.log.warning(problem)
                notes.append(problem)
                if day > partition_bounds(partitions)[1]:
                    plan.state.requested.pop(day, None)  # requested for real once its date comes
                continue
            requests.append(RunRequest(run_key=f"raw-{day}-{fp}", partition_key=day))
        if plan.waiting_days:
            context.log.info(f"waiting for files to settle in: {', '.join(plan.waiting_days)}")
        return SensorResult(
            run_requests=requests,
            # The tick shows why nothing ran (a skip reason cannot accompany run requests).
            skip_reason=" ".join(notes) if notes and not requests else None,
            cursor=plan.state.to_json(),
        )

    return raw_folder_sensor
