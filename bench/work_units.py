"""How a day fans out into work units: a second partition dimension versus dynamic outputs.

Issue 27, item 1 asks to measure the two ways Dagster offers before choosing (docs/scale.md):

- **shards**: assets partitioned by date x a static hash shard (`MultiPartitionsDefinition`), the
  day-level asset reading every shard of its date (`MultiToSingleDimensionPartitionMapping`); a
  day is one run per shard plus one for the day-level asset;
- **dynamic**: day partitions whose heavy asset is graph-backed: a planning op emits one
  `DynamicOutput` per work unit, each unit is its own mapped step, a collecting op publishes.

Both run here in this process (ephemeral instance, in-process executor) on toy units that burn a
fixed amount of CPU, so the difference is the orchestration's own cost per unit and per day, and
the report counts the runs and steps each way asks of a deployment (each run and step is a pod
or a Celery task there). Nothing of the project's pipeline runs.

    python -m bench.work_units [--units 4 16] [--work-ms 50] [--out bench/results]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import dagster as dg

from bench.report import write_results

DAY = "2026-12-01"


def burn(ms: float) -> int:
    """CPU work standing in for a unit's decode or scoring."""
    end, n = time.perf_counter() + ms / 1000, 0
    while time.perf_counter() < end:
        n += 1
    return n


def sharded(units: int, work_ms: float) -> tuple[list, dict]:
    days = dg.DailyPartitionsDefinition(start_date="2026-11-01", end_date="2026-12-05")
    shards = dg.StaticPartitionsDefinition([f"{i:03d}" for i in range(units)])
    grid = dg.MultiPartitionsDefinition({"date": days, "shard": shards})

    @dg.asset(partitions_def=grid)
    def unit_scores() -> int:
        return burn(work_ms)

    @dg.asset(
        partitions_def=days,
        ins={
            "unit_scores": dg.AssetIn(
                partition_mapping=dg.MultiToSingleDimensionPartitionMapping(
                    partition_dimension_name="date"
                )
            )
        },
    )
    def day_summary(unit_scores: dict[str, int]) -> int:
        return len(unit_scores)

    return [unit_scores, day_summary], {"days": days, "shards": shards}


def dynamic(units: int, work_ms: float) -> list:
    days = dg.DailyPartitionsDefinition(start_date="2026-11-01", end_date="2026-12-05")

    @dg.op(out=dg.DynamicOut(int))
    def plan_units():
        for i in range(units):
            yield dg.DynamicOutput(i, mapping_key=f"u{i:03d}")

    @dg.op
    def score_unit(unit: int) -> int:
        return burn(work_ms)

    @dg.op
    def publish(scored: list[int]) -> int:
        return len(scored)

    @dg.graph_asset(partitions_def=days)
    def unit_scores() -> int:
        return publish(plan_units().map(score_unit).collect())

    @dg.asset(partitions_def=days, deps=[unit_scores])
    def day_summary() -> int:
        return units

    return [unit_scores, day_summary]


def run_sharded(units: int, work_ms: float) -> dict:
    assets, parts = sharded(units, work_ms)
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    runs = steps = 0
    for shard in parts["shards"].get_partition_keys():
        key = dg.MultiPartitionKey({"date": DAY, "shard": shard})
        result = dg.materialize([assets[0]], partition_key=key, instance=instance)
        runs += 1
        steps += len(result.get_step_success_events())
    result = dg.materialize(assets, selection=[assets[1]], partition_key=DAY, instance=instance)
    runs += 1
    steps += len(result.get_step_success_events())
    return {"wall_s": time.perf_counter() - started, "runs": runs, "steps": steps}


def run_dynamic(units: int, work_ms: float) -> dict:
    assets = dynamic(units, work_ms)
    started = time.perf_counter()
    result = dg.materialize(assets, partition_key=DAY, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    steps = len(result.get_step_success_events())
    return {"wall_s": time.perf_counter() - started, "runs": 1, "steps": steps}


def measure(unit_counts: list[int], work_ms: float) -> list[dict]:
    rows = []
    for units in unit_counts:
        for way, run in (("shards", run_sharded), ("dynamic", run_dynamic)):
            figures = run(units, work_ms)
            work_s = units * work_ms / 1000
            rows.append(
                {
                    "way": way,
                    "units": units,
                    **figures,
                    "overhead_per_unit_s": (figures["wall_s"] - work_s) / units,
                }
            )
    return rows


def report(rows: list[dict], work_ms: float) -> str:
    lines = [
        f"# Work units: date x shard partitions vs dynamic outputs ({work_ms:g} ms of CPU a unit)",
        "",
        "| way | units in the day | runs | steps | wall (s) | orchestration per unit (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['way']} | {r['units']} | {r['runs']} | {r['steps']} | {r['wall_s']:.2f} "
            f"| {r['overhead_per_unit_s']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--work-ms", type=float, default=50.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.getLogger("dagster").setLevel(logging.WARNING)  # the figures, not every event
    rows = measure(args.units, args.work_ms)
    text = report(rows, args.work_ms)
    if args.out:
        write_results(args.out, f"{time.strftime('%Y-%m-%d')}-work-units", {"rows": rows}, text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
