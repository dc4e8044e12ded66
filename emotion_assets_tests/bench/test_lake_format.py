"""bench/lake_format.py measures both lake formats on the real servers: a tiny run writes every
day through each, both concurrent writers succeed, and the queries read back every row."""

from __future__ import annotations

import pytest

from bench.lake_format import FRAMES_PER_HOUR, QUERIES, markdown, measure


@pytest.mark.slow
def test_both_formats_hold_every_row(s3_server, postgres_server) -> None:
    s3_server.create_bucket("lake")
    hours = 0.01
    ways = [
        measure(way, s3_server, postgres_server, 2, hours, start_delay_s=3)
        for way in ("views", "ducklake")
    ]
    for result in ways:
        assert result["concurrent_outcomes"] == ["ok", "ok"]
        assert result["rows"] == result["rows_expected"] == 4 * int(hours * FRAMES_PER_HOUR)
        assert set(result["queries"]) == set(QUERIES)
    text = markdown(
        {
            "date": "d",
            "days": 2,
            "hours": hours,
            "rows_per_day": 1,
            "machine": {},
            "load_average": 0,
            "ways": ways,
        }
    )
    assert all(result["way"] in text for result in ways)
