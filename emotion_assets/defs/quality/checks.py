"""Asset checks: one step per table runs every check of emotion_assets.quality on the partition.

Grouping a table's checks in one multi_asset_check keeps a run to a few steps (each loads the
partition once); the frame-score checks are blocking, so a bad model output stops downstream.
"""

from collections import defaultdict

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetIn,
    AssetKey,
    multi_asset_check,
)

from emotion_assets.quality.outcome import CheckOutcome
from emotion_assets.quality.registry import CheckSpec, all_checks


def _result(spec: CheckSpec, outcome: CheckOutcome) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=AssetKey(spec.table),
        check_name=spec.name,
        passed=bool(outcome.passed),
        severity=AssetCheckSeverity.ERROR if spec.severity == "error" else AssetCheckSeverity.WARN,
        description=outcome.description,
        metadata=dict(outcome.metadata),
    )


def _checks_for_table(table: str, specs: list[CheckSpec]):
    inputs = sorted({name for spec in specs for name in spec.inputs})

    @multi_asset_check(
        name=f"{table}_checks",
        specs=[
            AssetCheckSpec(
                spec.name,
                asset=table,
                description=spec.description,
                blocking=spec.blocking,
                additional_deps=[t for t in spec.inputs if t != table],
            )
            for spec in specs
        ],
        ins={name: AssetIn(key=name) for name in inputs},
    )
    def _run(context: AssetCheckExecutionContext, **tables: pl.DataFrame):
        for spec in specs:
            outcome = spec.run(*(tables[name] for name in spec.inputs))
            if not outcome.passed:
                context.log.warning(f"{spec.name}: {outcome.description}")
            yield _result(spec, outcome)

    return _run


def build_asset_checks() -> list:
    by_table: dict[str, list[CheckSpec]] = defaultdict(list)
    for spec in all_checks(with_gx=True):
        by_table[spec.table].append(spec)
    return [_checks_for_table(table, specs) for table, specs in sorted(by_table.items())]


ASSET_CHECKS = build_asset_checks()
