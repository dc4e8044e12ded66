"""Small helpers shared by the asset modules (metadata and per-day loops)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import polars as pl
from dagster import AssetExecutionContext, Failure, RetryPolicy

# Transient failures (a busy disk, a flaky network share) are retried; bad input is not an
# error at all: it is quarantined and the partition succeeds.
retry_policy = RetryPolicy(max_retries=2, delay=5)


@contextmanager
def not_retried(*errors: type[Exception]) -> Iterator[None]:
    """`errors` (no model, a bad setting) fail the step at once: retrying cannot fix them.

    Their one-sentence message becomes the failure's description, so the run's headline says
    what to do instead of "Exceeded max_retries of 2".
    """
    try:
        yield
    except errors as exc:
        raise Failure(description=str(exc), allow_retries=False) from exc


def per_day(context: AssetExecutionContext, fn: Callable[[str], pl.DataFrame]) -> pl.DataFrame:
    """Run `fn` for each partition key of this run (one day, or a range) and stack the results."""
    frames = []
    for day in context.partition_keys:
        context.log.info(f"{context.asset_key.to_user_string()}: processing {day}")
        frames.append(fn(day))
    return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]


def filter_day(df: pl.DataFrame, day: str) -> pl.DataFrame:
    return df.filter(pl.col("recording_date").cast(pl.Utf8) == day)
