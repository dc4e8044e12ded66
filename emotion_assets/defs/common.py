"""Small helpers shared by the asset modules."""

import polars as pl
from dagster import RetryPolicy

# Transient failures (a busy disk, a flaky network share) are retried; bad input is not an
# error at all: it is quarantined and the partition succeeds.
retry_policy = RetryPolicy(max_retries=2, delay=5)


def filter_day(df: pl.DataFrame, day: str) -> pl.DataFrame:
    return df.filter(pl.col("recording_date").cast(pl.Utf8) == day)
