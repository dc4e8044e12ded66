"""Asset checks: one step per table runs every check of emotion_assets.quality, day by day.

Grouping a table's checks in one multi_asset_check keeps a run to a few steps (each reads the
run's days once); the frame-score checks are blocking, so a bad model output stops downstream.
The tables that grow with the day's audio arrive as lazy scans and are checked a group of
recordings at a time (quality/day_checks.py): a check step's memory is bounded by a work unit.

Every check is partitioned like its table and validates each day of the run on that day's rows
only, and every result names its day (the UI's "Partition" column):
- a run of one day (`dagster/partition`: the UI's Materialize, backfills, the sensor, the
  schedule, `dagster job execute`) yields AssetCheckResults, which Dagster files under that day;
- a run over a range of days (partition-range tags) logs one evaluation per check and day, and
  fails the step itself when a blocking check failed on any day.
"""

import warnings
from collections import defaultdict
from collections.abc import Iterator

import polars as pl
from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetIn,
    AssetKey,
    Failure,
    Output,
    PartitionsDefinition,
    PreviewWarning,
    multi_asset_check,
)

from emotion_assets.defs.io_manager import SCANS
from emotion_assets.quality.day_checks import DayResult, check_day
from emotion_assets.quality.outcome import CheckOutcome
from emotion_assets.quality.registry import BY_RECORDING, CheckSpec, all_checks
from emotion_assets.settings import ExecutionSettings


def _severity(spec: CheckSpec) -> AssetCheckSeverity:
    return AssetCheckSeverity.ERROR if spec.severity == "error" else AssetCheckSeverity.WARN


def _metadata(outcome: CheckOutcome, day: str, table_rows: int) -> dict:
    # `table_rows`: the rows of the checked table on `day`, i.e. exactly what the check read.
    return {**outcome.metadata, "partition": day, "table_rows": table_rows}


def _one_day(
    context: AssetCheckExecutionContext, results: list[DayResult]
) -> Iterator[AssetCheckResult]:
    day = context.partition_key
    for result in results:
        spec, outcome, rows = result.spec, result.outcome, result.rows
        if not outcome.passed:
            context.log.warning(f"{spec.name} on {day}: {outcome.description}")
        yield AssetCheckResult(
            asset_key=AssetKey(spec.table),
            check_name=spec.name,
            passed=bool(outcome.passed),
            severity=_severity(spec),
            description=outcome.description,
            metadata=_metadata(outcome, day, rows),
        )


def _day_range(
    context: AssetCheckExecutionContext,
    specs: list[CheckSpec],
    results: dict[str, list[DayResult]],
) -> Iterator[Output]:
    blocking_failures = []
    for index, spec in enumerate(specs):
        for day in context.partition_keys:
            outcome, rows = results[day][index].outcome, results[day][index].rows
            if not outcome.passed:
                context.log.warning(f"{spec.name} on {day}: {outcome.description}")
                if spec.blocking and spec.severity == "error":
                    blocking_failures.append(f"{spec.name} on {day}")
            context.op_execution_context.log_event(
                AssetCheckEvaluation(
                    asset_key=AssetKey(spec.table),
                    check_name=spec.name,
                    passed=bool(outcome.passed),
                    metadata=_metadata(outcome, day, rows),
                    severity=_severity(spec),
                    description=outcome.description,
                    blocking=spec.blocking,
                    partition=day,
                )
            )
        # The check's output carries no value: it only lets blocked assets wait for this step.
        yield Output(
            None, output_name=AssetCheckSpec(spec.name, asset=spec.table).get_python_identifier()
        )
    if blocking_failures:
        raise Failure(
            description="blocking check(s) failed: " + ", ".join(blocking_failures),
            allow_retries=False,
        )


def _spec(spec: CheckSpec, partitions: PartitionsDefinition) -> AssetCheckSpec:
    with warnings.catch_warnings():
        # Partitioned checks are a "preview" API in Dagster 1.13: one warning per spec and
        # process would drown the logs.
        warnings.simplefilter("ignore", PreviewWarning)
        return AssetCheckSpec(
            spec.name,
            asset=spec.table,
            description=spec.description,
            blocking=spec.blocking,
            additional_deps=[t for t in spec.inputs if t != spec.table],
            partitions_def=partitions,
        )


def _checks_for_table(
    table: str, specs: list[CheckSpec], partitions: PartitionsDefinition, limit_s: float
):
    inputs = sorted({name for spec in specs for name in spec.inputs})

    @multi_asset_check(
        name=f"{table}_checks",
        specs=[_spec(spec, partitions) for spec in specs],
        # Tables that grow with the day's audio come as scans: read a group at a time.
        ins={
            name: AssetIn(key=name, input_manager_key=SCANS if name in BY_RECORDING else None)
            for name in inputs
        },
    )
    def _run(context: AssetCheckExecutionContext, **tables: pl.DataFrame | pl.LazyFrame):
        if context.has_partition_key:
            yield from _one_day(context, check_day(specs, tables, context.partition_key, limit_s))
        else:
            results = {
                day: check_day(specs, tables, day, limit_s) for day in context.partition_keys
            }
            yield from _day_range(context, specs, results)

    return _run


def build_asset_checks(partitions: PartitionsDefinition, execution: ExecutionSettings) -> list:
    by_table: dict[str, list[CheckSpec]] = defaultdict(list)
    for spec in all_checks(with_gx=True):
        by_table[spec.table].append(spec)
    return [
        _checks_for_table(table, specs, partitions, execution.unit_audio_s)
        for table, specs in sorted(by_table.items())
    ]
