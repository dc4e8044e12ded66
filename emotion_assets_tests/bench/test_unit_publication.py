"""bench/unit_publication.py at tiny size, for the way the project publishes a day's work units
(a Delta table per lake table, a unit replaced by one predicate-overwrite commit): a republish
writes only its unit's data file and one log entry, a reader looping while units are republished
never sees a mix or an error, a writer SIGKILLed mid-publish leaves the day whole and the next
publish succeeds, and two writers of two units at once both land."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.unit_publication import WAYS, markdown, measure


@pytest.mark.slow
def test_delta_publishes_units_safely(tmp_path: Path) -> None:
    result = measure("delta", tmp_path, None, None, hours=0.1, units=2, loop_s=2, start_delay_s=6)

    assert result["republished_whole"]
    # One data file and one log entry written; no existing file (the other unit's) rewritten.
    assert (result["republish_objects_written"], result["republish_existing_objects_changed"]) == (
        2,
        0,
    )
    reader = result["loop_reader"]
    assert reader["queries"] > 0 and result["loop_publishes"] > 0
    assert (reader["mixed_or_partial"], reader["errors"]) == (0, 0), reader["first_error"]
    assert all(k["killed"] and k["day_after"] == "whole" for k in result["kills"]), result["kills"]
    assert all(k["next_publish"] == "ok" for k in result["kills"])
    assert result["concurrent_outcomes"] == ["ok", "ok"]
    assert result["concurrent_units_after"] == {0: 30, 1: 30}
    text = markdown(
        {"date": "d", "hours": 0.1, "units": 2, "rows_per_day": 1, "machine": {}, "load_average": 0}
        | {"ways": [result]}
    )
    assert WAYS["delta"].name in text
