"""bench.work_units: both ways of fanning a day out run, and their run and step counts are what
docs/scale.md reasons from (one run per shard plus one; one run with a step per unit)."""

from __future__ import annotations

from bench.work_units import measure, report


def test_a_day_fans_out_as_runs_per_shard_or_steps_per_unit() -> None:
    rows = {r["way"]: r for r in measure([3], work_ms=1.0)}
    assert (rows["shards"]["runs"], rows["shards"]["steps"]) == (4, 4)
    # plan, three mapped units, publish, then the day-level asset: all in one run
    assert (rows["dynamic"]["runs"], rows["dynamic"]["steps"]) == (1, 6)
    assert "| dynamic | 3 | 1 | 6 |" in report(list(rows.values()), 1.0)
